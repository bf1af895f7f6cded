"""A small Prometheus HTTP API client on the standard library (urllib).

Only the URL the user gave is ever contacted: redirects are refused and proxy settings from the
environment are ignored (a proxy would be another host).
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from footprint.errors import FootprintError, ValidationError

# Prometheus refuses a range query whose (end - start) / step exceeds 11,000 points per series.
MAX_POINTS_PER_SERIES = 11_000


class PrometheusError(FootprintError):
    """Prometheus could not be reached, answered an HTTP error, or rejected a query."""


@dataclass(frozen=True)
class Series:
    """One time series of a range query: its labels (with __name__) and its (unix_s, value) samples."""

    labels: tuple[tuple[str, str], ...]
    samples: tuple[tuple[float, float], ...]

    @property
    def name(self) -> str:
        return dict(self.labels).get("__name__", "")

    def label_dict(self) -> dict[str, str]:
        return dict(self.labels)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102 - urllib hook
        raise PrometheusError(
            f"Prometheus at {req.full_url} redirects to {newurl}; give that URL with --url "
            "(footprint contacts only the URL given)"
        )


def normalise_url(url: str) -> str:
    parsed = urllib.parse.urlsplit((url or "").strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValidationError(f"bad --url {url!r}: expected http://host:port of a Prometheus server")
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, parsed.path.rstrip("/"), "", ""))


def chunk_ranges(start_s: float, end_s: float, step_s: float, max_points: int = MAX_POINTS_PER_SERIES):
    """Split [start, end] into query_range windows of at most `max_points` points each.

    Windows share no evaluation step: the next window starts one step after the previous end.
    """
    if step_s <= 0:
        raise ValidationError(f"bad step {step_s!r}: must be > 0 seconds")
    if max_points < 2:
        raise ValidationError("max_points must be at least 2")
    total_steps = int(round((end_s - start_s) / step_s))
    windows = []
    first = 0
    while first <= total_steps:
        last = min(first + max_points - 1, total_steps)
        windows.append((start_s + first * step_s, start_s + last * step_s))
        first = last + 1
    return windows


def parse_matrix(payload: dict, query: str = "") -> list[Series]:
    """Series of a query_range answer (`{"status":"success","data":{"resultType":"matrix",...}}`)."""
    if payload.get("status") != "success":
        raise PrometheusError(f"Prometheus rejected query {query!r}: {payload.get('error') or payload}")
    data = payload.get("data") or {}
    if data.get("resultType") != "matrix":
        raise PrometheusError(f"query {query!r} gave a {data.get('resultType')!r} result, expected a matrix")
    return parse_results(data.get("result") or [])


def parse_results(results: list) -> list[Series]:
    series = []
    for item in results:
        labels = tuple(sorted((str(k), str(v)) for k, v in (item.get("metric") or {}).items()))
        samples = []
        for ts, value in item.get("values") or []:
            number = float(value)  # Prometheus sends "NaN", "+Inf" as strings too
            if math.isfinite(number):
                samples.append((float(ts), number))
        series.append(Series(labels, tuple(samples)))
    return series


def merge_series(parts: list[list[Series]]) -> list[Series]:
    """Join the chunks of a chunked range query into one Series per label set, samples in time order."""
    if len(parts) == 1:  # one window: Prometheus gives each label set once, its samples in time order
        return sorted(parts[0], key=lambda s: s.labels)
    by_labels: dict[tuple, dict[float, float]] = {}
    for chunk in parts:
        for s in chunk:
            by_labels.setdefault(s.labels, {}).update(s.samples)
    return [Series(labels, tuple(sorted(samples.items()))) for labels, samples in sorted(by_labels.items())]


class PrometheusClient:
    """Reads a Prometheus server's HTTP API (`/api/v1/query_range`)."""

    def __init__(self, url: str, timeout_s: float = 30.0, max_points: int = MAX_POINTS_PER_SERIES):
        self.url = normalise_url(url)
        self.timeout_s = timeout_s
        self.max_points = max_points
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    def _post(self, path: str, form: dict, query: str) -> dict:
        endpoint = self.url + path
        body = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(
            endpoint, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, method="POST"
        )
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = _error_text(exc.read())
            if exc.code in (400, 422) and detail:
                raise PrometheusError(f"Prometheus at {self.url} rejected query {query!r}: {detail}") from None
            raise PrometheusError(
                f"Prometheus at {self.url} answered HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")
            ) from None
        except urllib.error.URLError as exc:
            raise PrometheusError(f"cannot reach Prometheus at {self.url}: {exc.reason}") from None
        except (TimeoutError, ConnectionError, OSError) as exc:
            raise PrometheusError(f"cannot reach Prometheus at {self.url}: {exc}") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise PrometheusError(f"{endpoint} did not answer JSON: is {self.url} a Prometheus server?") from None

    def query_range(self, query: str, start_s: float, end_s: float, step_s: float) -> list[Series]:
        """Evaluate `query` at every step in [start, end], in windows under Prometheus' points limit."""
        parts = []
        for window_start, window_end in chunk_ranges(start_s, end_s, step_s, self.max_points):
            parts.extend(self._window(query, window_start, window_end, step_s))
        return merge_series(parts)

    def query(self, query: str, at_s: float) -> list[Series]:
        """Evaluate `query` at one instant (`/api/v1/query`): one sample per series (scalars have no labels)."""
        payload = self._post("/api/v1/query", {"query": query, "time": _fmt(at_s)}, query)
        if payload.get("status") != "success":
            raise PrometheusError(f"Prometheus rejected query {query!r}: {payload.get('error') or payload}")
        data = payload.get("data") or {}
        if data.get("resultType") == "scalar":
            return parse_results([{"metric": {}, "values": [data["result"]]}])
        if data.get("resultType") != "vector":
            raise PrometheusError(f"query {query!r} gave a {data.get('resultType')!r} result, expected a vector")
        return parse_results([{"metric": r.get("metric"), "values": [r["value"]]} for r in data.get("result") or []])

    def _window(self, query: str, start_s: float, end_s: float, step_s: float) -> list[list[Series]]:
        form = {"query": query, "start": _fmt(start_s), "end": _fmt(end_s), "step": _fmt(step_s)}
        try:
            return [parse_matrix(self._post("/api/v1/query_range", form, query), query)]
        except PrometheusError as exc:
            # Many series x many points can pass --query.max-samples (50M by default): halve the window.
            steps = int(round((end_s - start_s) / step_s))
            if "too many samples" not in str(exc) or steps < 2:
                raise
        middle = start_s + (steps // 2) * step_s
        return self._window(query, start_s, middle, step_s) + self._window(query, middle + step_s, end_s, step_s)


def _fmt(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


def _error_text(raw: bytes) -> str:
    try:
        data = json.loads(raw)
        return str(data.get("error") or "").strip()
    except (ValueError, AttributeError):
        return raw.decode("utf-8", "replace").strip()[:200]
