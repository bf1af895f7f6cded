"""Helpers for the cluster tests: turn exposition text into query_range answers (as Prometheus would)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def scrapes_to_matrix(scrapes: list[tuple[float, str]], names: set[str] | None = None) -> dict:
    """A query_range answer for scrapes taken exactly at the steps: [(unix_s, exposition text)]."""
    series: dict[tuple, list] = {}
    for ts, text in scrapes:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if names is not None and sample.name not in names:
                    continue
                key = tuple(sorted({**sample.labels, "__name__": sample.name}.items()))
                series.setdefault(key, []).append([ts, repr(float(sample.value))])
    result = [{"metric": dict(key), "values": values} for key, values in sorted(series.items())]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


def with_value(text: str, metric: str, value: float) -> str:
    """The exposition text with every sample of `metric` set to `value`."""
    out = []
    for line in text.splitlines():
        if line.startswith(metric + "{") or line.startswith(metric + " "):
            line = line.rsplit(" ", 1)[0] + f" {value!r}"
        out.append(line)
    return "\n".join(out) + "\n"


import http.server
import json
import socket
import threading
import time
import urllib.parse


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_metrics(render) -> http.server.ThreadingHTTPServer:
    """A /metrics endpoint on a loopback port whose text is `render(now)` at each scrape (an exporter)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = render(time.time()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


class FakePrometheusAPI:
    """A local stand-in for Prometheus' query_range endpoint with synthetic, exactly known series.

    GPU "GPU-x" on node "n1" draws `watts` constantly (DCGM counter, mJ); a vLLM server on n1 serves
    `tokens_per_s` generation tokens of model "m". It refuses, as Prometheus does, more than
    11,000 points per series, and answers `status` (an HTTP code) to every request when set.
    """

    def __init__(self, watts: float = 200.0, tokens_per_s: float = 10.0):
        self.watts, self.tokens_per_s = watts, tokens_per_s
        self.requests: list[dict] = []
        self.status: int | None = None
        self.max_samples: int | None = None  # like Prometheus' --query.max-samples
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()}
                code, body = fake.answer(self.path, form)
                data = json.dumps(body).encode() if isinstance(body, dict) else body
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, form: dict):
        self.requests.append(form)
        if self.status is not None:
            return self.status, b"<html>service unavailable</html>"
        if path != "/api/v1/query_range":
            return 404, b"404 page not found"
        query, start, end, step = form["query"], float(form["start"]), float(form["end"]), float(form["step"])
        if query.startswith("sum("):
            return 400, {"status": "error", "errorType": "bad_data",
                         "error": '1:5: parse error: unexpected end of input'}
        points = int(round((end - start) / step)) + 1
        if self.max_samples is not None and points > self.max_samples:
            return 422, {"status": "error", "errorType": "execution",
                         "error": "query processing would load too many samples into memory in query execution"}
        if points - 1 > 11_000:
            return 400, {"status": "error", "errorType": "bad_data", "error": "exceeded maximum resolution of "
                         "11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}
        times = [start + k * step for k in range(points)]
        if "DCGM" in query:
            metric = {"__name__": "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "gpu": "0", "UUID": "GPU-x",
                      "Hostname": "n1", "instance": "10.0.0.1:9400", "job": "dcgm"}
            values = [[t, str(1e9 + self.watts * t * 1000)] for t in times]
        else:
            metric = {"__name__": "vllm:generation_tokens_total", "model_name": "m", "node": "n1",
                      "instance": "10.0.0.1:8000", "job": "vllm"}
            values = [[t, str(float(int(self.tokens_per_s * t)))] for t in times]
        return 200, {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": metric, "values": values}]}}

    def close(self):
        self.server.shutdown()
        self.server.server_close()
