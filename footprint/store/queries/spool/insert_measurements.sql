INSERT OR IGNORE INTO measurements
    (record_id, use_case, host, start_ts, end_ts, source, gpu_j, cpu_j, ram_j, gpu_method, cpu_method,
     ram_method, gpu_devices, gpu_low_confidence, shared, input_tokens, output_tokens, requests,
     gpu_crosscheck_ratio, gpu_crosscheck_disagrees)
SELECT record_id, use_case, host, start_ts, end_ts, source, gpu_j, cpu_j, ram_j, gpu_method, cpu_method,
       ram_method, gpu_devices, gpu_low_confidence, shared, input_tokens, output_tokens, requests,
       gpu_crosscheck_ratio, gpu_crosscheck_disagrees
FROM spool_stage
WHERE valid
QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY filename) = 1
