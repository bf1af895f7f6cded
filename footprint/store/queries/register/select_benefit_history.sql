SELECT use_case, period, value, unit, evidence, set_at, replaced_at
FROM benefit_history
WHERE use_case = $use_case
ORDER BY period, replaced_at
