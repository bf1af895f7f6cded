-- Columnar bulk insert from the registered numpy columns `incoming_measurements`.
-- INSERT OR IGNORE on the primary key makes a re-read of the same records a no-op (exactly once);
-- QUALIFY keeps one row per record_id when a batch repeats one.
INSERT OR IGNORE INTO measurements
    (record_id, use_case, host, start_ts, end_ts, source, gpu_j, cpu_j, ram_j, gpu_method, cpu_method,
     ram_method, gpu_devices, gpu_low_confidence, shared, input_tokens, output_tokens, requests,
     gpu_crosscheck_ratio, gpu_crosscheck_disagrees)
SELECT record_id::VARCHAR, use_case::VARCHAR, host::VARCHAR, start_ts::TIMESTAMP, end_ts::TIMESTAMP,
       source::VARCHAR, gpu_j::DOUBLE, cpu_j::DOUBLE, ram_j::DOUBLE, gpu_method::VARCHAR,
       cpu_method::VARCHAR, ram_method::VARCHAR, gpu_devices::VARCHAR, gpu_low_confidence::BOOLEAN,
       shared::BOOLEAN, input_tokens::BIGINT, output_tokens::BIGINT, requests::BIGINT,
       gpu_crosscheck_ratio::DOUBLE, gpu_crosscheck_disagrees::BOOLEAN
FROM incoming_measurements
QUALIFY row_number() OVER (PARTITION BY record_id) = 1
