"""Many hosts: the exporter's cost beside plain `monitor`, and `collect prometheus` over 50 hosts x a quarter.

1. `monitor --interval 1 --listen` scraped every second (as Prometheus would) against a plain
   `monitor --interval 1` running at the same time: CPU share of one core and RSS of each.
2. `footprint collect prometheus --step 60` of 50 hosts' footprint series over one quarter (91 days,
   131,040 steps, 6.55M records) against a bare fetch of the same range queries (the HTTP client
   alone, no records). The Prometheus side is a local HTTP server answering `query_range` with
   synthetic footprint series (GPU, CPU and RAM counters + output tokens per host, and the exporter's
   start-time and counted-until gauges for a reader that asks for them), each answer
   generated once and cached so both sides read the same bytes at the same cost; a real Prometheus
   with a backfilled quarter for 200 series is 26M samples (about 1 GB of OpenMetrics to backfill),
   more than this 2-core machine gives a benchmark.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

from common import footprint_exe, measure_side_by_side, median, row, run_measuring_peak_rss_mb

DAY_S = 86400


def _env(tmp: str, name: str) -> dict:
    env = {**os.environ, "FOOTPRINT_DB": os.path.join(tmp, f"{name}.duckdb"), "FOOTPRINT_CACHE_DIR": os.path.join(tmp, "cache")}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    subprocess.run([footprint_exe(), "usecase", "add", "bench", "--name", "Bench", "--team", "T", "--status", "pilot",
                    "--deployment", "on-prem"], env=env, check=True, capture_output=True)
    return env


def exporter_cost(seconds: float = 60.0, warmup_s: float = 5.0) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        plain_env, listen_env = _env(tmp, "plain"), _env(tmp, "listen")
        subprocess.run([footprint_exe(), "run", "--use-case", "bench", "--", "true"], env=plain_env, check=True,
                       capture_output=True)  # fills the CPU profile cache both share
        port = _free_port()
        plain = subprocess.Popen([footprint_exe(), "monitor", "--use-case", "bench", "--interval", "1"], env=plain_env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        listen = subprocess.Popen([footprint_exe(), "monitor", "--use-case", "bench", "--interval", "1", "--listen",
                                   str(port)], env=listen_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stop = threading.Event()
        scrapes = [0]

        def scrape():
            while not stop.wait(1.0):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
                    scrapes[0] += 1
                except OSError:
                    pass

        scraper = threading.Thread(target=scrape, daemon=True)
        scraper.start()
        try:
            share, rss = measure_side_by_side([plain, listen], seconds, warmup_s)
        finally:
            stop.set()
    l_cpu, p_cpu = share[listen.pid], share[plain.pid]
    l_rss, p_rss = rss[listen.pid], rss[plain.pid]
    return [
        row(f"exporter: monitor --interval 1 --listen, scraped at 1 s ({scrapes[0]} scrapes), CPU over {seconds:g} s",
            l_cpu, "% of one core", "< 0.5% (the sidecar budget)", l_cpu < 0.5,
            reference=p_cpu, ratio=l_cpu / p_cpu if p_cpu else None),
        row("exporter: monitor --listen RSS", l_rss, "MB", "<= plain monitor + 20 MB", l_rss <= p_rss + 20,
            reference=p_rss, ratio=l_rss / p_rss),
    ]


def scrape_cost(scrapes: int = 300) -> float:
    """Server CPU ms per /metrics answer, in-process and hot: an Exporter with one host's totals, scraped
    back to back by a child process (the server's RUSAGE_SELF holds its serving thread, and any thread a
    request would start)."""
    import resource
    from datetime import datetime, timedelta
    from pathlib import Path

    from footprint.exporter import Exporter
    from footprint.records import IntervalRecord, TokenCount

    def cpu_s() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    start = datetime(2026, 7, 1, 12, 0, 0)
    record = IntervalRecord(
        record_id="host1:1:1:0", use_case="bench", host="host1", start=start, end=start + timedelta(seconds=1),
        source="monitor", gpu_j=300.0, cpu_j=20.0, ram_j=5.0, gpu_method="measured:nvml-counter",
        cpu_method="modelled:cpu-load-tdp", ram_method="modelled:ram",
        tokens=(TokenCount(use_case="bench", model="model", input_tokens=10, output_tokens=40, requests=1),),
    )
    with tempfile.TemporaryDirectory() as tmp:
        exporter = Exporter("127.0.0.1:0", Path(tmp), "bench").start()
        exporter.add(record)  # one host's totals, as a monitor's first interval leaves them; starts serving
        client = (f"import urllib.request\nfor _ in range({scrapes}):\n"
                  f"    urllib.request.urlopen(urllib.request.Request({exporter.url!r}, "
                  "headers={'Accept-Encoding': 'gzip'})).read()\n")
        try:
            before = cpu_s()
            subprocess.run([sys.executable, "-c", client], check=True)
            return (cpu_s() - before) / scrapes * 1000.0
        finally:
            exporter.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SyntheticFootprintPrometheus:
    """query_range answers for `hosts` monitors: counters growing at constant power / token rates."""

    def __init__(self, hosts: int):
        self.hosts = hosts
        self.cache: dict[tuple, bytes] = {}
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()}
                body = fake.answer(form) if self.path == "/api/v1/query_range" else b'{"status":"error","error":"?"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, form: dict) -> bytes:
        key = (form["query"], form["start"], form["end"], form["step"])
        with self.lock:
            if key not in self.cache:
                self.cache[key] = self._render(*key)
            return self.cache[key]

    def _render(self, query: str, start: str, end: str, step: str) -> bytes:
        start_s, end_s, step_s = float(start), float(end), float(step)
        times = [start_s + k * step_s for k in range(int(round((end_s - start_s) / step_s)) + 1)]
        result = []
        if "footprint_" in query:
            for h in range(self.hosts):
                host, instance = f"gpu-node-{h:02d}", f"10.0.{h // 250}.{h % 250}:9464"
                base = {"job": "footprint", "instance": instance}
                for component, method, watts in (("gpu", "measured:nvml-counter", 300.0 + h),
                                                 ("cpu", "modelled:cpu-load-tdp", 40.0), ("ram", "modelled:ram", 20.0)):
                    labels = {"__name__": "footprint_energy_joules_total", **base, "use_case": f"uc{h % 5}",
                              "component": component, "method": method, "host": host}
                    result.append({"metric": labels, "values": [[t, repr(watts * (t - 1.7e9))] for t in times]})
                labels = {"__name__": "footprint_tokens_total", **base, "use_case": f"uc{h % 5}", "model": "m",
                          "kind": "output"}
                result.append({"metric": labels, "values": [[t, repr(float(int(50 * (t - 1.7e9))))] for t in times]})
                if "footprint_exporter_" in query:  # the gauges that date the counters (a reader that asks for them)
                    for name, values in (("footprint_exporter_start_time_seconds", [1.7e9] * len(times)),
                                         ("footprint_exporter_counted_until_seconds", [t - 7.5 for t in times])):
                        labels = {"__name__": name, **base, "use_case": f"uc{h % 5}", "host": host}
                        result.append({"metric": labels, "values": [[t, repr(v)] for t, v in zip(times, values)]})
        return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}).encode()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def collect_cost(hosts: int = 50, days: int = 91, step_s: float = 60.0) -> list[dict]:
    from footprint.cluster import PrometheusClient
    from footprint.cluster.collect import CHUNK_STEPS
    from footprint.cluster.energy import ENERGY_QUERY, TOKEN_QUERY
    from footprint.cluster.own import OWN_QUERY

    fake = SyntheticFootprintPrometheus(hosts)
    start_s = 1_780_272_000  # 2026-06-01 00:00 UTC, on the 60 s grid
    end_s = start_s + days * DAY_S
    client = PrometheusClient(fake.url, timeout_s=600)
    try:
        first, last = int(start_s // step_s), int(end_s // step_s)

        def bare() -> float:
            t = time.perf_counter()
            for a in range(first, last, CHUNK_STEPS):  # the windows collect asks for, answers parsed
                b = min(a + CHUNK_STEPS, last)
                for query in (ENERGY_QUERY, TOKEN_QUERY, OWN_QUERY):
                    client.query_range(query, a * step_s, b * step_s, step_s)
            return time.perf_counter() - t

        bare()  # renders and caches every answer: both sides then read the same bytes
        bare_s = median([bare() for _ in range(2)])
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "FOOTPRINT_DB": os.path.join(tmp, "central.duckdb")}
            argv = [footprint_exe(), "collect", "prometheus", "--url", fake.url, "--from", str(start_s), "--to",
                    str(end_s), "--step", str(int(step_s)), "--json"]
            collect_s, peak_mb = run_measuring_peak_rss_mb(argv, env=env)
            again_s, _ = run_measuring_peak_rss_mb(argv, env=env)  # the same window again: nothing added
    finally:
        fake.close()
    steps = int((end_s - start_s) // step_s)
    label = f"{hosts} hosts x {days} days at {step_s:g} s ({hosts * steps:,} records)"
    return [
        row(f"collect prometheus: {label}", collect_s, "s", "<= 10x the bare queries", collect_s <= 10 * bare_s,
            reference=bare_s, ratio=collect_s / bare_s),
        row("collect prometheus: the same window again (all present)", again_s, "s", "informative", True,
            reference=bare_s, ratio=again_s / bare_s),
        row("collect prometheus: peak RSS", peak_mb, "MB", "< 4096 MB", peak_mb < 4096),
    ]


def run(quick: bool = False) -> list[dict]:
    rows = exporter_cost(seconds=15 if quick else 60)
    rows += collect_cost(days=7 if quick else 91)
    return rows


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import print_table

    print_table(run(quick="--quick" in sys.argv))
