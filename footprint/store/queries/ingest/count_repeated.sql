-- Repeats within this ingest (enough when the table held no rows before it).
SELECT 0 AS already_present, count(*) - count(DISTINCT row_key) AS repeated FROM usage WHERE ingest_id = $ingest_id
