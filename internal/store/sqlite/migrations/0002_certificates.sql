-- Licence versions, serial counters, seal keys and the base registry.
CREATE TABLE certificates (
    id              TEXT PRIMARY KEY,
    lineage         TEXT NOT NULL,
    type_code       TEXT NOT NULL,
    issuer_code     TEXT NOT NULL,
    serial          TEXT NOT NULL,
    version         INTEGER NOT NULL,
    type_version    INTEGER NOT NULL,
    holder_code     TEXT NOT NULL,
    holder_name     TEXT NOT NULL,
    holder_kind     TEXT NOT NULL,
    state           TEXT NOT NULL,
    current         INTEGER NOT NULL,
    successor       TEXT NOT NULL DEFAULT '',
    data            TEXT NOT NULL,
    valid_from      TEXT NOT NULL,
    valid_until     TEXT,
    issued_at       INTEGER NOT NULL,
    seal            TEXT NOT NULL,
    document        TEXT NOT NULL,
    history         TEXT NOT NULL,
    inspections     TEXT NOT NULL,
    timeliness      TEXT NOT NULL,
    idempotency_key TEXT,
    issued_by       TEXT NOT NULL,
    rev             INTEGER NOT NULL,
    UNIQUE (lineage, version)
) STRICT;
CREATE UNIQUE INDEX certificates_idempotency ON certificates (issuer_code, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX certificates_holder ON certificates (holder_code, type_code, state);
CREATE INDEX certificates_issuer_listing ON certificates (issuer_code, issued_at DESC, id DESC);
CREATE INDEX certificates_expiry ON certificates (current, valid_until) WHERE valid_until IS NOT NULL;

CREATE TABLE serials (
    issuer_code TEXT NOT NULL,
    year        INTEGER NOT NULL,
    next        INTEGER NOT NULL,
    PRIMARY KEY (issuer_code, year)
) STRICT;

CREATE TABLE seal_keys (
    key_id                TEXT PRIMARY KEY,
    unit_code             TEXT NOT NULL,
    public_key_pem        TEXT NOT NULL,
    encrypted_private_key BLOB NOT NULL,
    created_at            INTEGER NOT NULL
) STRICT;
CREATE INDEX seal_keys_unit ON seal_keys (unit_code);

CREATE TABLE base_registry (
    code       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    source     TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
