INSERT OR IGNORE INTO interval_tokens (record_id, use_case, model, input_tokens, output_tokens, requests)
SELECT record_id, t.use_case, t.model, t.input_tokens, t.output_tokens, t.requests
FROM (SELECT record_id, unnest(tokens) AS t FROM spool_stage WHERE valid)
QUALIFY row_number() OVER (PARTITION BY record_id, t.use_case, t.model) = 1
