-- The audit log lives in its own database file, certd-audit.db
-- (audit_migrations/0001_audit.sql), with its own write lock and WAL: its
-- group commits no longer queue behind licence writes, nor empty the page
-- caches of licence reads. Before this migration runs, certd copies the
-- tables below into that file and checks that every row arrived
-- (audit_db.go); only then are they dropped here.
DROP TRIGGER audit_records_no_update;
DROP TRIGGER audit_records_no_delete;
DROP TRIGGER audit_checkpoints_no_update;
DROP TRIGGER audit_checkpoints_no_delete;
DROP TABLE audit_records;
DROP TABLE audit_checkpoints;
