"""Against a real Prometheus (Debian package `prometheus`) scraping local DCGM/vLLM-format exporters.

One module-scoped server scrapes for ~25 s at 1 s; every test reads that same data. Truth:
constant GPU power and token rates, with one energy counter reset and one token counter reset.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

from footprint.cluster import PrometheusClient, PrometheusError, collect, gather, load_mapping
from footprint.cluster.collect import from_unix
from footprint.measurements import list_measurements
from footprint.register import add_use_case
from footprint.records import UseCase

from cluster_helpers import free_port, serve_metrics

W_GPU0 = 300.0  # node1 GPU 0: energy counter
W_GPU1 = 250.0  # node1 GPU 1: energy counter that resets mid-window
W_GPU2 = 150.0  # node2 GPU 2: power gauge only (pre-Volta style), pod in namespace "batch"
W_GPU3 = 90.0  # node2 GPU 3: counter, unmapped and no tokens: unallocated
OUT_A, IN_A = 100, 40  # tokens/s of model-a (use case chat) on node1
OUT_B, IN_B = 30, 10  # tokens/s of model-b (use case code) on node1, counter resets mid-window
WINDOW_S = 20
MAP = """
[[map]]
match = {model_name = "model-a"}
use_case = "chat"

[[map]]
match = {model_name = "model-b"}
use_case = "code"

