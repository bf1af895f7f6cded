INSERT OR REPLACE INTO benefits (use_case, period, value, unit, evidence, set_at)
VALUES ($use_case, $period, $value, $unit, $evidence, now()::TIMESTAMP)
