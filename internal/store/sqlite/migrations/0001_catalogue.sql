-- The catalogue: units, certificate types, matters and their change history.
CREATE TABLE units (
    code            TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    issuing         INTEGER NOT NULL,
    seal_public_key TEXT NOT NULL DEFAULT '',
    version         INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_by      TEXT NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE certificate_types (
    code            TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    issuer_code     TEXT NOT NULL,
    category        TEXT NOT NULL,
    fields          TEXT NOT NULL,
    validity_months INTEGER,
    version         INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_by      TEXT NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX certificate_types_issuer ON certificate_types (issuer_code);

CREATE TABLE matters (
    code            TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    required_types  TEXT NOT NULL,
    handling_units  TEXT NOT NULL,
    version         INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_by      TEXT NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE catalogue_changes (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind     TEXT NOT NULL,
    code     TEXT NOT NULL,
    version  INTEGER NOT NULL,
    action   TEXT NOT NULL,
    by       TEXT NOT NULL,
    at       INTEGER NOT NULL,
    snapshot BLOB NOT NULL,
    UNIQUE (kind, code, version)
) STRICT;