[[map]]
match = {namespace = "batch"}
use_case = "batch-job"
"""


class Truth:
    def __init__(self):
        self.t0 = time.time()
        self.reset_at = self.t0 + 1e6  # set inside the window once it is known

    def node1(self, now: float) -> str:
        gpu0 = 5_000_000 + (now - self.t0) * W_GPU0 * 1000
        gpu1 = (now - self.reset_at) * W_GPU1 * 1000 if now >= self.reset_at else 9e9 + (now - self.t0) * W_GPU1 * 1000
        out_b = int((now - self.reset_at) * OUT_B) if now >= self.reset_at else 5000 + int((now - self.t0) * OUT_B)
        in_b = int((now - self.reset_at) * IN_B) if now >= self.reset_at else 700 + int((now - self.t0) * IN_B)
        dcgm = 'gpu="{g}",UUID="GPU-{u}",device="nvidia{g}",modelName="NVIDIA H100 80GB HBM3",Hostname="node1"'
        return "".join([
            "# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption since boot (in mJ).\n",
            "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter\n",
            f"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{{dcgm.format(g=0, u='aaaa')}}} {int(gpu0)}\n",
            f"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{{dcgm.format(g=1, u='bbbb')}}} {int(gpu1)}\n",
            "# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).\n# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n",
            f"DCGM_FI_DEV_POWER_USAGE{{{dcgm.format(g=0, u='aaaa')}}} {W_GPU0}\n",
            f"DCGM_FI_DEV_POWER_USAGE{{{dcgm.format(g=1, u='bbbb')}}} {W_GPU1}\n",
            "# TYPE vllm:prompt_tokens_total counter\n",
            f'vllm:prompt_tokens_total{{model_name="model-a"}} {float(int((now - self.t0) * IN_A))}\n',
            f'vllm:prompt_tokens_total{{model_name="model-b"}} {float(in_b)}\n',
            "# TYPE vllm:generation_tokens_total counter\n",
            f'vllm:generation_tokens_total{{model_name="model-a"}} {float(int((now - self.t0) * OUT_A))}\n',
            f'vllm:generation_tokens_total{{model_name="model-b"}} {float(out_b)}\n',
        ])

    def node2(self, now: float) -> str:
        k8s = 'gpu="{g}",UUID="GPU-{u}",device="nvidia{g}",Hostname="node2",container="{c}",namespace="{n}",pod="{p}"'
        return "".join([
            "# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n",
            f"DCGM_FI_DEV_POWER_USAGE{{{k8s.format(g=2, u='cccc', c='train', n='batch', p='train-0')}}} {W_GPU2}\n",
            f"DCGM_FI_DEV_POWER_USAGE{{{k8s.format(g=3, u='dddd', c='', n='', p='')}}} {W_GPU3}\n",
            "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter\n",
            f"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{{k8s.format(g=3, u='dddd', c='', n='', p='')}}} "
            f"{int(1e8 + (now - self.t0) * W_GPU3 * 1000)}\n",
        ])


@pytest.fixture(scope="module")
def prom(tmp_path_factory):
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("the `prometheus` server binary is not installed (Debian: apt-get install -y prometheus)")
    truth = Truth()
    node1, node2 = serve_metrics(truth.node1), serve_metrics(truth.node2)
    work = tmp_path_factory.mktemp("prom")
    port = free_port()
    # Bare-metal style: each target carries its machine's name as a `node` label.
    (work / "prom.yml").write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: gpu\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{node1.server_address[1]}']\n        labels: {{node: node1}}\n"
        f"      - targets: ['127.0.0.1:{node2.server_address[1]}']\n        labels: {{node: node2}}\n"
    )
    process = subprocess.Popen(
        [binary, f"--config.file={work / 'prom.yml'}", f"--web.listen-address=127.0.0.1:{port}",
         f"--storage.tsdb.path={work / 'tsdb'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # Prometheus scrapes a new target only after its ~5 s target-discovery tick: wait for samples.
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                now = time.time()
                up = PrometheusClient(url).query_range('count(up{job="gpu"} == 1)', now - 1, now, 1)
                if up and up[0].samples and up[0].samples[-1][1] == 2:
                    break
            except PrometheusError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("prometheus did not scrape the exporters within 30 s")
        # The window: whole seconds, from once both targets are scraped, read after the last scrape landed.
        a = int(time.time()) + 2
        truth.reset_at = a + 10.5
        b = a + WINDOW_S
        time.sleep(max(0.0, b + 2 - time.time()))
        yield {"url": url, "from": a, "to": b, "truth": truth}
    finally:
        process.terminate()
        process.wait(10)
        node1.shutdown()
        node2.shutdown()


@pytest.fixture
def with_use_cases(store):
    for slug in ("chat", "code", "batch-job"):
        add_use_case(store, UseCase(slug=slug, name=slug, team="platform", status="production", deployment="on-prem"))
    return store


@pytest.fixture
def mapping(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text(MAP)
    return load_mapping(path)


def _by_gpu(rows):
    out = {}
    for r in rows:
        out.setdefault(r["host"], []).append(r)
    return out


def test_energy_per_gpu_matches_truth(prom, with_use_cases, db_path, mapping):
    store = with_use_cases
    client = PrometheusClient(prom["url"])
    result = collect(lambda: _Borrowed(store), client, prom["from"], prom["to"], 1, mapping)
    assert result.added == result.records == 4 * WINDOW_S
    rows = list_measurements(store)
    gpus = _by_gpu(rows)
    assert sorted(gpus) == ["node1/GPU-aaaa", "node1/GPU-bbbb", "node2/GPU-cccc", "node2/GPU-dddd"]
    energy = {host: sum(r["gpu_j"] for r in rs) for host, rs in gpus.items()}
    assert not any(r["gpu_low_confidence"] for r in rows if r["host"] != "node1/GPU-bbbb")  # nothing filled
    # Constant power: the counter gives the truth within 1% over 20 s at 1 s scrape.
    for host, watts in (("node1/GPU-aaaa", W_GPU0), ("node2/GPU-dddd", W_GPU3), ("node2/GPU-cccc", W_GPU2)):
        assert energy[host] == pytest.approx(watts * WINDOW_S, rel=0.01), host
    # Over the reset step the power gauge stands in for the counter.
    assert energy["node1/GPU-bbbb"] == pytest.approx(W_GPU1 * WINDOW_S, rel=0.01)
    assert sum(r["gpu_low_confidence"] for r in gpus["node1/GPU-bbbb"]) == 1
    methods = {host: {r["gpu_method"] for r in rs} for host, rs in gpus.items()}
    assert methods["node1/GPU-aaaa"] == {"measured:dcgm-counter"}
    assert methods["node2/GPU-cccc"] == {"measured:dcgm-power"}
    # node1 serves two use cases (token split); node2's GPUs: one by its pod's namespace, one unallocated.
    assert {(r["use_case"], r["shared"]) for r in gpus["node1/GPU-aaaa"]} == {(None, True)}
    assert {r["use_case"] for r in gpus["node2/GPU-cccc"]} == {"batch-job"}
    assert {(r["use_case"], r["shared"]) for r in gpus["node2/GPU-dddd"]} == {(None, False)}
    assert result.unallocated_j == pytest.approx(energy["node2/GPU-dddd"])
    starts = sorted(r["start"] for r in gpus["node1/GPU-aaaa"])
    assert starts[0] == from_unix(prom["from"]) and starts[-1] == from_unix(prom["to"] - 1)


def test_tokens_split_shared_gpus_by_use_case(prom, with_use_cases, mapping):
    store = with_use_cases
    client = PrometheusClient(prom["url"])
    collect(lambda: _Borrowed(store), client, prom["from"], prom["to"], 1, mapping)
    rows = store.execute(
        "SELECT t.use_case, t.model, sum(t.input_tokens), sum(t.output_tokens) FROM interval_tokens t "
        "JOIN measurements m USING (record_id) GROUP BY ALL ORDER BY 1"
    ).fetchall()
    got = {uc: (model, int(i), int(o)) for uc, model, i, o in rows}
    assert set(got) == {"chat", "code"}
    assert got["chat"][0] == "model-a"
    # Split over the two GPUs of node1 but summing exactly to the server's counts (±1 token of rounding).
    assert abs(got["chat"][2] - OUT_A * WINDOW_S) <= 2 and abs(got["chat"][1] - IN_A * WINDOW_S) <= 2
    # model-b's counter reset loses at most one scrape's worth of tokens.
    assert OUT_B * (WINDOW_S - 1.2) - 2 <= got["code"][2] <= OUT_B * WINDOW_S + 2
    totals = store.execute("SELECT sum(output_tokens) FROM measurements WHERE host LIKE 'node1/%'").fetchone()[0]
    assert totals == got["chat"][2] + got["code"][2]


def test_recollecting_identical_overlapping_or_coarser_range_adds_nothing_twice(prom, with_use_cases, mapping):
    store = with_use_cases
    client = PrometheusClient(prom["url"])
    opener = lambda: _Borrowed(store)  # noqa: E731
    first = collect(opener, client, prom["from"], prom["to"] - 5, 1, mapping)
    total = lambda: store.execute("SELECT sum(gpu_j), count(*) FROM measurements").fetchone()  # noqa: E731
    before = total()
    again = collect(opener, client, prom["from"], prom["to"] - 5, 1, mapping)
    assert again.added == 0 and total() == before
    overlap = collect(opener, client, prom["from"] + 10, prom["to"], 1, mapping)
    assert overlap.added == 4 * 5
    coarser = collect(opener, client, prom["from"], prom["to"], 5, mapping)
    assert coarser.added == 0 and coarser.skipped_overlap == coarser.records
    energy_j, count = total()
    assert count == first.records + overlap.added
    full = gather(client, prom["from"], prom["to"], 1, mapping)[0]
    assert energy_j == pytest.approx(sum(r.gpu_j for r in full), rel=1e-9)


def test_chunked_query_equals_single_query_and_respects_points_limit(prom):
    a, b = prom["from"], prom["to"]
    whole = PrometheusClient(prom["url"]).query_range("DCGM_FI_DEV_POWER_USAGE", a, b, 1)
    chunked = PrometheusClient(prom["url"], max_points=3).query_range("DCGM_FI_DEV_POWER_USAGE", a, b, 1)
    assert chunked == whole and len(whole[0].samples) == WINDOW_S + 1
    # Prometheus itself refuses more than 11,000 points per series; the default client chunks under it.
    with pytest.raises(PrometheusError, match="11,000 points"):
        PrometheusClient(prom["url"], max_points=10**6).query_range("up", a, b, 0.001)
    assert len(PrometheusClient(prom["url"]).query_range("up", a, a + 12, 0.001)[0].samples) > 11_000


def test_rejected_query_says_what_prometheus_said(prom):
    with pytest.raises(PrometheusError, match=r"rejected query 'sum\(': .*parse error"):
        PrometheusClient(prom["url"]).query_range("sum(", prom["from"], prom["to"], 1)


def test_cli_collects_and_prints_json(prom, with_use_cases, db_path, invoke, tmp_path):
    (tmp_path / "map.toml").write_text(MAP)
    args = ["collect", "prometheus", "--url", prom["url"], "--from", str(prom["from"]),
            "--to", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(prom["to"])), "--step", "1",
            "--config", str(tmp_path / "map.toml"), "--json"]
    with_use_cases.close()
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["records"] == data["added"] == 4 * WINDOW_S
    assert data["methods"] == {"measured:dcgm-counter": 3 * WINDOW_S, "measured:dcgm-power": WINDOW_S}
    again = invoke(*args)
    assert again.exit_code == 0 and json.loads(again.output)["added"] == 0


class _Borrowed:
    """An already open store handed to collect() as if freshly opened (one DuckDB writer per file)."""

    def __init__(self, store):
        self.store = store

    def __enter__(self):
        return self.store

    def __exit__(self, *exc):
        return False
