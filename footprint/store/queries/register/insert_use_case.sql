INSERT INTO use_cases (slug, name, description, team, purpose, status, deployment, provider, model,
                       country, region, hardware, started, retired, tags, pue, market_gco2e_per_kwh,
                       data_location, last_consultation, created_at, updated_at)
VALUES ($slug, $name, $description, $team, $purpose, $status, $deployment, $provider, $model,
        $country, $region, $hardware, $started, $retired, $tags, $pue, $market_gco2e_per_kwh,
        $data_location, $last_consultation, now()::TIMESTAMP, now()::TIMESTAMP)
