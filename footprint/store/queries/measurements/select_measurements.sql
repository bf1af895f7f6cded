SELECT record_id, use_case, host, start_ts AS "start", end_ts AS "end", source, gpu_j, cpu_j, ram_j,
       gpu_method, cpu_method, ram_method, gpu_devices, gpu_low_confidence, shared,
       input_tokens, output_tokens, requests, gpu_crosscheck_ratio, gpu_crosscheck_disagrees
FROM measurements
WHERE ($use_case IS NULL OR use_case = $use_case)
  AND ($from_ts IS NULL OR end_ts > $from_ts)
  AND ($to_ts IS NULL OR start_ts < $to_ts)
ORDER BY start_ts, host, record_id
