-- Applications (internal/cases): what a holder submitted to a unit for a
-- matter; staff open a case from one. Times are Unix milliseconds; a
-- PENDING application past expires_at reads as EXPIRED. Updates are
-- conditioned on rev.
CREATE TABLE applications (
    id           TEXT PRIMARY KEY,
    holder_code  TEXT NOT NULL,
    holder_name  TEXT NOT NULL,
    holder_kind  TEXT NOT NULL,
    matter_code  TEXT NOT NULL,
    unit_code    TEXT NOT NULL,
    note         TEXT NOT NULL,
    submitted_at INTEGER NOT NULL,
    submitted_by TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    state        TEXT NOT NULL,
    case_id      TEXT NOT NULL,
    updated_at   INTEGER,
    rev          INTEGER NOT NULL
) STRICT;
-- A holder's applications, newest first (me.applications).
CREATE INDEX applications_holder ON applications (holder_code, submitted_at DESC, id DESC);
