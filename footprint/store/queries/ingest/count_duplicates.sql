-- Rows of this ingest whose key is already stored (older ingests), and repeats within this ingest
-- (sorted keys compared with their neighbour: faster than count(DISTINCT), see count_repeated.sql).
SELECT
    (SELECT count(*) FROM usage n
      WHERE n.ingest_id = $ingest_id
        AND n.row_key IN (SELECT o.row_key FROM usage o WHERE o.ingest_id <> $ingest_id)) AS already_present,
    (SELECT count(*)
       FROM (SELECT row_key = lag(row_key) OVER (ORDER BY row_key) AS same_as_previous
               FROM usage WHERE ingest_id = $ingest_id)
      WHERE same_as_previous) AS repeated
