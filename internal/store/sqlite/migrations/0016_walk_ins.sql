-- Walk-in cases and alerts, for supervisors' review (internal/cases).
-- slot is unique: "case/<day>/<n>/<subject>", the n-th walk-in of a
-- person's day, up to the policy's quota; "alert/<day>/<subject>", the
-- one alert of a person's day, counting the refused tries. Times are Unix
-- milliseconds.
CREATE TABLE walk_ins (
    id          TEXT PRIMARY KEY,
    slot        TEXT NOT NULL UNIQUE,
    alert       INTEGER NOT NULL,
    day         TEXT NOT NULL,
    at          INTEGER NOT NULL,
    subject     TEXT NOT NULL,
    unit_code   TEXT NOT NULL,
    case_no     TEXT NOT NULL,
    holder_code TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    matter_code TEXT NOT NULL,
    reason      TEXT NOT NULL,
    refusals    INTEGER NOT NULL
) STRICT;
-- A person's walk-ins of a day (the quota).
CREATE INDEX walk_ins_subject_day ON walk_ins (subject, day, alert);
-- Everything to review, newest first (casesForReview).
CREATE INDEX walk_ins_at ON walk_ins (at DESC, id DESC);
