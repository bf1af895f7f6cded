SELECT list(slug ORDER BY slug) FROM use_cases
