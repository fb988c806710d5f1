-- Indexes the plan check asks for (plancheck_test.go): every listing reads
-- its rows in an index's order, so no page sorts every matching row.

-- A holder's licences newest first (a holder's own reads, case reads,
-- matter checks); their type and state are checked on the holder's few
-- rows, so the index by holder, type and state goes.
CREATE INDEX certificates_holder_listing ON certificates (holder_code, issued_at DESC, id DESC);
DROP INDEX certificates_holder;

-- The issuer listing filtered by type, by state or by both, and its
-- counts from the index alone.
CREATE INDEX certificates_issuer_type ON certificates (issuer_code, type_code, issued_at DESC, id DESC);
CREATE INDEX certificates_issuer_state ON certificates (issuer_code, state, issued_at DESC, id DESC);
CREATE INDEX certificates_issuer_type_state ON certificates (issuer_code, type_code, state, issued_at DESC, id DESC);

-- The versions issued in a period, per issuer and whether late, from the
-- index alone (IssueStats, the supervision report).
CREATE INDEX certificates_issued ON certificates (issued_at, issuer_code, json_extract(timeliness, '$.late'));

-- Bulk analysis requests newest first.
CREATE INDEX bulk_requests_created ON bulk_requests (created_at DESC, id DESC);

-- An issuing unit's objections in every state, newest first.
CREATE INDEX objections_issuer_filed ON objections (issuer_code, filed_at DESC, id DESC);

-- The catalogue's history of a kind, and of one entry, in sequence (seq is
-- the rowid, which ends every index entry).
CREATE INDEX catalogue_changes_kind ON catalogue_changes (kind);
CREATE INDEX catalogue_changes_entry ON catalogue_changes (kind, code);
