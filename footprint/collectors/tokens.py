"""Tokens served, scraped from an inference server's Prometheus `/metrics`, as per-interval deltas.

Supported servers and the counters read (text format parsed with prometheus_client's parser):
- vLLM:      vllm:prompt_tokens_total, vllm:generation_tokens_total, vllm:request_success_total
- SGLang:    sglang:prompt_tokens_total, sglang:generation_tokens_total, sglang:num_requests_total
- llama.cpp: llamacpp:prompt_tokens_total, llamacpp:tokens_predicted_total (no request counter)
- TGI:       tgi_request_input_length_sum, tgi_request_generated_tokens_sum (histograms) and
             tgi_request_generated_tokens_count (requests)
Servers that label series by model (`model_name`, `model`) are split per model, and `--map
MODEL=SLUG` sends a model's tokens to another use case; unmapped models go to the monitor's use case.

Deltas are taken per series (name + labels): the first scrape is the baseline; a value lower than the
previous one is a counter reset (server restart) and counts from zero, as Prometheus' `increase()`
does; a series first seen after the baseline counts from zero too, but one that leaves a page and comes
back counts from its last value. A failed scrape yields no tokens for that interval and keeps the
baseline, so the next successful scrape carries them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from footprint.errors import ValidationError
from footprint.records import TokenCount

INPUT, OUTPUT, REQUESTS = "input", "output", "requests"
# sample name -> (server, quantity)
_SAMPLES = {
    "vllm:prompt_tokens_total": ("vllm", INPUT),
    "vllm:generation_tokens_total": ("vllm", OUTPUT),
    "vllm:request_success_total": ("vllm", REQUESTS),
    "sglang:prompt_tokens_total": ("sglang", INPUT),
    "sglang:generation_tokens_total": ("sglang", OUTPUT),
    "sglang:num_requests_total": ("sglang", REQUESTS),
    "llamacpp:prompt_tokens_total": ("llamacpp", INPUT),
    "llamacpp:tokens_predicted_total": ("llamacpp", OUTPUT),
    "tgi_request_input_length_sum": ("tgi", INPUT),
    "tgi_request_generated_tokens_sum": ("tgi", OUTPUT),
    "tgi_request_generated_tokens_count": ("tgi", REQUESTS),
}
_MODEL_LABELS = ("model_name", "model", "served_model_name")
UNLABELLED_MODEL = ""  # servers that do not label by model (llama.cpp, TGI)


def parse_mapping(items: list[str] | None) -> dict[str, str]:
    """`MODEL=SLUG` options to a dict (the model name may itself contain '=' only before the last one)."""
    mapping: dict[str, str] = {}
    for item in items or []:
        model, sep, slug = item.rpartition("=")
        if not sep or not model.strip() or not slug.strip():
            raise ValidationError(f"bad --map {item!r}: expected MODEL=SLUG")
        mapping[model.strip()] = slug.strip()
    return mapping


def parse_counters(text: str) -> dict[tuple, float]:
    """Token and request counters of a /metrics page: {(quantity, model, series key): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    counters: dict[tuple, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                known = _SAMPLES.get(sample.name)
                if known is None:
                    continue
                model = next((sample.labels[k] for k in _MODEL_LABELS if sample.labels.get(k)), UNLABELLED_MODEL)
                try:
                    value = float(sample.value)
                except (OverflowError, TypeError, ValueError):
                    continue
                if not (math.isfinite(value) and 0 <= value < 2**63):
                    continue  # not a token count (NaN, inf, negative, absurd): the series is ignored
                series = (sample.name, tuple(sorted(sample.labels.items())))
                counters[(known[1], model, series)] = value
    except ValueError as exc:
        raise ValueError(f"not Prometheus text format: {exc}") from None
    return counters


@dataclass(frozen=True)
class TokenDelta:
    """Tokens served in one interval, per model (None fields: nothing scraped for the interval)."""

    per_model: dict[str, dict[str, int]]  # model -> {input, output, requests}
    has_requests: bool  # the server exposes a request counter

    def total(self, quantity: str) -> int:
        return sum(v[quantity] for v in self.per_model.values())


class CounterDeltas:
    """Per-series deltas between successive scrapes, resets handled."""

    def __init__(self):
        self._previous: dict[tuple, float] | None = None

    def update(self, counters: dict[tuple, float]) -> TokenDelta | None:
        previous = self._previous
        # A series missing from one page (or unreadable there: NaN) keeps its last value, so that when it
        # comes back only what it gained since is counted, not its whole total again.
        self._previous = counters if previous is None else {**previous, **counters}
        if previous is None:
            return None  # baseline
        per_model: dict[str, dict[str, int]] = {}
        has_requests = False
        for key, value in counters.items():
            quantity, model, _ = key
            before = previous.get(key)
            if before is None or value < before:
                delta = value  # new series or reset: counted from zero
            else:
                delta = value - before
            slot = per_model.setdefault(model, {INPUT: 0, OUTPUT: 0, REQUESTS: 0})
            slot[quantity] += int(round(delta))
            has_requests = has_requests or quantity == REQUESTS
        return TokenDelta(per_model, has_requests)


class TokenScraper:
    """Scrapes one /metrics URL each interval. `scrape()` returns the delta since the previous one."""

    def __init__(self, url: str, *, timeout_s: float = 2.0):
        if not url.startswith(("http://", "https://")):
            raise ValidationError(f"bad --metrics-url {url!r}: expected an http:// or https:// URL")
        self.url = url
        self.timeout_s = timeout_s
        self._deltas = CounterDeltas()
        self.failures = 0
        self.last_error: str | None = None

    def fetch(self) -> str:
        import urllib.request  # lazy: ~7 MB of RSS (http.client, email, ssl) a sidecar without --metrics-url never needs

        request = urllib.request.Request(self.url, headers={"Accept": "text/plain"})
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            return response.read().decode("utf-8", errors="replace")

    def scrape(self) -> TokenDelta | None:
        """The tokens since the previous successful scrape; None for the baseline or a failure."""
        try:
            counters = parse_counters(self.fetch())
        except (OSError, ValueError) as exc:  # urllib.error.URLError is an OSError
            self.failures += 1
            self.last_error = str(exc)
            return None
        self.last_error = None
        return self._deltas.update(counters)


def token_counts(delta: TokenDelta, default_use_case: str, mapping: dict[str, str]) -> tuple[TokenCount, ...]:
    """Split a delta into TokenCount rows (use case, model), mapping models to use cases."""
    rows = []
    for model, values in sorted(delta.per_model.items()):
        if not any(values.values()):
            continue
        use_case = mapping.get(model, default_use_case)
        rows.append(TokenCount(use_case, model, values[INPUT], values[OUTPUT], values[REQUESTS]))
    return tuple(rows)
