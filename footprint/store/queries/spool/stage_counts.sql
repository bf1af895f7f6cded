-- Rows read, valid rows, and invalid lines of finished segments (a live segment's unfinished last
-- line is still being written: it is not counted as skipped).
SELECT count(*) FILTER (WHERE valid),
       count(*) FILTER (WHERE NOT valid AND list_contains($finished, filename))
FROM spool_stage
