"""Three real `monitor --listen` processes, a real Prometheus scraping them at 1 s, `collect prometheus` centrally.

Each monitor plays one host: sitecustomize.py (on PYTHONPATH, in the monitors only) gives it its own
machine name and a fake NVML GPU drawing constant power, at the pynvml module boundary. Host A serves
tokens (a vLLM-format endpoint in this process) and is restarted mid-window; host C spools into the
central database itself, so its energy reaches it twice (spool and Prometheus) and must count once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from footprint.accounting import account
from footprint.cluster import PrometheusClient, PrometheusError
from footprint.cluster.collect import from_unix
from footprint.periods import Period
from footprint.store import open_store

from cluster_helpers import free_port, serve_metrics

EXE = str(Path(sys.executable).parent / "footprint")
import footprint.dashboards

DASHBOARD = Path(footprint.dashboards.__file__).parent / "footprint.json"  # as installed
HOSTS = {  # name: (use case, fake GPU watts, database: own or central)
    "node-a": ("chat", 300.0, "own"),
    "node-b": ("code", 200.0, "own"),
    "node-c": ("chat", 250.0, "central"),
}
OUT_PER_S, IN_PER_S = 50, 20  # tokens/s served on node-a
WINDOW_S = 30
RESTART_AT_S = 12

SITECUSTOMIZE = r'''
import os, socket, time
if os.environ.get("FAKE_HOSTNAME"):
    socket.gethostname = lambda: os.environ["FAKE_HOSTNAME"]
if os.environ.get("FAKE_GPU_WATTS"):
    import pynvml
    _watts = float(os.environ["FAKE_GPU_WATTS"])
    _boot = time.time() - 1000.0
    def _fail(*_a):
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
    for _name, _fn in {
        "nvmlInit": lambda: None, "nvmlShutdown": lambda: None,
        "nvmlSystemGetDriverVersion": lambda: "570.86.15", "nvmlSystemGetNVMLVersion": lambda: "12.570.86.15",
        "nvmlDeviceGetCount": lambda: 1, "nvmlDeviceGetHandleByIndex": lambda i: i,
        "nvmlDeviceGetUUID": lambda h: "GPU-" + os.environ["FAKE_HOSTNAME"],
        "nvmlDeviceGetName": lambda h: "NVIDIA H100 80GB HBM3",
        "nvmlDeviceGetTotalEnergyConsumption": lambda h: int((time.time() - _boot) * _watts * 1000),
        "nvmlDeviceGetPowerUsage": lambda h: int(_watts * 1000),
        "nvmlDeviceGetFieldValues": _fail,
    }.items():
        setattr(pynvml, _name, _fn)
'''


def _vllm_endpoint(t0: float):
    def render(now: float) -> str:
        dt = now - t0
        return ("# TYPE vllm:prompt_tokens_total counter\n"
                f'vllm:prompt_tokens_total{{model_name="m-chat"}} {float(int(dt * IN_PER_S))}\n'
                "# TYPE vllm:generation_tokens_total counter\n"
                f'vllm:generation_tokens_total{{model_name="m-chat"}} {float(int(dt * OUT_PER_S))}\n')

    return serve_metrics(render)


def _add_use_cases(env, *slugs):
    for slug in slugs:
        subprocess.run([EXE, "usecase", "add", slug, "--name", slug, "--team", "Platform", "--status", "production",
                        "--deployment", "on-prem"], env=env, check=True, capture_output=True)


def _intervals_served(port: int) -> bool:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return False
    return "footprint_intervals_total{" in text


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.time() + seconds
    while not predicate():
        if time.time() > deadline:
            pytest.fail(f"{what} within {seconds:g} s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("the `prometheus` server binary is not installed (Debian: apt-get install -y prometheus)")
    work = tmp_path_factory.mktemp("many-hosts")
    (work / "site").mkdir()
    (work / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    base = {**os.environ, "FOOTPRINT_CACHE_DIR": str(tmp_path_factory.getbasetemp() / "footprint-cpu-cache")}
    base.pop("CUDA_VISIBLE_DEVICES", None)
    central = work / "central.duckdb"
    central_env = {**base, "FOOTPRINT_DB": str(central)}
    _add_use_cases(central_env, "chat", "code")
    vllm = _vllm_endpoint(time.time())
    hosts = {}
    for name, (use_case, watts, where) in HOSTS.items():
        db = central if where == "central" else work / f"{name}.duckdb"
        env = {**base, "FOOTPRINT_DB": str(db), "FAKE_HOSTNAME": name, "FAKE_GPU_WATTS": str(watts),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(work / "site"), base.get("PYTHONPATH")]))}
        if where == "own":
            _add_use_cases(env, use_case)
        listen = free_port()
        argv = [EXE, "monitor", "--use-case", use_case, "--interval", "1", "--listen", f"127.0.0.1:{listen}"]
        if name == "node-a":
            argv += ["--metrics-url", f"http://127.0.0.1:{vllm.server_address[1]}/metrics"]
        hosts[name] = {"db": db, "env": env, "argv": argv, "port": listen}
    port = free_port()
    targets = ", ".join(f"'127.0.0.1:{h['port']}'" for h in hosts.values())
    (work / "prom.yml").write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: footprint\n"
        f"    static_configs:\n      - targets: [{targets}]\n")
    prometheus = subprocess.Popen(
        [binary, f"--config.file={work / 'prom.yml'}", f"--web.listen-address=127.0.0.1:{port}",
         f"--storage.tsdb.path={work / 'tsdb'}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = {}

    def start(name):
        procs[name] = subprocess.Popen(hosts[name]["argv"], env=hosts[name]["env"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)

    def stop(name):
        procs[name].send_signal(signal.SIGTERM)
        _out, err = procs[name].communicate(timeout=30)
        assert procs[name].returncode == 0, err

    url = f"http://127.0.0.1:{port}"
    client = PrometheusClient(url)

    def all_scraped():
        try:
            now = time.time()
            got = client.query("count(count by (host) (footprint_intervals_total))", now)
            return bool(got) and got[0].samples[0][1] == len(HOSTS)
        except PrometheusError:
            return False

    try:
        for name in hosts:
            start(name)
        for name in hosts:
            _wait(lambda: _intervals_served(hosts[name]["port"]), 40, f"{name} served no interval")
        _wait(all_scraped, 30, "prometheus did not scrape the three monitors")
        a = int(time.time()) + 1
        b = a + WINDOW_S
        time.sleep(max(0.0, a + RESTART_AT_S - time.time()))
        stop("node-a")
        start("node-a")  # same port: the target Prometheus knows; the counters resume from the totals file
        _wait(lambda: _intervals_served(hosts["node-a"]["port"]), 40, "node-a served nothing after its restart")
        time.sleep(max(0.0, b + 2.5 - time.time()))  # the last step's scrape has landed
        for name in hosts:
            stop(name)
        yield {"url": url, "client": client, "from": a, "to": b, "hosts": hosts, "central": central,
               "central_env": central_env}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        prometheus.terminate()
        prometheus.wait(10)
        vllm.shutdown()


def _clipped_j(rows, a: datetime, b: datetime) -> float:
    """Energy of records inside [a, b], each prorated by its overlap (the accounting's rule)."""
    total = 0.0
    for start, end, gpu, cpu, ram in rows:
        overlap = (min(end, b) - max(start, a)).total_seconds()
        if overlap > 0 and end > start:
            total += ((gpu or 0) + (cpu or 0) + (ram or 0)) * overlap / (end - start).total_seconds()
    return total


def _energy_rows(store, host: str, prometheus: bool):
    sql = ("SELECT start_ts, end_ts, gpu_j, cpu_j, ram_j FROM measurements WHERE host = $host AND "
           + ("source = 'prometheus'" if prometheus else "source <> 'prometheus'"))
    return store.execute(sql, {"host": host}).fetchall()


def _collect(cluster, start: float, end: float) -> dict:
    done = subprocess.run([EXE, "collect", "prometheus", "--url", cluster["url"], "--from", str(start),
                           "--to", str(end), "--step", "1", "--json"], env=cluster["central_env"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def collected(cluster):
    a, b = cluster["from"], cluster["to"]
    window = Period("window", from_unix(a), from_unix(b))
    with open_store(cluster["central"]) as store:  # drains node-c's spool: its own report
        own_c = account(store, window)
    runs = [_collect(cluster, a, a + 20), _collect(cluster, a + 10, b), _collect(cluster, a, b)]
    return {"runs": runs, "own_c": own_c, "window": window}


def test_each_hosts_energy_matches_its_own_spool_and_nothing_twice(cluster, collected):
    a, b = from_unix(cluster["from"]), from_unix(cluster["to"])
    runs = collected["runs"]
    assert [r["footprint_hosts"] for r in runs] == [3, 3, 3]
    # the second window overlaps the first by 10 s: only its new steps were stored; the third adds nothing
    assert runs[0]["added"] + runs[1]["added"] == runs[2]["records"] and runs[2]["added"] == 0
    assert runs[1]["added"] < runs[1]["records"]
    with open_store(cluster["central"]) as central:
        count, distinct = central.execute(
            "SELECT count(*), count(DISTINCT (host, start_ts)) FROM measurements WHERE source = 'prometheus'"
        ).fetchone()
        assert count == distinct <= len(HOSTS) * WINDOW_S  # one record per host and step, never two
        for name, (_uc, _w, where) in HOSTS.items():
            collected_j = _clipped_j(_energy_rows(central, name, prometheus=True), a, b)
            if where == "central":
                spooled_j = _clipped_j(_energy_rows(central, name, prometheus=False), a, b)
            else:
                with open_store(cluster["hosts"][name]["db"]) as own:
                    spooled_j = _clipped_j(_energy_rows(own, name, prometheus=False), a, b)
            assert spooled_j > 0.9 * HOSTS[name][1] * WINDOW_S * (0.8 if name == "node-a" else 1.0)
            print(f"{name}: collected {collected_j:.1f} J, spooled {spooled_j:.1f} J, ratio {collected_j / spooled_j:.6f}")
            # 2% as the issue asks, the restarted host too: collect places each counter's growth on the time
            # its monitor measured it (the exporter's counted-until and start-time gauges), not on the
            # scrape's step, so neither the restart nor the scrapes' phase moves energy across the window.
            assert collected_j == pytest.approx(spooled_j, rel=0.02), name
        # node-a's tokens came through its exporter: per step, as its spool has them
        tokens = central.execute("SELECT sum(output_tokens) FROM measurements WHERE host = 'node-a' "
                                 "AND source = 'prometheus'").fetchone()[0]
        assert tokens == pytest.approx(OUT_PER_S * WINDOW_S, rel=0.25)  # minus the restart's missed scrapes


def test_the_central_report_equals_the_sum_of_the_hosts_own_reports(cluster, collected):
    window = collected["window"]
    with open_store(cluster["central"]) as central:
        whole = account(central, window)
    own = [collected["own_c"]]
    for name in ("node-a", "node-b"):
        with open_store(cluster["hosts"][name]["db"]) as store:
            own.append(account(store, window))

    def it_kwh(acc, slug=None):
        if slug is None:
            return acc.totals.it_energy_kwh.value
        return sum(u.impacts.it_energy_kwh.value for u in acc.use_cases if u.use_case.slug == slug)

    print(f"central report {it_kwh(whole) * 3.6e6:.1f} J, hosts' own reports {sum(it_kwh(acc) for acc in own) * 3.6e6:.1f} J")
    assert it_kwh(whole) == pytest.approx(sum(it_kwh(acc) for acc in own), rel=0.02)
    for slug in ("chat", "code"):
        assert it_kwh(whole, slug) == pytest.approx(sum(it_kwh(acc, slug) for acc in own), rel=0.02), slug
    assert whole.totals.gco2e.value == pytest.approx(sum(acc.totals.gco2e.value for acc in own), rel=0.02)
    assert whole.conservation.measured_uj == pytest.approx(sum(acc.conservation.measured_uj for acc in own), rel=0.02)


def test_the_dashboards_promql_answers_on_the_real_prometheus(cluster, collected):
    dashboard = json.loads(DASHBOARD.read_text())
    a, b = cluster["from"], cluster["to"]
    values = {"$__rate_interval": "4s", "$__range": f"{b - a}s", "$pue": "1.5", "$grid_gco2e_per_kwh": "56"}
    answers = {}
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"]
            for name, value in values.items():
                expr = expr.replace(name, value)
            assert "$" not in expr, expr
            result = cluster["client"].query(expr, b)
            assert result, f"{panel['title']}: no series for {expr}"
            answers[panel["title"]] = {dict(s.labels).get("use_case"): s.samples[0][1] for s in result}
    with open_store(cluster["central"]) as central:
        by_uc = dict(central.execute(
            "SELECT use_case, sum(coalesce(gpu_j, 0) + coalesce(cpu_j, 0) + coalesce(ram_j, 0)) FROM measurements "
            "WHERE source = 'prometheus' GROUP BY use_case").fetchall())
        out_tokens = central.execute("SELECT sum(output_tokens) FROM measurements WHERE source = 'prometheus'").fetchone()[0]
    # increase() extrapolates to the range's edges: close to the collected energy, not equal
    energy = answers["Energy per use case over the range (kWh, facility)"]
    for slug in ("chat", "code"):
        assert energy[slug] == pytest.approx(by_uc[slug] / 3.6e6 * 1.5, rel=0.1), slug
    carbon = answers["Carbon per use case over the range (gCO2e)"]
    assert carbon["chat"] == pytest.approx(energy["chat"] * 56, rel=1e-6)
    j_per_token = answers["Energy per output token over the range (J/token)"]
    assert set(j_per_token) == {"chat"}  # code serves no tokens: no division by zero shown as a value
    assert j_per_token["chat"] == pytest.approx(by_uc["chat"] / out_tokens, rel=0.15)
    power = answers["Power per use case (W, IT)"]
    assert power["code"] == pytest.approx(HOSTS["node-b"][1], rel=0.25)  # GPU + modelled CPU/RAM
