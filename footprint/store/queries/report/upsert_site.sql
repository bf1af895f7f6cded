INSERT INTO sites (name, pue, wue_l_per_kwh, market_gco2e_per_kwh, country, updated_at)
VALUES ($name, $pue, $wue_l_per_kwh, $market_gco2e_per_kwh, $country, now()::TIMESTAMP)
ON CONFLICT (name) DO UPDATE SET
    pue = coalesce(excluded.pue, sites.pue),
    wue_l_per_kwh = coalesce(excluded.wue_l_per_kwh, sites.wue_l_per_kwh),
    market_gco2e_per_kwh = coalesce(excluded.market_gco2e_per_kwh, sites.market_gco2e_per_kwh),
    country = coalesce(excluded.country, sites.country),
    updated_at = excluded.updated_at;
