-- Use-case register (AFNOR Spec 2314-inspired) and claimed benefits per quarter.
-- No column may identify a person: `team` is an organisational unit.
CREATE TABLE use_cases (
    slug          VARCHAR PRIMARY KEY,
    name          VARCHAR NOT NULL,
    description   VARCHAR,
    team          VARCHAR NOT NULL,
    purpose       VARCHAR NOT NULL DEFAULT 'other',
    status        VARCHAR NOT NULL,
    deployment    VARCHAR NOT NULL,
    provider      VARCHAR,
    model         VARCHAR,
    country       VARCHAR,
    region        VARCHAR,
    hardware      VARCHAR,
    started       DATE,
    retired       DATE,
    tags          VARCHAR[] NOT NULL DEFAULT [],
    pue           DOUBLE,                 -- overrides the site / default PUE when set
    market_gco2e_per_kwh DOUBLE,          -- contractual (market-based) factor when the user has one
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE benefits (
    use_case      VARCHAR NOT NULL,
    period        VARCHAR NOT NULL,       -- YYYY-Qn
    value         DOUBLE NOT NULL,
    unit          VARCHAR NOT NULL,
    evidence      VARCHAR,
    set_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (use_case, period)
);

-- Every value a `benefit set` replaced, so a claim can never be silently rewritten.
CREATE TABLE benefit_history (
    use_case      VARCHAR NOT NULL,
    period        VARCHAR NOT NULL,
    value         DOUBLE NOT NULL,
    unit          VARCHAR NOT NULL,
    evidence      VARCHAR,
    set_at        TIMESTAMP NOT NULL,
    replaced_at   TIMESTAMP NOT NULL
);
