-- The expiry sweep reads only licences still due: current, with an end of
-- validity, in a state that is not final. certificates_expiry held every
-- current licence, expired ones too (they stay current), so each sweep
-- read every past expiry again. This partial index holds only the due
-- ones, in the sweep's order: a licence leaves it when it expires, is
-- superseded or reaches another final state.
DROP INDEX certificates_expiry;
CREATE INDEX certificates_due ON certificates (valid_until, id)
    WHERE current = 1 AND valid_until IS NOT NULL
    AND state NOT IN ('REVOKED', 'CANCELLED', 'ABOLISHED', 'EXPIRED', 'SUPERSEDED');
