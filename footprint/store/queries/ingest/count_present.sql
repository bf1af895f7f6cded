-- Rows of this ingest whose key is already stored by an older ingest (only run when the table held rows).
SELECT count(*) FROM usage n
 WHERE n.ingest_id = $ingest_id
   AND n.row_key IN (SELECT o.row_key FROM usage o WHERE o.ingest_id <> $ingest_id)
