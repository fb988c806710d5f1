-- The audit log's own database file (certd-audit.db): the tables,
-- indexes and triggers of migrations/0005_audit.sql of certd.db, which
-- held them before migration 0009 moved them here.
-- The audit log (internal/audit, 第十八条): records hash-chained per writer
-- and the writers' signed checkpoints. Both tables are append-only: the
-- triggers refuse every UPDATE, and every DELETE of a row younger than ten
-- (Julian) years, the retention period. Retention removes whole chains,
-- so that audit.Verify never sees a chain with its beginning cut off.
-- Times are Unix milliseconds; roles and fields are JSON arrays of strings.
-- An ordinary rowid table: its rows are appended at the end, and the
-- secondary indexes carry an 8-byte rowid rather than (chain, seq).
CREATE TABLE audit_records (
    chain          TEXT NOT NULL,
    seq            INTEGER NOT NULL CHECK (seq > 0),
    at             INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    subject        TEXT NOT NULL,
    org            TEXT NOT NULL,
    roles          TEXT NOT NULL,
    operation      TEXT NOT NULL,
    action         TEXT NOT NULL,
    case_id        TEXT NOT NULL,
    matter_code    TEXT NOT NULL,
    holder_code    TEXT NOT NULL,
    certificate_id TEXT NOT NULL,
    issuer_code    TEXT NOT NULL,
    fields         TEXT NOT NULL,
    decision       TEXT NOT NULL,
    reason         TEXT NOT NULL,
    policy_version INTEGER NOT NULL,
    request_id     TEXT NOT NULL,
    client         TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL,
    PRIMARY KEY (chain, seq)
) STRICT;
-- The read paths of audit.Query (newest first) and of exports by time.
CREATE INDEX audit_records_certificate ON audit_records (certificate_id, at);
CREATE INDEX audit_records_holder ON audit_records (holder_code, at);
CREATE INDEX audit_records_issuer ON audit_records (issuer_code, at);
CREATE INDEX audit_records_org ON audit_records (org, at);
CREATE INDEX audit_records_at ON audit_records (at);

-- A chain has at most one ordinary and one Final checkpoint per seq: a
-- writer that stops right after a periodic checkpoint signs the same head
-- again as Final.
CREATE TABLE audit_checkpoints (
    chain     TEXT NOT NULL,
    seq       INTEGER NOT NULL CHECK (seq > 0),
    at        INTEGER NOT NULL,
    key_id    TEXT NOT NULL,
    signature TEXT NOT NULL,
    hash      TEXT NOT NULL,
    final     INTEGER NOT NULL CHECK (final IN (0, 1)),
    PRIMARY KEY (chain, seq, final)
) STRICT;

-- INSERT OR REPLACE deletes the row it replaces; certd's connections run
-- with recursive_triggers on, so that deletion fires the delete triggers
-- below and is refused like any other.
CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;
CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
WHEN old.at >= (strftime('%s', 'now') - 315576000) * 1000
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only: kept for ten years');
END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
WHEN old.at >= (strftime('%s', 'now') - 315576000) * 1000
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only: kept for ten years');
END;
