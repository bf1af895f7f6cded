-- Measured intervals whose tokens all belong to one model ($model, case-insensitive): all of the
-- interval's GPU energy was spent on that model's tokens, so J/token is measured, not allocated.
WITH per_record AS (
    SELECT record_id,
           count(DISTINCT lower(model)) AS models,
           sum(output_tokens) AS output_tokens,
           sum(input_tokens) AS input_tokens
    FROM interval_tokens
    GROUP BY record_id
)
SELECT m.record_id, m.host, m.gpu_j, p.output_tokens, p.input_tokens
FROM measurements AS m
JOIN per_record AS p USING (record_id)
WHERE p.models = 1
  AND m.gpu_j IS NOT NULL
  AND m.gpu_j > 0
  AND p.output_tokens > 0
  AND EXISTS (SELECT 1 FROM interval_tokens AS t WHERE t.record_id = m.record_id AND lower(t.model) = lower($model))
ORDER BY m.start_ts, m.record_id
