SELECT use_case, period, value, unit, evidence, set_at
FROM benefits
WHERE ($use_case IS NULL OR use_case = $use_case)
ORDER BY use_case, period
