-- Sites (data centres, server rooms) with their efficiency and contractual electricity factor.
-- A use case refers to its site through use_cases.region (= sites.name).
CREATE TABLE sites (
    name                  VARCHAR PRIMARY KEY,
    pue                   DOUBLE,            -- power usage effectiveness (facility / IT energy)
    wue_l_per_kwh         DOUBLE,            -- on-site water usage effectiveness (L per kWh of IT energy)
    market_gco2e_per_kwh  DOUBLE,            -- contractual (market-based) factor, when the site buys one
    country               VARCHAR,           -- ISO 3166 alpha-3, for the grid factor when a use case gives none
    updated_at            TIMESTAMP NOT NULL
);
