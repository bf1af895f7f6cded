-- Usage per use case and model, optionally per day or month; $by: NULL | 'day' | 'month' | 'model'.
-- Rows without a time count only when no period is asked.
SELECT use_case,
       model,
       CASE $by WHEN 'day' THEN strftime(ts, '%Y-%m-%d') WHEN 'month' THEN strftime(ts, '%Y-%m') END AS period,
       sum(requests)::BIGINT AS requests,
       sum(input_tokens)::BIGINT AS input_tokens,
       sum(output_tokens)::BIGINT AS output_tokens,
       sum(cached_input_tokens)::BIGINT AS cached_input_tokens,
       sum(cache_creation_input_tokens)::BIGINT AS cache_creation_input_tokens,
       sum(images)::BIGINT AS images
  FROM usage
 WHERE ($use_case IS NULL OR use_case = $use_case)
   AND ($from_ts IS NULL OR ts >= $from_ts)
   AND ($to_ts IS NULL OR ts < $to_ts)
 GROUP BY ALL
 ORDER BY period NULLS FIRST, use_case, model NULLS FIRST
