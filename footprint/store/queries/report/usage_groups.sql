-- Usage rows of the period not covered by a measurement, summed per use case and model.
-- A usage row is covered when its use case had measured energy during the same hour (its tokens
-- are then already in the measured split and must not be counted twice). Rows are first summed per
-- use case, model and hour (one pass over the table), then the few hour groups are matched.
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
covered AS (
    SELECT DISTINCT use_case, h FROM (
        SELECT use_case,
               unnest(range(date_trunc('hour', start_ts), greatest(end_ts, start_ts + INTERVAL 1 MICROSECOND),
                            INTERVAL 1 HOUR)) AS h
        FROM measured_uc
    )
),
hourly AS (
    SELECT use_case, model, date_trunc('hour', ts) AS h, count(*) AS requests,
           sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens
    FROM usage
    WHERE ts >= $ps::TIMESTAMP AND ts < $pe::TIMESTAMP
    GROUP BY ALL
)
SELECT u.use_case, u.model, sum(u.requests) AS requests,
       sum(u.input_tokens) AS input_tokens, sum(u.output_tokens) AS output_tokens
FROM hourly u
ANTI JOIN covered c ON c.use_case = u.use_case AND c.h = u.h
GROUP BY u.use_case, u.model
ORDER BY u.use_case, u.model NULLS FIRST;
