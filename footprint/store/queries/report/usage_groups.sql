-- Usage rows of the period not covered by a measurement, summed per use case, model and calendar
-- year of use (the year picks the serving-software generation the tokens are estimated at).
-- A usage row is covered when its use case had measured energy during the same hour (its tokens
-- are then already in the measured split and must not be counted twice). Rows of use cases never
-- measured are summed per use case and model (the bare aggregation); only the rows of measured use
-- cases are summed per hour and matched against the measured hours.
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
covered_uc AS MATERIALIZED (SELECT DISTINCT use_case FROM covered),
plain AS (
    -- use cases never measured in the period: all their rows are estimated
    SELECT use_case, model, year(ts) AS serving_year, sum(requests) AS requests, sum(input_tokens) AS input_tokens,
           sum(output_tokens) AS output_tokens
    FROM usage
    WHERE ts >= $ps::TIMESTAMP AND ts < $pe::TIMESTAMP AND use_case NOT IN (SELECT use_case FROM covered_uc)
    GROUP BY use_case, model, serving_year
),
hourly AS (
    -- measured use cases: their rows in a measured hour are already in the measurement
    SELECT use_case, model, year(ts) AS serving_year, epoch_us(ts) // 3600000000 AS h, sum(requests) AS requests,
           sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens
    FROM usage
    WHERE ts >= $ps::TIMESTAMP AND ts < $pe::TIMESTAMP AND use_case IN (SELECT use_case FROM covered_uc)
    GROUP BY ALL
),
partly AS (
    SELECT u.use_case, u.model, u.serving_year, sum(u.requests) AS requests, sum(u.input_tokens) AS input_tokens,
           sum(u.output_tokens) AS output_tokens
    FROM hourly u ANTI JOIN covered c ON c.use_case = u.use_case AND c.h = u.h
    GROUP BY u.use_case, u.model, u.serving_year
)
SELECT use_case, model, serving_year, requests, input_tokens, output_tokens
FROM (SELECT * FROM plain UNION ALL SELECT * FROM partly)
ORDER BY use_case, model NULLS FIRST, serving_year;
