-- Rows of this ingest whose key is already stored (older ingests), and repeats within this ingest.
SELECT
    (SELECT count(*) FROM usage n
      WHERE n.ingest_id = $ingest_id
        AND n.row_key IN (SELECT o.row_key FROM usage o WHERE o.ingest_id <> $ingest_id)) AS already_present,
    (SELECT count(*) - count(DISTINCT row_key) FROM usage WHERE ingest_id = $ingest_id) AS repeated
