-- Leases of background work that runs once per cluster (internal/lease):
-- one row per lease, changed in transactions. Looked up by name only.
CREATE TABLE leases (
    name     TEXT PRIMARY KEY,
    owner    TEXT NOT NULL,
    token    INTEGER NOT NULL,
    expires  INTEGER NOT NULL,
    note     TEXT NOT NULL DEFAULT '',
    noted_at INTEGER NOT NULL DEFAULT 0
) STRICT;
