-- Columnar bulk insert: each parameter is a list (one element per record), zipped by unnest.
-- INSERT OR IGNORE on the primary key makes a re-read of the same records a no-op (exactly once).
INSERT OR IGNORE INTO measurements
    (record_id, use_case, host, start_ts, end_ts, source, gpu_j, cpu_j, ram_j, gpu_method, cpu_method,
     ram_method, gpu_devices, gpu_low_confidence, shared, input_tokens, output_tokens, requests)
SELECT unnest($record_id), unnest($use_case), unnest($host), unnest($start_ts::TIMESTAMP[]),
       unnest($end_ts::TIMESTAMP[]), unnest($source), unnest($gpu_j::DOUBLE[]), unnest($cpu_j::DOUBLE[]),
       unnest($ram_j::DOUBLE[]), unnest($gpu_method), unnest($cpu_method), unnest($ram_method),
       unnest($gpu_devices), unnest($gpu_low_confidence::BOOLEAN[]), unnest($shared::BOOLEAN[]),
       unnest($input_tokens::BIGINT[]), unnest($output_tokens::BIGINT[]), unnest($requests::BIGINT[])
