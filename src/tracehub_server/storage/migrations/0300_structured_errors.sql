-- Structured exceptions, custom fingerprints, honest titles, merged issues (docs/errors.md).

-- The entry's structured exception chain and its custom fingerprint, as sent (bounded by
-- the API). NULL for entries without them; text-only traces are parsed when read.
ALTER TABLE logs ADD COLUMN exception jsonb;
ALTER TABLE logs ADD COLUMN fingerprint jsonb;

-- The grouping algorithm that made the issue's fingerprint ("th1" is the original one).
ALTER TABLE issues ADD COLUMN grouping_version text NOT NULL DEFAULT 'th1';
-- Set when the issue was merged into another: its fingerprint's new events go there, and
-- it is hidden from lists. Unmerge clears it.
ALTER TABLE issues ADD COLUMN merged_into bigint REFERENCES issues(id) ON DELETE SET NULL;
ALTER TABLE issues ADD COLUMN merged_at timestamptz;
CREATE INDEX issues_merged_into_idx ON issues (merged_into) WHERE merged_into IS NOT NULL;

-- Titles were "Type: normalised message" ("KeyError: <str>"); a title now shows the first
-- line of the real message of the issue's first event (issues.error_message is that sample).
WITH parts AS (
    SELECT id,
           btrim(coalesce(error_type, '')) AS kind,
           btrim(split_part(btrim(coalesce(error_message, '')), E'\n', 1)) AS line
    FROM issues
), titles AS (
    SELECT id,
           CASE WHEN kind <> '' AND line <> '' THEN kind || ': ' || line
                WHEN kind <> '' THEN kind
                WHEN line <> '' THEN line
           END AS full_title
    FROM parts
)
UPDATE issues i
SET title = CASE WHEN length(t.full_title) > 200 THEN left(t.full_title, 199) || '…'
                 ELSE t.full_title END
FROM titles t
WHERE i.id = t.id AND t.full_title IS NOT NULL;

-- How a user reads stack traces on the issue page: the raise site first, or the entry point.
ALTER TABLE users ADD COLUMN frame_order text NOT NULL DEFAULT 'newest'
    CHECK (frame_order IN ('newest', 'oldest'));
