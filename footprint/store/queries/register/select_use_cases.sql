SELECT slug, name, team, status, deployment, purpose, description, provider, model, country, region,
       hardware, started, retired, tags, pue, market_gco2e_per_kwh,
       data_location, last_consultation
FROM use_cases
WHERE ($status IS NULL OR status = $status)
  AND ($slug IS NULL OR slug = $slug)
ORDER BY slug
