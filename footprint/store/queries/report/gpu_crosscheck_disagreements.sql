-- Intervals of the period whose GPU energy counter and NVML power usage disagreed by more than 10%
-- (issue 16), counted for each use case the interval's energy went to: a dedicated record's own
-- use case, or every use case a shared record was split among by tokens.
SELECT use_case, count(DISTINCT record_id) AS disagreements
FROM (
    SELECT m.record_id, m.use_case
    FROM measurements m
    WHERE m.gpu_crosscheck_disagrees AND NOT m.shared AND m.use_case IS NOT NULL
      AND m.end_ts > $ps::TIMESTAMP AND m.start_ts < $pe::TIMESTAMP
    UNION ALL
    SELECT m.record_id, t.use_case
    FROM measurements m JOIN interval_tokens t USING (record_id)
    WHERE m.gpu_crosscheck_disagrees AND m.shared
      AND m.end_ts > $ps::TIMESTAMP AND m.start_ts < $pe::TIMESTAMP
)
GROUP BY use_case
ORDER BY use_case
