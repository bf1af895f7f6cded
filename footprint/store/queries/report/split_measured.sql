-- Each record's energy in the period (fp_allot) to its use case: a dedicated record gives all of
-- it to its use case (NULL = unallocated); a shared record splits it by token weight
-- (output tokens * w_out + input tokens * w_in); a shared record with no tokens is idle.
-- Integer microjoules; a use case's part is f(cum) - f(previous cum) with f(c) = floor(E * c / total)
-- and f(total) = E, so the parts are >= 0 and add up to the record's energy exactly.
WITH split_rows AS MATERIALIZED (
    SELECT t.record_id, t.use_case, sum(t.output_tokens * $w_out + t.input_tokens * $w_in) AS w
    FROM interval_tokens t SEMI JOIN fp_allot f ON f.record_id = t.record_id AND f.shared
    GROUP BY t.record_id, t.use_case
),
tokens AS (
    SELECT record_id, use_case, w FROM split_rows WHERE w > 0
    UNION ALL
    -- a shared record without a split but with its own tokens and use case: all to that use case
    SELECT record_id, use_case, tok_w FROM fp_allot f
    WHERE shared AND use_case IS NOT NULL AND tok_w > 0
      AND NOT EXISTS (SELECT 1 FROM split_rows s WHERE s.record_id = f.record_id)
),
cum AS MATERIALIZED (
    SELECT record_id, use_case, w,
           sum(w) OVER (PARTITION BY record_id ORDER BY use_case ROWS UNBOUNDED PRECEDING) AS cw,
           sum(w) OVER (PARTITION BY record_id) AS tw
    FROM tokens
),
upto AS (
    -- f(c) = floor(E * c / total), f(total) = E; integer weights make f(cum - w) the previous f exactly
    SELECT c.use_case, f.host, f.gpu_method, f.cpu_method, f.ram_method,
           coalesce(f.gpu_uj, 0) AS ge, coalesce(f.cpu_uj, 0) AS ce, coalesce(f.ram_uj, 0) AS re,
           c.cw, c.cw - c.w AS pw, c.tw
    FROM cum c JOIN fp_allot f USING (record_id)
),
parts AS (
    SELECT 'use_case' AS bucket, use_case, host, gpu_method, cpu_method, ram_method,
           (CASE WHEN cw = tw THEN ge ELSE least(ge, CAST(floor(ge * (cw / tw)) AS BIGINT)) END)
             - least(ge, CAST(floor(ge * (pw / tw)) AS BIGINT)) AS gpu_uj,
           (CASE WHEN cw = tw THEN ce ELSE least(ce, CAST(floor(ce * (cw / tw)) AS BIGINT)) END)
             - least(ce, CAST(floor(ce * (pw / tw)) AS BIGINT)) AS cpu_uj,
           (CASE WHEN cw = tw THEN re ELSE least(re, CAST(floor(re * (cw / tw)) AS BIGINT)) END)
             - least(re, CAST(floor(re * (pw / tw)) AS BIGINT)) AS ram_uj
    FROM upto
    UNION ALL
    SELECT 'idle', NULL, host, gpu_method, cpu_method, ram_method,
           coalesce(gpu_uj, 0), coalesce(cpu_uj, 0), coalesce(ram_uj, 0)
    FROM fp_allot f WHERE shared AND NOT EXISTS (SELECT 1 FROM cum c WHERE c.record_id = f.record_id)
    UNION ALL
    SELECT CASE WHEN use_case IS NULL THEN 'unallocated' ELSE 'use_case' END, use_case, host,
           gpu_method, cpu_method, ram_method, coalesce(gpu_uj, 0), coalesce(cpu_uj, 0), coalesce(ram_uj, 0)
    FROM fp_allot WHERE NOT shared
)
SELECT bucket, use_case, host, gpu_method, cpu_method, ram_method,
       sum(gpu_uj) AS gpu_uj, sum(cpu_uj) AS cpu_uj, sum(ram_uj) AS ram_uj
FROM parts
GROUP BY ALL
ORDER BY bucket, use_case NULLS FIRST, host, gpu_method NULLS FIRST, cpu_method NULLS FIRST, ram_method NULLS FIRST;
