-- Keep the first stored copy of each key: drop this ingest's rows already present, then its repeats.
DELETE FROM usage
 WHERE ingest_id = $ingest_id
   AND (row_key IN (SELECT o.row_key FROM usage o WHERE o.ingest_id <> $ingest_id)
        OR rowid NOT IN (SELECT min(rowid) FROM usage WHERE ingest_id = $ingest_id GROUP BY row_key))
