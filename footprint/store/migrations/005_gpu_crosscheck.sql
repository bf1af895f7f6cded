-- GPU cross-check per interval (issue 16): the energy counter against nvmlDeviceGetPowerUsage
-- integrated over the same interval. NULL: nothing cross-checked (no GPU, no counter, old records).
ALTER TABLE measurements ADD COLUMN gpu_crosscheck_ratio DOUBLE;
ALTER TABLE measurements ADD COLUMN gpu_crosscheck_disagrees BOOLEAN;
