-- Authorization policy versions (Rego bundles) and the pointer to the
-- active one (internal/policyadmin). Versions are never changed or
-- deleted; the pointer's rev grows by one on every move.
CREATE TABLE policy_versions (
    version      INTEGER PRIMARY KEY CHECK (version > 0),
    modules      TEXT NOT NULL CHECK (json_valid(modules)), -- [{"path": ..., "rego": ...}]
    message      TEXT NOT NULL,
    author       TEXT NOT NULL,
    published_at INTEGER NOT NULL, -- Unix milliseconds
    tests_passed INTEGER NOT NULL
) STRICT;

CREATE TABLE policy_active (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL REFERENCES policy_versions (version),
    rev     INTEGER NOT NULL CHECK (rev > 0)
) STRICT;
