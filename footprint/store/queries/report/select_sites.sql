SELECT name, pue, wue_l_per_kwh, market_gco2e_per_kwh, country
FROM sites
WHERE $name IS NULL OR name = $name
ORDER BY name;
