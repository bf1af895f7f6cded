-- Per host: time covered by measurements in the period (µs, overlaps counted once) and GPU count.
SELECT m.host,
       sum(f.covered_us) AS covered_us,
       max(CASE WHEN m.gpu_devices IS NOT NULL AND m.gpu_devices <> '' THEN len(string_split(m.gpu_devices, ','))
                WHEN coalesce(m.gpu_j, 0) > 0 THEN 1 ELSE 0 END) AS gpus
FROM fp_allot f JOIN measurements m USING (record_id)
GROUP BY m.host
ORDER BY m.host;
