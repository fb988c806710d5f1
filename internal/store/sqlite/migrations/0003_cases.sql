-- Cases (办件) and the sensitive fields a matter declares it needs.
CREATE TABLE cases (
    id          TEXT PRIMARY KEY,
    case_no     TEXT NOT NULL,
    unit_code   TEXT NOT NULL,
    matter_code TEXT NOT NULL,
    holder_code TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    holder_kind TEXT NOT NULL,
    opened_by   TEXT NOT NULL,
    opened_at   INTEGER NOT NULL,
    closed_at   INTEGER,
    closed_by   TEXT NOT NULL DEFAULT '',
    UNIQUE (unit_code, case_no)
) STRICT;
CREATE INDEX cases_unit ON cases (unit_code, opened_at DESC, id DESC);
CREATE INDEX cases_holder ON cases (holder_code);

ALTER TABLE matters ADD COLUMN disclosed_fields TEXT NOT NULL DEFAULT '[]';
