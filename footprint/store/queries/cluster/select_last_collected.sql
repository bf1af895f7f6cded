-- Where the last Prometheus collection stopped (a watch resumes from there).
SELECT max(end_ts) AS last_end FROM measurements WHERE source = 'prometheus'
