-- Keep the value a new claim replaces, so a claim is never silently rewritten.
INSERT INTO benefit_history
SELECT use_case, period, value, unit, evidence, set_at, now()::TIMESTAMP
FROM benefits WHERE use_case = $use_case AND period = $period
