-- Per host: time covered by measurements in the period (µs, overlaps counted once) and GPU count.
SELECT host, sum(covered_us) AS covered_us, max(gpus) AS gpus
FROM fp_allot
GROUP BY host
ORDER BY host;
