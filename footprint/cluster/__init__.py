"""Cluster energy from Prometheus: DCGM exporter / Kepler GPU energy and vLLM/SGLang tokens."""

from footprint.cluster.collect import CollectResult, collect, gather, last_collected, watch, write
from footprint.cluster.mapping import Mapping, load_mapping
from footprint.cluster.prometheus import PrometheusClient, PrometheusError

__all__ = [
    "CollectResult", "Mapping", "PrometheusClient", "PrometheusError",
    "collect", "gather", "last_collected", "load_mapping", "watch", "write",
]
