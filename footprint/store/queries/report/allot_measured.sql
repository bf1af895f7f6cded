-- Energy of each measured record inside the period, in integer microjoules (exact sums).
-- Records are clipped to the period (energy prorated by time). Overlapping records of one host
-- (two collectors seeing the same machine) are counted once: the host's time is cut into
-- elementary segments; in each, a component's energy is the mean of the records that measured it,
-- then split between the overlapping records by their tokens in the segment (all known) or equally.
-- Shares use differences of floored cumulative sums, so they add up to the whole exactly.
CREATE OR REPLACE TEMP TABLE fp_allot AS
WITH r AS MATERIALIZED (
    SELECT m.record_id, m.host,
           epoch_us(m.start_ts) AS s0, epoch_us(m.end_ts) AS e0,
           greatest(epoch_us(m.start_ts), epoch_us($ps::TIMESTAMP)) AS s,
           least(epoch_us(m.end_ts), epoch_us($pe::TIMESTAMP)) AS e,
           CAST(round(m.gpu_j * 1e6) AS HUGEINT) AS gpu_uj,
           CAST(round(m.cpu_j * 1e6) AS HUGEINT) AS cpu_uj,
           CAST(round(m.ram_j * 1e6) AS HUGEINT) AS ram_uj,
           CAST(coalesce(m.output_tokens, 0) AS HUGEINT) * $w_out
               + CAST(coalesce(m.input_tokens, 0) AS HUGEINT) * $w_in AS tok_w
    FROM measurements m
    WHERE (m.end_ts > $ps::TIMESTAMP AND m.start_ts < $pe::TIMESTAMP)
       OR (m.end_ts = m.start_ts AND m.start_ts >= $ps::TIMESTAMP AND m.start_ts < $pe::TIMESTAMP)
),
ordered AS (
    SELECT *, max(e) OVER (PARTITION BY host ORDER BY s, e, record_id
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
    FROM r WHERE e0 > s0
),
islands AS (
    SELECT *, sum(CASE WHEN prev_end IS NULL OR s >= prev_end THEN 1 ELSE 0 END)
                  OVER (PARTITION BY host ORDER BY s, e, record_id ROWS UNBOUNDED PRECEDING) AS island
    FROM ordered
),
sized AS MATERIALIZED (
    SELECT *, count(*) OVER (PARTITION BY host, island) AS n FROM islands
),
singles AS (
    SELECT record_id, CAST(e - s AS HUGEINT) AS covered_us,
           gpu_uj * (e - s) // (e0 - s0) AS gpu_uj,
           cpu_uj * (e - s) // (e0 - s0) AS cpu_uj,
           ram_uj * (e - s) // (e0 - s0) AS ram_uj
    FROM sized WHERE n = 1
    UNION ALL
    -- a zero-length record has no time to share: its energy counts as it is
    SELECT record_id, CAST(0 AS HUGEINT), gpu_uj, cpu_uj, ram_uj FROM r WHERE e0 = s0
),
multi AS (SELECT * FROM sized WHERE n > 1),
bounds AS (
    SELECT DISTINCT host, island, t FROM (
        SELECT host, island, s AS t FROM multi UNION ALL SELECT host, island, e AS t FROM multi
    )
),
segs AS (
    SELECT host, island, t AS a, lead(t) OVER (PARTITION BY host, island ORDER BY t) AS b FROM bounds
),
active AS (
    SELECT g.host, g.island, g.a, g.b, m.record_id,
           m.gpu_uj * (g.b - g.a) // (m.e0 - m.s0) AS gpu_c,
           m.cpu_uj * (g.b - g.a) // (m.e0 - m.s0) AS cpu_c,
           m.ram_uj * (g.b - g.a) // (m.e0 - m.s0) AS ram_c,
           m.tok_w * (g.b - g.a) // (m.e0 - m.s0) AS w_raw
    FROM segs g
    JOIN multi m ON m.host = g.host AND m.island = g.island AND m.s <= g.a AND m.e >= g.b
    WHERE g.b IS NOT NULL
),
seg_tot AS (
    SELECT *,
           sum(gpu_c) OVER seg // nullif(count(gpu_c) OVER seg, 0) AS gpu_seg,
           sum(cpu_c) OVER seg // nullif(count(cpu_c) OVER seg, 0) AS cpu_seg,
           sum(ram_c) OVER seg // nullif(count(ram_c) OVER seg, 0) AS ram_seg,
           bool_and(w_raw > 0) OVER seg AS all_tok
    FROM active
    WINDOW seg AS (PARTITION BY host, island, a)
),
weighted AS (
    SELECT *, CASE WHEN all_tok THEN w_raw ELSE CAST(1 AS HUGEINT) END AS w FROM seg_tot
),
cum AS (
    SELECT *,
           sum(w) OVER (PARTITION BY host, island, a ORDER BY record_id ROWS UNBOUNDED PRECEDING) AS cw,
           sum(w) OVER (PARTITION BY host, island, a) AS tw
    FROM weighted
),
shares AS (
    SELECT record_id,
           CAST(b - a AS HUGEINT) * cw // tw - CAST(b - a AS HUGEINT) * (cw - w) // tw AS covered_us,
           gpu_seg * cw // tw - gpu_seg * (cw - w) // tw AS gpu_uj,
           cpu_seg * cw // tw - cpu_seg * (cw - w) // tw AS cpu_uj,
           ram_seg * cw // tw - ram_seg * (cw - w) // tw AS ram_uj
    FROM cum
)
SELECT record_id, sum(covered_us) AS covered_us, sum(gpu_uj) AS gpu_uj, sum(cpu_uj) AS cpu_uj, sum(ram_uj) AS ram_uj
FROM (SELECT * FROM singles UNION ALL SELECT * FROM shares)
GROUP BY record_id;
