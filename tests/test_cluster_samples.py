"""Cluster parsing on real recorded formats (../shared/data/formats): DCGM, Kepler, vLLM, query_range."""

from __future__ import annotations

import csv
import json

import pytest

from conftest import shared_format
from cluster_helpers import scrapes_to_matrix, with_value
from footprint.cluster.collect import build_records
from footprint.cluster.energy import (
    DCGM_COUNTER,
    DCGM_POWER,
    KEPLER_GPU,
    TOKEN_METRICS,
    energy_units,
    token_series,
)
from footprint.cluster.mapping import parse_mapping
from footprint.cluster.prometheus import parse_matrix, parse_results


def test_query_range_response_from_the_prometheus_docs():
    payload = json.loads(shared_format("prometheus_query_range_response.json").read_text())
    series = parse_matrix(payload, "up")
    assert [s.label_dict()["job"] for s in series] == ["prometheus", "node"]
    assert series[0].name == "up"
    assert series[1].samples == ((1435781430.781, 0.0), (1435781445.781, 0.0), (1435781460.781, 1.0))


def test_dcgm_default_counters_table_names_our_metrics_and_units():
    rows = {}
    for row in csv.reader(shared_format("dcgm_exporter_default_counters.csv").read_text().splitlines()):
        if row and not row[0].lstrip().startswith("#") and len(row) >= 3:
            rows[row[0].strip()] = (row[1].strip(), row[2].strip())
    assert rows[DCGM_COUNTER][0] == "counter" and "(in mJ)" in rows[DCGM_COUNTER][1]
    assert rows[DCGM_POWER][0] == "gauge" and "(in W)" in rows[DCGM_POWER][1]


def test_dcgm_mig_scrape_gives_one_gpu_with_counter_energy():
    text = shared_format("dcgm_metrics_mig_nvidia_docs.prom").read_text()
    first = 319159391  # mJ in the sample
    later = with_value(text, DCGM_COUNTER, first + 409_692 * 15)  # 15 s at the sample's 409.692 W
    matrix = scrapes_to_matrix([(1_000_000_005, text), (1_000_000_020, later)])
    units = energy_units(parse_matrix(matrix), 15)
    assert len(units) == 1  # the MIG instances carry no energy fields; power is not double counted
    unit = units[0]
    assert unit.method == "measured:dcgm-counter"
    assert unit.steps == {66_666_667: (pytest.approx(409.692 * 15), False)}
    mapping = parse_mapping({"map": [{"match": {"Hostname": "ub20-a100-k8s"}, "use_case": "lab"}]})
    (record,) = build_records(units, [], mapping, 15, 0, 10**12)
    assert record.use_case == "lab" and record.host == "ub20-a100-k8s/GPU-34319582-d595-d1c7-d1d2-179bcfa61660"
    assert record.gpu_devices == "GPU-34319582-d595-d1c7-d1d2-179bcfa61660"
    assert record.record_id.endswith("-1000000005000")


def test_kepler_gpu_joules_per_container_mapped_by_workload_namespace():
    data = json.loads(shared_format("kepler_prometheus_query_range_results.json").read_text())
    series = parse_results(data[KEPLER_GPU[0]])
    units = energy_units(series, 1)
    assert units and {u.method for u in units} == {"measured:kepler"}
    # dynamic and idle parts of one container are one unit; the sum over steps is the counters' increase
    expected = sum(s.samples[-1][1] - s.samples[0][1] for s in series)
    assert sum(j for u in units for j, _ in u.steps.values()) == pytest.approx(expected)
    assert len(units) == len({tuple(sorted((k, v) for k, v in s.label_dict().items() if k not in ("__name__", "mode")))
                              for s in series})
    # Kepler 0.7 names the workload's namespace container_namespace; `namespace` is the exporter's own.
    mapping = parse_mapping({"map": [{"match": {"namespace": "gpu-operator"}, "use_case": "ops"}]})
    first = min(i for u in units for i in u.steps)
    records = build_records(units, [], mapping, 1, first, 10**12)
    namespaces = {u.labels.get("container_namespace") for u in units}
    assert {r.use_case for r in records} == ({"ops", None} if namespaces - {"gpu-operator"} else {"ops"})
    assert all(r.host.startswith("kind-fms-control-plane/") for r in records)


def test_kepler_is_ignored_when_dcgm_measures_the_gpus():
    data = json.loads(shared_format("kepler_prometheus_query_range_results.json").read_text())
    text = shared_format("dcgm_metrics_mig_nvidia_docs.prom").read_text()
    dcgm = parse_matrix(scrapes_to_matrix([(1702462599, text), (1702462614, text)]))
    units = energy_units(dcgm + parse_results(data[KEPLER_GPU[0]]), 1)
    assert {u.method for u in units} == {"measured:dcgm-counter"}


def test_vllm_scrape_tokens_per_model():
    text = shared_format("vllm_metrics_v0_qwen2.5-coder.prom").read_text()
    later = with_value(with_value(text, "vllm:prompt_tokens_total", 148 + 60), "vllm:generation_tokens_total", 955 + 400)
    later = with_value(later, "vllm:request_success_total", 6)
    matrix = scrapes_to_matrix([(60, text), (120, later)], names=set(TOKEN_METRICS))
    tokens = token_series(parse_matrix(matrix), 60)
    got = {t.field: (t.model, t.steps) for t in tokens}
    assert got == {
        "input_tokens": ("Qwen/Qwen2.5-Coder-1.5B-Instruct", {1: 60}),
        "output_tokens": ("Qwen/Qwen2.5-Coder-1.5B-Instruct", {1: 400}),
        "requests": ("Qwen/Qwen2.5-Coder-1.5B-Instruct", {1: 2}),
    }
