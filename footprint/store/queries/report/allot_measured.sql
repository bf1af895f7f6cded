-- Energy of each measured record inside the period, in integer microjoules (exact sums).
-- Records are clipped to the period (energy prorated by time). Overlapping records of one host
-- (two collectors seeing the same machine) are counted once: the host's time is cut into
-- elementary segments; in each, a component's energy is the mean of the records that measured it,
-- then split between the overlapping records by their tokens in the segment (all known) or equally.
-- A share is the difference of f(cumulative weight), f(c) = floor(E * c / total) and f(total) = E:
-- f never decreases, so shares are >= 0 and add up to E exactly (BIGINT, no 128-bit division).
-- One source per host and time: where a host's own records (its spool drained here: monitor, run,
-- track...) cover a time, the Prometheus-derived records of that host overlapping it are left out
-- (the spool is the source of truth; Prometheus only brings hosts whose spool is elsewhere).
CREATE OR REPLACE TEMP TABLE fp_allot AS
WITH own_cover AS MATERIALIZED (
    -- the running latest end of a host's own records, by start: an ASOF match below finds whether
    -- any of them overlaps a Prometheus record in one sort-merge, not a join of every pair
    SELECT host, start_ts,
           max(end_ts) OVER (PARTITION BY host ORDER BY start_ts) AS covered_to  -- ties: peers included
    FROM measurements
    WHERE source <> 'prometheus' AND end_ts > $ps::TIMESTAMP AND start_ts < $pe::TIMESTAMP
      AND host IN (SELECT host FROM measurements WHERE source = 'prometheus')
),
superseded AS MATERIALIZED (
    SELECT p.record_id
    FROM measurements p ASOF JOIN own_cover c ON p.host = c.host AND p.end_ts > c.start_ts
    WHERE p.source = 'prometheus' AND c.covered_to > p.start_ts
      AND p.end_ts > $ps::TIMESTAMP AND p.start_ts < $pe::TIMESTAMP
),
r AS MATERIALIZED (
    SELECT m.record_id, m.host, m.use_case, m.shared, m.gpu_method, m.cpu_method, m.ram_method,
           CASE WHEN m.gpu_devices IS NOT NULL AND m.gpu_devices <> '' THEN len(string_split(m.gpu_devices, ','))
                WHEN coalesce(m.gpu_j, 0) > 0 THEN 1 ELSE 0 END AS gpus,
           epoch_us(m.start_ts) AS s0, epoch_us(m.end_ts) AS e0,
           greatest(epoch_us(m.start_ts), epoch_us($ps::TIMESTAMP)) AS s,
           least(epoch_us(m.end_ts), epoch_us($pe::TIMESTAMP)) AS e,
           CAST(round(m.gpu_j * 1e6) AS BIGINT) AS gpu_uj,
           CAST(round(m.cpu_j * 1e6) AS BIGINT) AS cpu_uj,
           CAST(round(m.ram_j * 1e6) AS BIGINT) AS ram_uj,
           coalesce(m.output_tokens, 0) * $w_out + coalesce(m.input_tokens, 0) * $w_in AS tok_w
    FROM measurements m ANTI JOIN superseded USING (record_id)
    WHERE (m.end_ts > $ps::TIMESTAMP AND m.start_ts < $pe::TIMESTAMP)
       OR (m.end_ts = m.start_ts AND m.start_ts >= $ps::TIMESTAMP AND m.start_ts < $pe::TIMESTAMP)
),
flags AS MATERIALIZED (
    -- one sort per host: a record overlaps an earlier one when the latest end before it is after its
    -- start, and a later one when the next start is before its end
    SELECT record_id, host, s, e, s0, e0, gpu_uj, cpu_uj, ram_uj, tok_w,
           max(e) OVER (PARTITION BY host ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end,
           lead(s) OVER (PARTITION BY host ORDER BY s, e ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING) AS next_start
    FROM r WHERE e0 > s0
),
singles AS (
    -- a record alone on its host at that time: its energy, prorated when the period cuts it
    SELECT record_id, e - s AS covered_us,
           CASE WHEN e - s = e0 - s0 THEN gpu_uj ELSE CAST(floor(gpu_uj * ((e - s) / (e0 - s0)::DOUBLE)) AS BIGINT) END AS gpu_uj,
           CASE WHEN e - s = e0 - s0 THEN cpu_uj ELSE CAST(floor(cpu_uj * ((e - s) / (e0 - s0)::DOUBLE)) AS BIGINT) END AS cpu_uj,
           CASE WHEN e - s = e0 - s0 THEN ram_uj ELSE CAST(floor(ram_uj * ((e - s) / (e0 - s0)::DOUBLE)) AS BIGINT) END AS ram_uj
    FROM flags WHERE coalesce(prev_end <= s, true) AND coalesce(next_start >= e, true)
    UNION ALL
    -- a zero-length record has no time to share: its energy counts as it is
    SELECT record_id, 0, gpu_uj, cpu_uj, ram_uj FROM r WHERE e0 = s0
),
overlapping AS (
    -- the few records that overlap another on their host, grouped into islands of overlap
    SELECT *, sum(CASE WHEN prev_end2 IS NULL OR s >= prev_end2 THEN 1 ELSE 0 END)
                  OVER (PARTITION BY host ORDER BY s, e, record_id ROWS UNBOUNDED PRECEDING) AS island
    FROM (
        SELECT record_id, host, s, e, s0, e0, gpu_uj, cpu_uj, ram_uj, tok_w,
               max(e) OVER (PARTITION BY host ORDER BY s, e, record_id
                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end2
        FROM flags WHERE NOT (coalesce(prev_end <= s, true) AND coalesce(next_start >= e, true))
    )
),
multi AS (SELECT * FROM overlapping),
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
           CAST(floor(m.gpu_uj * ((g.b - g.a) / (m.e0 - m.s0)::DOUBLE)) AS BIGINT) AS gpu_c,
           CAST(floor(m.cpu_uj * ((g.b - g.a) / (m.e0 - m.s0)::DOUBLE)) AS BIGINT) AS cpu_c,
           CAST(floor(m.ram_uj * ((g.b - g.a) / (m.e0 - m.s0)::DOUBLE)) AS BIGINT) AS ram_c,
           m.tok_w * ((g.b - g.a) / (m.e0 - m.s0)::DOUBLE) AS w_raw
    FROM segs g
    JOIN multi m ON m.host = g.host AND m.island = g.island AND m.s <= g.a AND m.e >= g.b
    WHERE g.b IS NOT NULL
),
seg_tot AS (
    SELECT *,
           CAST(sum(gpu_c) OVER seg AS BIGINT) // nullif(count(gpu_c) OVER seg, 0) AS gpu_seg,
           CAST(sum(cpu_c) OVER seg AS BIGINT) // nullif(count(cpu_c) OVER seg, 0) AS cpu_seg,
           CAST(sum(ram_c) OVER seg AS BIGINT) // nullif(count(ram_c) OVER seg, 0) AS ram_seg,
           bool_and(w_raw > 0) OVER seg AS all_tok
    FROM active
    WINDOW seg AS (PARTITION BY host, island, a)
),
cum AS (
    SELECT *,
           sum(w) OVER (PARTITION BY host, island, a ORDER BY record_id ROWS UNBOUNDED PRECEDING) AS cw,
           sum(w) OVER (PARTITION BY host, island, a) AS tw,
           row_number() OVER (PARTITION BY host, island, a ORDER BY record_id DESC) = 1 AS last
    FROM (SELECT *, CASE WHEN all_tok THEN w_raw ELSE 1.0 END AS w FROM seg_tot)
),
upto AS (
    -- f(cumulative share) for time and each component; the last record of a segment takes the whole
    SELECT host, island, a, record_id,
           CASE WHEN last THEN b - a ELSE least(b - a, CAST(floor((b - a) * (cw / tw)) AS BIGINT)) END AS t_up,
           CASE WHEN last THEN gpu_seg ELSE least(gpu_seg, CAST(floor(gpu_seg * (cw / tw)) AS BIGINT)) END AS g_up,
           CASE WHEN last THEN cpu_seg ELSE least(cpu_seg, CAST(floor(cpu_seg * (cw / tw)) AS BIGINT)) END AS c_up,
           CASE WHEN last THEN ram_seg ELSE least(ram_seg, CAST(floor(ram_seg * (cw / tw)) AS BIGINT)) END AS r_up
    FROM cum
),
shares AS (
    SELECT record_id,
           t_up - lag(t_up, 1, 0) OVER w AS covered_us,
           g_up - lag(g_up, 1, 0) OVER w AS gpu_uj,
           c_up - lag(c_up, 1, 0) OVER w AS cpu_uj,
           r_up - lag(r_up, 1, 0) OVER w AS ram_uj
    FROM upto
    WINDOW w AS (PARTITION BY host, island, a ORDER BY record_id)
)
SELECT r.record_id, r.host, r.use_case, r.shared, r.gpu_method, r.cpu_method, r.ram_method, r.gpus, r.tok_w,
       x.covered_us, x.gpu_uj, x.cpu_uj, x.ram_uj
FROM (
    SELECT * FROM singles
    UNION ALL
    SELECT record_id, CAST(sum(covered_us) AS BIGINT), CAST(sum(gpu_uj) AS BIGINT), CAST(sum(cpu_uj) AS BIGINT),
           CAST(sum(ram_uj) AS BIGINT)
    FROM shares GROUP BY record_id
) x JOIN r USING (record_id);
