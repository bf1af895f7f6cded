-- Usage rows of the period not covered by a measurement, summed per use case and model.
-- A usage row is covered when its use case had measured energy during the same hour (its tokens
-- are then already in the measured split and must not be counted twice). One pass sums all rows
-- per use case and model (the bare aggregation); only the rows of measured use cases are matched
-- against the measured hours, and their covered sums are subtracted.
WITH m AS (
    SELECT record_id, use_case, start_ts, end_ts FROM measurements
    WHERE (end_ts > $ps::TIMESTAMP AND start_ts < $pe::TIMESTAMP)
       OR (end_ts = start_ts AND start_ts >= $ps::TIMESTAMP AND start_ts < $pe::TIMESTAMP)
),
measured_uc AS (
    SELECT use_case, start_ts, end_ts FROM m WHERE use_case IS NOT NULL
    UNION ALL
    SELECT t.use_case, m.start_ts, m.end_ts FROM m JOIN interval_tokens t USING (record_id)
),
covered AS MATERIALIZED (
    SELECT DISTINCT use_case, h FROM (
        SELECT use_case,
               unnest(range(epoch_us(start_ts) // 3600000000,
                            (epoch_us(greatest(end_ts, start_ts + INTERVAL 1 MICROSECOND)) - 1) // 3600000000 + 1)) AS h
        FROM measured_uc
    )
),
all_rows AS (
    SELECT use_case, model, sum(requests) AS requests, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens
    FROM usage
    WHERE ts >= $ps::TIMESTAMP AND ts < $pe::TIMESTAMP
    GROUP BY use_case, model
),
covered_rows AS (
    SELECT u.use_case, u.model, sum(u.requests) AS requests, sum(u.input_tokens) AS input_tokens,
           sum(u.output_tokens) AS output_tokens
    FROM usage u
    SEMI JOIN covered c ON c.use_case = u.use_case AND c.h = epoch_us(u.ts) // 3600000000
    WHERE u.ts >= $ps::TIMESTAMP AND u.ts < $pe::TIMESTAMP
      AND u.use_case IN (SELECT DISTINCT use_case FROM covered)
    GROUP BY u.use_case, u.model
)
SELECT a.use_case, a.model, a.requests - coalesce(c.requests, 0) AS requests,
       a.input_tokens - coalesce(c.input_tokens, 0) AS input_tokens,
       a.output_tokens - coalesce(c.output_tokens, 0) AS output_tokens
FROM all_rows a
LEFT JOIN covered_rows c ON c.use_case = a.use_case AND c.model IS NOT DISTINCT FROM a.model
WHERE a.requests - coalesce(c.requests, 0) > 0 OR a.output_tokens - coalesce(c.output_tokens, 0) > 0
ORDER BY a.use_case, a.model NULLS FIRST;
