"""The Prometheus HTTP client: chunking under the 11,000-points limit and clear errors."""

from __future__ import annotations

import http.server
import socket
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cluster_helpers import FakePrometheusAPI
from footprint.cluster.prometheus import PrometheusClient, PrometheusError, chunk_ranges
from footprint.errors import ValidationError


@pytest.fixture
def api():
    fake = FakePrometheusAPI()
    yield fake
    fake.close()


@settings(deadline=None, max_examples=60)
@given(st.integers(0, 50_000), st.sampled_from([0.5, 1, 15, 60]), st.integers(2, 12_000))
def test_chunks_cover_every_step_once_within_the_limit(steps, step_s, max_points):
    start = 1_700_000_000
    windows = chunk_ranges(start, start + steps * step_s, step_s, max_points)
    covered = []
    for a, b in windows:
        n = round((b - a) / step_s) + 1
        assert n <= max_points
        covered.extend(round((a - start) / step_s) + k for k in range(n))
    assert covered == list(range(steps + 1))


def test_a_long_range_is_queried_in_chunks_and_merged(api):
    start = 1_700_000_000
    series = PrometheusClient(api.url).query_range("DCGM_FI_DEV_POWER_USAGE", start, start + 30_000, 1)
    assert len(api.requests) == 3  # 30,001 points: 11,000 + 11,000 + 8,001
    assert len(series) == 1 and len(series[0].samples) == 30_001
    assert [t for t, _ in series[0].samples] == [start + k for k in range(30_001)]


def test_a_query_over_the_sample_limit_is_split_further(api):
    api.max_samples = 1_000
    series = PrometheusClient(api.url).query_range("DCGM", 0, 5_000, 1)
    assert [t for t, _ in series[0].samples] == list(range(5_001))
    answered = [r for r in api.requests if float(r["end"]) - float(r["start"]) < 1_000]
    assert sum(float(r["end"]) - float(r["start"]) + 1 for r in answered) == 5_001  # each step once


def test_more_points_than_prometheus_allows_is_its_error_verbatim(api):
    with pytest.raises(PrometheusError, match="rejected query .*11,000 points per timeseries"):
        PrometheusClient(api.url, max_points=50_000).query_range("DCGM", 0, 20_000, 1)


def test_rejected_query(api):
    with pytest.raises(PrometheusError, match=r"rejected query 'sum\(': 1:5: parse error"):
        PrometheusClient(api.url).query_range("sum(", 0, 10, 1)


def test_http_error_names_the_code(api):
    api.status = 503
    with pytest.raises(PrometheusError, match=r"answered HTTP 503 .*service unavailable"):
        PrometheusClient(api.url).query_range("up", 0, 10, 1)


def test_not_a_prometheus_server(api):
    with pytest.raises(PrometheusError, match="answered HTTP 404"):
        PrometheusClient(api.url + "/wrong").query_range("up", 0, 10, 1)


def test_unreachable_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    with pytest.raises(PrometheusError, match=f"cannot reach Prometheus at http://127.0.0.1:{port}"):
        PrometheusClient(f"http://127.0.0.1:{port}", timeout_s=2).query_range("up", 0, 10, 1)


def test_redirects_to_another_host_are_refused():
    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(302)
            self.send_header("Location", "http://elsewhere.example:9090/api/v1/query_range")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        with pytest.raises(PrometheusError, match="redirects to http://elsewhere.example"):
            PrometheusClient(f"http://127.0.0.1:{server.server_address[1]}").query_range("up", 0, 10, 1)
    finally:
        server.shutdown()


def test_environment_proxies_are_not_used(api, monkeypatch):
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # would fail if contacted
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert PrometheusClient(api.url).query_range("DCGM", 0, 2, 1)


@pytest.mark.parametrize("url", ["localhost:9090", "ftp://x", "", "http://"])
def test_bad_url(url):
    with pytest.raises(ValidationError, match="bad --url"):
        PrometheusClient(url)
