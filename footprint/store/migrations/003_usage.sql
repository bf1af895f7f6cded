-- Usage logs (one row per request, or per usage bucket: see `requests`) and the ingests that loaded them.
-- Counts only: no prompt, completion, user, key or address column exists, and none may be added.
-- input_tokens counts every prompt token, cached ones included; cached_input_tokens is the part read
-- from a prompt cache and cache_creation_input_tokens the part written to it (Anthropic bills them apart).
-- row_key: md5 of (use case, request_id) when the source has an id, else of the row's stored fields,
-- so re-ingesting a file or an overlapping one adds nothing (exactly once). No index: an ART index on
-- tens of millions of rows costs more than the anti-join each ingest runs (bench/bench_ingest.py).
CREATE SEQUENCE ingest_id_seq START 1;

CREATE TABLE usage (
    row_key                      UHUGEINT NOT NULL,
    ts                           TIMESTAMP,          -- naive UTC; NULL when the format carries no time
    use_case                     VARCHAR NOT NULL,
    model                        VARCHAR,
    provider                     VARCHAR,
    input_tokens                 BIGINT NOT NULL,
    output_tokens                BIGINT NOT NULL,
    cached_input_tokens          BIGINT,
    cache_creation_input_tokens  BIGINT,
    images                       BIGINT,
    requests                     BIGINT NOT NULL DEFAULT 1,  -- > 1 only for aggregated usage buckets
    source_format                VARCHAR,
    ingest_id                    BIGINT
);

-- What was ingested, when, and what came of it. Never file contents; the file's base name only
-- (a full path can hold a login name).
CREATE TABLE ingests (
    ingest_id        BIGINT PRIMARY KEY,
    ingested_at      TIMESTAMP NOT NULL,
    file_name        VARCHAR NOT NULL,
    file_bytes       BIGINT,
    source_format    VARCHAR NOT NULL,
    rows_read        BIGINT NOT NULL,
    rows_added       BIGINT NOT NULL,
    rows_present     BIGINT NOT NULL,
    rows_rejected    BIGINT NOT NULL DEFAULT 0,
    rows_skipped     BIGINT NOT NULL DEFAULT 0,   -- records with no usage (failed batch lines, stream chunks)
    fields_dropped   VARCHAR[] NOT NULL DEFAULT [] -- names of the fields left unread, never their values
);
