-- Two people to change the policy (internal/policyadmin): a version is
-- proposed, then approved by another policy admin (ACTIVE, and the one
-- before it SUPERSEDED) or rejected. A proposal records the version that
-- was active when it was made (based_on) and, for a rollback, the version
-- whose modules it restores (rollback_of); 0 for none.
--
-- Versions stored before this migration were published without a second
-- person: the one the pointer names is ACTIVE, the others SUPERSEDED, with
-- no approver.
ALTER TABLE policy_versions ADD COLUMN state TEXT NOT NULL DEFAULT 'SUPERSEDED'
    CHECK (state IN ('PROPOSED', 'ACTIVE', 'SUPERSEDED', 'REJECTED'));
ALTER TABLE policy_versions ADD COLUMN based_on INTEGER NOT NULL DEFAULT 0 CHECK (based_on >= 0);
ALTER TABLE policy_versions ADD COLUMN rollback_of INTEGER NOT NULL DEFAULT 0 CHECK (rollback_of >= 0);
ALTER TABLE policy_versions ADD COLUMN approved_by TEXT;
ALTER TABLE policy_versions ADD COLUMN approved_at INTEGER; -- Unix milliseconds
ALTER TABLE policy_versions ADD COLUMN rejected_by TEXT;
ALTER TABLE policy_versions ADD COLUMN rejected_at INTEGER; -- Unix milliseconds
ALTER TABLE policy_versions ADD COLUMN reject_reason TEXT;

UPDATE policy_versions SET state = 'ACTIVE' WHERE version = (SELECT version FROM policy_active WHERE id = 1);
