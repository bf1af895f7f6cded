"""Grafana dashboards shipped with footprint (JSON, importable as they are)."""
