"""Tokens served, scraped from real HTTP servers on 127.0.0.1 in vLLM, SGLang, llama.cpp and TGI formats."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import shared_format
from footprint.collectors.tokens import CounterDeltas, TokenScraper, parse_counters, parse_mapping, token_counts
from footprint.errors import ValidationError


def vllm_page(model_counts):
    lines = ["# HELP vllm:prompt_tokens_total Number of prefill tokens processed.",
             "# TYPE vllm:prompt_tokens_total counter"]
    lines += [f'vllm:prompt_tokens_total{{model_name="{m}"}} {c[0]}.0' for m, c in model_counts.items()]
    lines += ["# TYPE vllm:generation_tokens_total counter"]
    lines += [f'vllm:generation_tokens_total{{model_name="{m}"}} {c[1]}.0' for m, c in model_counts.items()]
    lines += ["# TYPE vllm:request_success_total counter"]
    for m, c in model_counts.items():
        lines.append(f'vllm:request_success_total{{finished_reason="stop",model_name="{m}"}} {c[2]}.0')
        lines.append(f'vllm:request_success_total{{finished_reason="length",model_name="{m}"}} 1.0')
    return "\n".join(lines) + "\n"


def sglang_page(p, g, r):
    return (
        "# TYPE sglang:prompt_tokens_total counter\n"
        f'sglang:prompt_tokens_total{{model_name="meta-llama/Llama-3.1-8B-Instruct"}} {p:e}\n'
        "# TYPE sglang:generation_tokens_total counter\n"
        f'sglang:generation_tokens_total{{model_name="meta-llama/Llama-3.1-8B-Instruct"}} {g:e}\n'
        "# TYPE sglang:num_requests_total counter\n"
        f'sglang:num_requests_total{{model_name="meta-llama/Llama-3.1-8B-Instruct"}} {r}\n'
        "# TYPE sglang:token_usage gauge\n"
        'sglang:token_usage{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.28\n'
    )


def llamacpp_page(p, g):
    return (
        "# TYPE llamacpp:prompt_tokens_total counter\n"
        f"llamacpp:prompt_tokens_total {p}\n"
        "# TYPE llamacpp:tokens_predicted_total counter\n"
        f"llamacpp:tokens_predicted_total {g}\n"
        "# TYPE llamacpp:requests_processing gauge\nllamacpp:requests_processing 1\n"
    )


def tgi_page(p, g, n):
    return (
        "# TYPE tgi_request_input_length histogram\n"
        f'tgi_request_input_length_bucket{{le="+Inf"}} {n}\n'
        f"tgi_request_input_length_sum {p}\n"
        f"tgi_request_input_length_count {n}\n"
        "# TYPE tgi_request_generated_tokens histogram\n"
        f'tgi_request_generated_tokens_bucket{{le="+Inf"}} {n}\n'
        f"tgi_request_generated_tokens_sum {g}\n"
        f"tgi_request_generated_tokens_count {n}\n"
    )


class MetricsServer:
    """A real HTTP server on 127.0.0.1 serving whatever page is current (pages advance per scrape)."""

    def __init__(self, pages):
        self.pages = list(pages)
        self.served = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                if self.path != "/metrics":
                    self.send_response(404)
                    self.end_headers()
                    return
                page = owner.pages[min(owner.served, len(owner.pages) - 1)]
                owner.served += 1
                body = page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/metrics"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(pages):
        server = MetricsServer(pages)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def scrape_all(server):
    scraper = TokenScraper(server.url)
    return [scraper.scrape() for _ in server.pages]


M1, M2 = "Qwen/Qwen2.5-Coder-1.5B-Instruct", "mistral-7b"


def test_vllm_counters_per_model_with_a_reset(serve):
    server = serve([
        vllm_page({M1: (100, 200, 3), M2: (10, 20, 1)}),
        vllm_page({M1: (150, 260, 5), M2: (10, 20, 1)}),
        vllm_page({M1: (30, 40, 1), M2: (15, 50, 2)}),  # M1 restarted: counts from zero
    ])
    baseline, first, second = scrape_all(server)
    assert baseline is None
    assert first.per_model == {M1: {"input": 50, "output": 60, "requests": 2}, M2: {"input": 0, "output": 0, "requests": 0}}
    # per series: "stop" went 5 -> 1 (a reset: counts 1); "length" stayed at 1 (nothing new)
    assert second.per_model[M1] == {"input": 30, "output": 40, "requests": 1}
    assert second.per_model[M2] == {"input": 5, "output": 30, "requests": 1}
    rows = token_counts(second, "default-uc", {M2: "coding"})
    assert [(r.use_case, r.model, r.input_tokens, r.output_tokens, r.requests) for r in rows] == [
        ("default-uc", M1, 30, 40, 1), ("coding", M2, 5, 30, 1)]
    assert token_counts(first, "default-uc", {})[0].model == M1  # idle models are left out


def test_sglang_counters(serve):
    server = serve([sglang_page(8.128902e6, 7.557572e6, 100), sglang_page(8.129902e6, 7.559572e6, 104)])
    _, delta = scrape_all(server)
    assert delta.total("input") == 1000 and delta.total("output") == 2000 and delta.total("requests") == 4


def test_llamacpp_counters_and_reset(serve):
    server = serve([llamacpp_page(6886, 3469), llamacpp_page(7000, 3500), llamacpp_page(12, 8)])
    _, first, second = scrape_all(server)
    assert first.per_model == {"": {"input": 114, "output": 31, "requests": 0}}
    assert not first.has_requests  # llama.cpp has no request counter
    assert second.total("input") == 12 and second.total("output") == 8


def test_tgi_histogram_sums_and_counts(serve):
    server = serve([tgi_page(1000, 5000, 10), tgi_page(1250, 5800, 13)])
    _, delta = scrape_all(server)
    assert (delta.total("input"), delta.total("output"), delta.total("requests")) == (250, 800, 3)


def test_failed_scrape_keeps_the_baseline(serve):
    server = serve([llamacpp_page(100, 50), llamacpp_page(160, 70)])
    scraper = TokenScraper(server.url)
    assert scraper.scrape() is None
    good_url, scraper.url = scraper.url, server.url.replace("/metrics", "/missing")
    assert scraper.scrape() is None and scraper.failures == 1
    scraper.url = good_url
    assert scraper.scrape().total("input") == 60


def test_real_vllm_and_llamacpp_samples_parse():
    vllm = parse_counters(shared_format("vllm_metrics_v0_qwen2.5-coder.prom").read_text())
    by_quantity = {}
    for (quantity, model, _), value in vllm.items():
        assert model == M1
        by_quantity[quantity] = by_quantity.get(quantity, 0) + value
    assert by_quantity["input"] == 148 and by_quantity["output"] == 955 and by_quantity["requests"] >= 4
    llama = parse_counters(shared_format("llamacpp_metrics.prom").read_text())
    assert llama[("input", "", ("llamacpp:prompt_tokens_total", ()))] == 6886
    assert llama[("output", "", ("llamacpp:tokens_predicted_total", ()))] == 3469


def test_new_series_after_baseline_counts_from_zero():
    deltas = CounterDeltas()
    key = ("output", "m", ("vllm:generation_tokens_total", (("model_name", "m"),)))
    assert deltas.update({}) is None
    assert deltas.update({key: 7.0}).total("output") == 7


def test_mapping_and_url_validation():
    assert parse_mapping(["Qwen/Qwen2.5=coding", "a=b=c"]) == {"Qwen/Qwen2.5": "coding", "a=b": "c"}
    for bad in (["no-equals"], ["=slug"], ["model="]):
        with pytest.raises(ValidationError):
            parse_mapping(bad)
    with pytest.raises(ValidationError):
        TokenScraper("ftp://x/metrics")
    with pytest.raises(ValueError):
        parse_counters("vllm:prompt_tokens_total{model_name=\"x\" 1\n")


def test_monitor_records_tokens_per_use_case(serve, invoke, db_path, monkeypatch, tmp_path_factory):
    """`monitor --metrics-url --map` end to end (in-process, real CodeCarbon, real HTTP server)."""
    from footprint.collectors.session import monitor
    from footprint.measurements import list_measurements
    from footprint.store import open_store

    monkeypatch.setenv("FOOTPRINT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "footprint-cpu-cache"))
    for slug in ("chat", "coding"):
        assert invoke("usecase", "add", slug, "--name", slug, "--team", "T", "--status", "pilot",
                      "--deployment", "on-prem").exit_code == 0
    server = serve([vllm_page({M1: (100 * i, 300 * i, i), M2: (10 * i, 20 * i, i)}) for i in range(1, 30)])
    stop = threading.Event()
    threading.Timer(1.4, stop.set).start()
    summary = monitor(use_case="chat", db_path=db_path, interval_s=0.5, metrics_url=server.url,
                      mapping={M2: "coding"}, stop=stop)
    assert summary.records >= 2
    with open_store(db_path) as store:
        rows = list_measurements(store, use_case="chat")
        split = store.execute(
            "SELECT use_case, model, sum(input_tokens), sum(output_tokens) FROM interval_tokens GROUP BY ALL ORDER BY 1"
        ).fetchall()
    assert len(rows) == summary.records and all(r["shared"] for r in rows)
    scrapes = server.served - 1  # the first one is the baseline
    assert sum(r["output_tokens"] for r in rows) == (300 + 20) * scrapes
    assert split == [("chat", M1, 100 * scrapes, 300 * scrapes), ("coding", M2, 10 * scrapes, 20 * scrapes)]


def test_a_series_missing_from_one_page_is_not_counted_twice():
    """A series absent from one scrape (or NaN there) that comes back counts what it gained, not its total."""
    prompt = 'vllm:prompt_tokens_total{engine="0",model_name="m"} '
    generation = 'vllm:generation_tokens_total{engine="0",model_name="m"} '
    deltas = CounterDeltas()
    assert deltas.update(parse_counters(prompt + "1000\n" + generation + "5000\n")) is None
    gap = deltas.update(parse_counters(prompt + "1010\n" + generation + "NaN\n"))
    assert (gap.total("input"), gap.total("output")) == (10, 0)
    back = deltas.update(parse_counters(prompt + "1020\n" + generation + "5040\n"))
    assert (back.total("input"), back.total("output")) == (10, 40)
    restarted = deltas.update(parse_counters(prompt + "7\n"))  # a restart: counted from zero
    assert restarted.total("input") == 7
