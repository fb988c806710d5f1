-- Audit records of canonical version 2 (internal/audit/chain.go) name the
-- basis of a read and count the refusals a summary record stands for.
-- Rows written before have v = 1: their hashes cover the version 1 form.
-- Adding columns changes no row, so the append-only triggers allow it.
ALTER TABLE audit_records ADD COLUMN v INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_records ADD COLUMN basis TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_records ADD COLUMN count INTEGER NOT NULL DEFAULT 0;
