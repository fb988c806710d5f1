-- Bulk analysis requests (internal/bulk, 第十三条). Times are Unix
-- milliseconds; group_by is a JSON array of dimensions, filter a JSON
-- object {types, issuers, states, issuedFrom, issuedTo} (dates as
-- YYYY-MM-DD). Updates are conditioned on rev.
CREATE TABLE bulk_requests (
    id            TEXT PRIMARY KEY,
    state         TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    group_by      TEXT NOT NULL,
    filter        TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    requester_org TEXT NOT NULL,
    decided_by    TEXT NOT NULL,
    comment       TEXT NOT NULL,
    valid_until   INTEGER,
    runs_left     INTEGER NOT NULL CHECK (runs_left >= 0),
    max_runs      INTEGER NOT NULL,
    valid_days    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    decided_at    INTEGER,
    rev           INTEGER NOT NULL
) STRICT;
CREATE INDEX bulk_requests_state ON bulk_requests (state, created_at DESC);

-- Aggregate reads current versions only: a covering index of the grouped
-- and filtered columns lets it scan narrow index entries instead of the
-- licence rows with their documents.
CREATE INDEX certificates_bulk ON certificates (current, type_code, state, issuer_code, holder_kind, issued_at);
