-- Paper submitted in a case instead of an e-licence (第十五条), and
-- whether a citable e-licence of that type existed then (第二十条(一)).
CREATE TABLE paper_submissions (
    case_id           TEXT NOT NULL,
    seq               INTEGER NOT NULL,
    unit_code         TEXT NOT NULL,
    holder_code       TEXT NOT NULL,
    type_code         TEXT NOT NULL,
    reason            TEXT NOT NULL,
    at                INTEGER NOT NULL,
    by                TEXT NOT NULL,
    despite_available INTEGER NOT NULL,
    PRIMARY KEY (case_id, seq)
) STRICT;
CREATE INDEX paper_submissions_unit ON paper_submissions (unit_code, at);
