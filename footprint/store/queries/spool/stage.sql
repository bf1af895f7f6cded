-- Read spool segments with DuckDB's JSON reader (no Python loop per record). Every field is read as
-- JSON and its JSON type checked before the cast, so a line that is not exactly a record (torn by a
-- kill, junk, a wrong type) is marked invalid and skipped, never fatal and never half-read.
CREATE OR REPLACE TEMP TABLE spool_stage AS
WITH raw AS (
    SELECT *
    FROM read_json($files, format = 'newline_delimited', ignore_errors = true, filename = true,
                   columns = {record_id: 'JSON', use_case: 'JSON', host: 'JSON', "start": 'JSON', "end": 'JSON',
                              source: 'JSON', gpu_j: 'JSON', cpu_j: 'JSON', ram_j: 'JSON', gpu_method: 'JSON',
                              cpu_method: 'JSON', ram_method: 'JSON', gpu_devices: 'JSON',
                              gpu_low_confidence: 'JSON', shared: 'JSON', input_tokens: 'JSON',
                              output_tokens: 'JSON', requests: 'JSON', tokens: 'JSON',
                              gpu_crosscheck_ratio: 'JSON', gpu_crosscheck_disagrees: 'JSON'})
), typed AS (
    SELECT *,
        coalesce(json_type(record_id) = 'VARCHAR' AND json_type(host) = 'VARCHAR' AND json_type(source) = 'VARCHAR'
            AND json_type("start") = 'VARCHAR' AND json_type("end") = 'VARCHAR'
            AND coalesce(json_type(use_case), 'NULL') IN ('VARCHAR', 'NULL')
            AND coalesce(json_type(gpu_method), 'NULL') IN ('VARCHAR', 'NULL')
            AND coalesce(json_type(cpu_method), 'NULL') IN ('VARCHAR', 'NULL')
            AND coalesce(json_type(ram_method), 'NULL') IN ('VARCHAR', 'NULL')
            AND coalesce(json_type(gpu_devices), 'NULL') IN ('VARCHAR', 'NULL')
            AND coalesce(json_type(gpu_j), 'NULL') IN ('DOUBLE', 'BIGINT', 'UBIGINT', 'NULL')
            AND coalesce(json_type(cpu_j), 'NULL') IN ('DOUBLE', 'BIGINT', 'UBIGINT', 'NULL')
            AND coalesce(json_type(ram_j), 'NULL') IN ('DOUBLE', 'BIGINT', 'UBIGINT', 'NULL')
            AND json_type(gpu_low_confidence) = 'BOOLEAN' AND json_type(shared) = 'BOOLEAN'
            AND coalesce(json_type(input_tokens), 'NULL') IN ('BIGINT', 'UBIGINT', 'NULL')
            AND coalesce(json_type(output_tokens), 'NULL') IN ('BIGINT', 'UBIGINT', 'NULL')
            AND coalesce(json_type(requests), 'NULL') IN ('BIGINT', 'UBIGINT', 'NULL')
            AND coalesce(json_type(tokens), 'NULL') IN ('ARRAY', 'NULL')
            -- absent from segments written before issue 16: read as NULL
            AND coalesce(json_type(gpu_crosscheck_ratio), 'NULL') IN ('DOUBLE', 'BIGINT', 'UBIGINT', 'NULL')
            AND coalesce(json_type(gpu_crosscheck_disagrees), 'NULL') IN ('BOOLEAN', 'NULL')
            AND coalesce(list_bool_and(list_transform(json_extract(tokens, '$[*]'), lambda t:
                    coalesce(json_type(t, '$.use_case') = 'VARCHAR' AND json_type(t, '$.model') = 'VARCHAR'
                    AND json_type(t, '$.input_tokens') IN ('BIGINT', 'UBIGINT')
                    AND json_type(t, '$.output_tokens') IN ('BIGINT', 'UBIGINT')
                    AND json_type(t, '$.requests') IN ('BIGINT', 'UBIGINT'), false))), true), false) AS well_typed
    FROM raw
), converted AS (
    SELECT filename, well_typed,
        CASE WHEN well_typed THEN record_id ->> '$' END AS record_id,
        CASE WHEN well_typed THEN use_case ->> '$' END AS use_case,
        CASE WHEN well_typed THEN host ->> '$' END AS host,
        CASE WHEN well_typed THEN try_cast("start" ->> '$' AS TIMESTAMP) END AS start_ts,
        CASE WHEN well_typed THEN try_cast("end" ->> '$' AS TIMESTAMP) END AS end_ts,
        CASE WHEN well_typed THEN source ->> '$' END AS source,
        CASE WHEN well_typed THEN try_cast(gpu_j AS DOUBLE) END AS gpu_j,
        CASE WHEN well_typed THEN try_cast(cpu_j AS DOUBLE) END AS cpu_j,
        CASE WHEN well_typed THEN try_cast(ram_j AS DOUBLE) END AS ram_j,
        CASE WHEN well_typed THEN gpu_method ->> '$' END AS gpu_method,
        CASE WHEN well_typed THEN cpu_method ->> '$' END AS cpu_method,
        CASE WHEN well_typed THEN ram_method ->> '$' END AS ram_method,
        CASE WHEN well_typed THEN gpu_devices ->> '$' END AS gpu_devices,
        CASE WHEN well_typed THEN try_cast(gpu_low_confidence AS BOOLEAN) END AS gpu_low_confidence,
        CASE WHEN well_typed THEN try_cast(shared AS BOOLEAN) END AS shared,
        CASE WHEN well_typed THEN try_cast(input_tokens AS BIGINT) END AS input_tokens,
        CASE WHEN well_typed THEN try_cast(output_tokens AS BIGINT) END AS output_tokens,
        CASE WHEN well_typed THEN try_cast(requests AS BIGINT) END AS requests,
        CASE WHEN well_typed THEN try_cast(gpu_crosscheck_ratio AS DOUBLE) END AS gpu_crosscheck_ratio,
        CASE WHEN well_typed THEN try_cast(gpu_crosscheck_disagrees AS BOOLEAN) END AS gpu_crosscheck_disagrees,
        CASE WHEN well_typed AND tokens IS NOT NULL THEN from_json(tokens,
            '[{"use_case": "VARCHAR", "model": "VARCHAR", "input_tokens": "BIGINT", "output_tokens": "BIGINT", "requests": "BIGINT"}]')
        END AS tokens
    FROM typed
)
SELECT *,
       well_typed AND record_id <> '' AND host <> '' AND source <> ''
       AND start_ts IS NOT NULL AND end_ts IS NOT NULL AND end_ts >= start_ts
       AND (gpu_j IS NULL OR (isfinite(gpu_j) AND gpu_j >= 0))
       AND (cpu_j IS NULL OR (isfinite(cpu_j) AND cpu_j >= 0))
       AND (ram_j IS NULL OR (isfinite(ram_j) AND ram_j >= 0))
       AND (gpu_crosscheck_ratio IS NULL OR (isfinite(gpu_crosscheck_ratio) AND gpu_crosscheck_ratio >= 0))
       AND gpu_low_confidence IS NOT NULL AND shared IS NOT NULL
       AND coalesce(input_tokens, 0) >= 0 AND coalesce(output_tokens, 0) >= 0 AND coalesce(requests, 0) >= 0
       AND coalesce(list_bool_and(list_transform(tokens, lambda t: t.use_case <> '' AND t.input_tokens >= 0
               AND t.output_tokens >= 0 AND t.requests >= 0)), true)
       AS valid
FROM converted
