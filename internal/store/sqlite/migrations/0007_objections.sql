-- Objections to licence data (internal/objection, 第十七条). Times are
-- Unix milliseconds; fields is a JSON array of field paths. Updates are
-- conditioned on rev.
CREATE TABLE objections (
    id             TEXT PRIMARY KEY,
    certificate_id TEXT NOT NULL,
    issuer_code    TEXT NOT NULL,
    holder_code    TEXT NOT NULL,
    case_id        TEXT NOT NULL,
    filed_by       TEXT NOT NULL,
    filed_by_org   TEXT NOT NULL,
    filed_role     TEXT NOT NULL,
    fields         TEXT NOT NULL,
    description    TEXT NOT NULL,
    state          TEXT NOT NULL,
    resolution     TEXT NOT NULL,
    corrected_id   TEXT NOT NULL,
    filed_at       INTEGER NOT NULL,
    resolved_at    INTEGER,
    resolved_by    TEXT NOT NULL,
    due_at         INTEGER NOT NULL,
    rev            INTEGER NOT NULL
) STRICT;
-- An issuer's objections by state, newest first (List, Overdue, Stats).
CREATE INDEX objections_issuer ON objections (issuer_code, state, filed_at DESC);
-- A holder's objections, newest first (Mine).
CREATE INDEX objections_holder ON objections (holder_code, filed_at DESC);
