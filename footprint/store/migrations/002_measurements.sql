-- Measured intervals (collectors, CodeCarbon CSV, Prometheus). Energies in joules, NULL = not measured.
-- Times are naive UTC. record_id makes every write idempotent (spool re-reads, re-collection).
CREATE TABLE measurements (
    record_id          VARCHAR PRIMARY KEY,
    use_case           VARCHAR,            -- NULL: unallocated (kept, never dropped)
    host               VARCHAR NOT NULL,   -- machine name, never a person
    start_ts           TIMESTAMP NOT NULL,
    end_ts             TIMESTAMP NOT NULL,
    source             VARCHAR NOT NULL,
    gpu_j              DOUBLE,
    cpu_j              DOUBLE,
    ram_j              DOUBLE,
    gpu_method         VARCHAR,
    cpu_method         VARCHAR,
    ram_method         VARCHAR,
    gpu_devices        VARCHAR,
    gpu_low_confidence BOOLEAN NOT NULL DEFAULT false,
    shared             BOOLEAN NOT NULL DEFAULT false,
    input_tokens       BIGINT,
    output_tokens      BIGINT,
    requests           BIGINT
);

-- Tokens per use case and model within one interval: the key that splits a shared host's energy.
CREATE TABLE interval_tokens (
    record_id      VARCHAR NOT NULL,
    use_case       VARCHAR NOT NULL,
    model          VARCHAR NOT NULL,
    input_tokens   BIGINT NOT NULL,
    output_tokens  BIGINT NOT NULL,
    requests       BIGINT NOT NULL,
    PRIMARY KEY (record_id, use_case, model)
);
