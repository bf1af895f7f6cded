INSERT OR IGNORE INTO interval_tokens (record_id, use_case, model, input_tokens, output_tokens, requests)
SELECT unnest($record_id), unnest($use_case), unnest($model), unnest($input_tokens::BIGINT[]),
       unnest($output_tokens::BIGINT[]), unnest($requests::BIGINT[])
