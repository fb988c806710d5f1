-- A case is opened from an application or as a walk-in, and closes by
-- itself at closes_at (Unix milliseconds; NULL for cases stored before,
-- whose deadline is reckoned when they are read). holder_name_matches is
-- whether the base registry confirmed the name a walk-in's caller gave
-- (NULL: none given).
ALTER TABLE cases ADD COLUMN application_id TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN walk_in_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN closes_at INTEGER;
ALTER TABLE cases ADD COLUMN holder_name_matches INTEGER;
