-- Each record's energy in the period (fp_allot) to its use case: a dedicated record gives all of
-- it to its use case (NULL = unallocated); a shared record splits it by token weight
-- (output tokens * w_out + input tokens * w_in); a shared record with no tokens is idle.
-- Integer microjoules and floored cumulative shares: the parts add up to the record exactly.
WITH a AS MATERIALIZED (
    SELECT f.record_id, f.covered_us, coalesce(f.gpu_uj, 0) AS gpu_uj, coalesce(f.cpu_uj, 0) AS cpu_uj,
           coalesce(f.ram_uj, 0) AS ram_uj,
           m.host, m.use_case, m.shared, m.gpu_method, m.cpu_method, m.ram_method,
           CAST(coalesce(m.output_tokens, 0) AS HUGEINT) * $w_out
               + CAST(coalesce(m.input_tokens, 0) AS HUGEINT) * $w_in AS tok_w
    FROM fp_allot f JOIN measurements m USING (record_id)
),
split_rows AS MATERIALIZED (
    SELECT t.record_id, t.use_case,
           sum(CAST(t.output_tokens AS HUGEINT) * $w_out + CAST(t.input_tokens AS HUGEINT) * $w_in) AS w
    FROM interval_tokens t SEMI JOIN a ON a.record_id = t.record_id AND a.shared
    GROUP BY t.record_id, t.use_case
),
tokens AS (
    SELECT record_id, use_case, w FROM split_rows WHERE w > 0
    UNION ALL
    -- a shared record without a split but with its own tokens and use case: all to that use case
    SELECT record_id, use_case, tok_w FROM a
    WHERE shared AND use_case IS NOT NULL AND tok_w > 0
      AND NOT EXISTS (SELECT 1 FROM split_rows s WHERE s.record_id = a.record_id)
),
cum AS MATERIALIZED (
    SELECT record_id, use_case, w,
           sum(w) OVER (PARTITION BY record_id ORDER BY use_case ROWS UNBOUNDED PRECEDING) AS cw,
           sum(w) OVER (PARTITION BY record_id) AS tw
    FROM tokens
),
parts AS (
    SELECT 'use_case' AS bucket, c.use_case, a.host, a.gpu_method, a.cpu_method, a.ram_method,
           a.gpu_uj * c.cw // c.tw - a.gpu_uj * (c.cw - c.w) // c.tw AS gpu_uj,
           a.cpu_uj * c.cw // c.tw - a.cpu_uj * (c.cw - c.w) // c.tw AS cpu_uj,
           a.ram_uj * c.cw // c.tw - a.ram_uj * (c.cw - c.w) // c.tw AS ram_uj
    FROM a JOIN cum c USING (record_id)
    WHERE a.shared
    UNION ALL
    SELECT 'idle', NULL, host, gpu_method, cpu_method, ram_method, gpu_uj, cpu_uj, ram_uj
    FROM a WHERE shared AND NOT EXISTS (SELECT 1 FROM cum c WHERE c.record_id = a.record_id)
    UNION ALL
    SELECT CASE WHEN use_case IS NULL THEN 'unallocated' ELSE 'use_case' END, use_case, host,
           gpu_method, cpu_method, ram_method, gpu_uj, cpu_uj, ram_uj
    FROM a WHERE NOT shared
)
SELECT bucket, use_case, host, gpu_method, cpu_method, ram_method,
       sum(gpu_uj) AS gpu_uj, sum(cpu_uj) AS cpu_uj, sum(ram_uj) AS ram_uj
FROM parts
GROUP BY ALL
ORDER BY bucket, use_case NULLS FIRST, host, gpu_method NULLS FIRST, cpu_method NULLS FIRST, ram_method NULLS FIRST;
