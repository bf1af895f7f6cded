INSERT INTO use_cases (slug, name, description, team, purpose, status, deployment, provider, model,
                       country, region, hardware, started, retired, tags, pue, market_gco2e_per_kwh,
                       created_at, updated_at)
VALUES ($slug, $name, $description, $team, $purpose, $status, $deployment, $provider, $model,
        $country, $region, $hardware, $started, $retired, $tags, $pue, $market_gco2e_per_kwh,
        now()::TIMESTAMP, now()::TIMESTAMP)
