INSERT OR IGNORE INTO interval_tokens (record_id, use_case, model, input_tokens, output_tokens, requests)
SELECT record_id::VARCHAR, use_case::VARCHAR, model::VARCHAR, input_tokens::BIGINT, output_tokens::BIGINT,
       requests::BIGINT
FROM incoming_interval_tokens
QUALIFY row_number() OVER (PARTITION BY record_id, use_case, model) = 1
