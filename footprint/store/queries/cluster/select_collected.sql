-- Intervals already collected from Prometheus that overlap a window (re-collection skips them).
SELECT host, start_ts, end_ts
FROM measurements
WHERE source = 'prometheus' AND start_ts < $to_ts AND end_ts > $from_ts
ORDER BY host, start_ts
