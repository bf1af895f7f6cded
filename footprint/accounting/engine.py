"""The accounting engine: measured energy split per use case, estimates for the rest, impacts.

Aggregation happens in DuckDB (integer microjoules, so the energy balance is exact); Python
only sees a few rows per use case, host and method.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from fractions import Fraction
from typing import Callable

from footprint import register, sites as sites_mod
from footprint.accounting.model import (
    ZERO, Accounting, Conservation, EstimateGroup, Impacts, UseCaseResult,
)
from footprint.accounting.profiles import (
    EMBODIED_UNCERTAINTY, METHOD_UNCERTAINTY, FactorBook, Profile, host_embodied_gco2e_per_h, resolve_profile,
)
from footprint.errors import FootprintError
from footprint.periods import Period, quarter_of
from footprint.records import Range, UseCase, method_kind
from footprint.store import Store
from footprint.units import J_PER_KWH

# Weight of one input (prompt) token relative to one output token when a shared server's energy is
# split by tokens. Prefill handles the whole prompt in a few parallel, compute-bound passes while
# decoding runs one memory-bound pass per output token, so an input token costs far less energy:
# workload energy models fitted on measured GPU energy (Wilkins, Keshav & Mortier 2024,
# arXiv:2407.04014) are linear in input and output tokens with the input coefficient about an order
# of magnitude below the output one. We state 1/10 and print it in every report.
DEFAULT_INPUT_WEIGHT = Fraction(1, 10)
UJ_PER_KWH = int(J_PER_KWH) * 1_000_000
US_PER_H = 3_600_000_000

METHOD_DESCRIPTIONS = {
    "measured:nvml-counter": "GPU energy counter read through NVML (nvmlDeviceGetTotalEnergyConsumption deltas)",
    "measured:nvml-power": "GPU power read through NVML every 50-100 ms and integrated over time",
    "measured:dcgm-counter": "GPU energy counter exported by NVIDIA DCGM exporter",
    "measured:dcgm-power": "GPU power exported by NVIDIA DCGM exporter, integrated over time",
    "measured:kepler": "Energy attributed by Kepler (eBPF + RAPL/NVML) per pod",
    "measured:codecarbon": "Energy measured by CodeCarbon (its own emissions.csv)",
    "measured:rapl": "CPU package energy from Intel/AMD RAPL counters (through CodeCarbon)",
    "modelled:cpu-load-tdp": "CPU energy modelled from CPU load x TDP (CodeCarbon, no RAPL access)",
    "modelled:constant": "CPU energy modelled as a constant share of TDP (CodeCarbon fallback)",
    "modelled:ram": "RAM energy modelled from installed memory (CodeCarbon RAM model)",
    "estimated:tokens": "Energy estimated from token counts by footprint's fitted per-token estimator, with its 80 % interval",
}

Estimator = Callable[..., object]


def _default_estimator():
    from footprint.estimators import estimate_llm  # lazy: numpy and fitted tables load only when needed

    return estimate_llm


def _ts(day) -> datetime:
    if isinstance(day, datetime):  # a window shorter than a day (many-hosts checks compare exact windows)
        return day
    return datetime(day.year, day.month, day.day)


def _kwh(uj: int) -> float:
    return uj / UJ_PER_KWH


def _table_exists(store: Store, name: str) -> bool:
    return bool(store.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'", [name]
    ).fetchone()[0])


def _split_exact(total: int, weights: list[int]) -> list[int]:
    """Integer parts of `total` proportional to `weights`, adding up to `total` exactly."""
    whole = sum(weights)
    parts, cum, prev = [], 0, 0
    for w in weights:
        cum += w
        upto = total * cum // whole
        parts.append(upto - prev)
        prev = upto
    return parts


class _Bucket:
    """Mutable sum of impacts while accounting; frozen into Impacts at the end."""

    def __init__(self) -> None:
        self.impacts = Impacts()

    def add(self, **parts) -> None:
        self.impacts = self.impacts + Impacts(**parts)


def _measured_parts(row: dict, profile: Profile) -> dict:
    """Impacts of one measured row (a use case or idle, one host, one set of methods)."""
    it = ZERO
    by_kind = defaultdict(float)
    comps = {}
    for comp in ("gpu", "cpu", "ram"):
        kwh = _kwh(int(row[f"{comp}_uj"] or 0))
        comps[comp] = kwh
        kind = method_kind(row[f"{comp}_method"]) if kwh else None
        u = METHOD_UNCERTAINTY.get(kind, METHOD_UNCERTAINTY[None])
        it = it + Range(kwh, kwh * (1 - u), kwh * (1 + u))
        by_kind[kind if kind in ("measured", "modelled") else "modelled"] += kwh
    facility = it.scaled(profile.pue)
    gco2e = facility.scaled(profile.grid_gco2e_per_kwh)
    market = facility.scaled(profile.market_gco2e_per_kwh) if profile.market_gco2e_per_kwh is not None else gco2e
    water = it.scaled(profile.wue_onsite_l_per_kwh) + facility.scaled(profile.grid_water_l_per_kwh or 0.0)
    parts = dict(
        energy_kwh=facility, it_energy_kwh=it, gco2e=gco2e, gco2e_market=market, water_l=water,
        gpu_kwh=comps["gpu"], cpu_kwh=comps["cpu"], ram_kwh=comps["ram"],
        overhead_kwh=facility.value - it.value,
        measured_kwh=by_kind["measured"] * profile.pue, modelled_kwh=by_kind["modelled"] * profile.pue,
    )
    # Measured energy is the organisation's own electricity (Scope 2), whatever the use case's label.
    parts.update(scope2_kwh=facility.value, scope2_gco2e=gco2e, scope2_gco2e_market=market)
    return parts


def _benefit(slug: str, period: Period, benefits: dict) -> dict | None:
    """The benefit claimed for the period: the quarter's, or the sum of the quarters inside a range."""
    claims = benefits.get(slug, {})
    year, q = quarter_of(period.start)
    if period.label == f"{year}-Q{q}":
        b = claims.get(period.label)
        return {"value": b.value, "unit": b.unit, "evidence": b.evidence} if b else None
    inside = [b for label, b in sorted(claims.items()) if _quarter_inside(label, period)]
    if not inside or len({b.unit for b in inside}) != 1:
        return None
    evidence = "; ".join(f"{b.period}: {b.evidence}" for b in inside if b.evidence) or None
    return {"value": sum(b.value for b in inside), "unit": inside[0].unit, "evidence": evidence}


def _quarter_inside(label: str, period: Period) -> bool:
    from footprint.periods import parse_quarter

    q = parse_quarter(label)
    return period.start <= q.start and q.end <= period.end


def account(
    store: Store,
    period: Period,
    *,
    allocate_idle: bool = False,
    input_weight: Fraction = DEFAULT_INPUT_WEIGHT,
    estimator: Estimator | None = None,
) -> Accounting:
    """Account every registered use case's footprint over `period`."""
    weight = Fraction(input_weight).limit_denominator(1_000_000)
    if weight < 0:
        raise ValueError("input weight must be >= 0")
    w_out, w_in = weight.denominator, weight.numerator
    params = {"ps": _ts(period.start), "pe": _ts(period.end)}
    year = period.start.year
    book = FactorBook()
    warnings: list[str] = []

    use_cases = {u.slug: u for u in register.list_use_cases(store)}
    site_by_name = {s.name: s for s in sites_mod.list_sites(store)}
    benefits: dict[str, dict] = defaultdict(dict)
    for b in register.list_benefits(store):
        benefits[b.use_case][b.period] = b

    profiles: dict[str, Profile] = {}

    def profile_of(slug: str | None) -> Profile:
        key = slug or ""
        if key not in profiles:
            uc = use_cases.get(slug) if slug else None
            site = site_by_name.get(uc.region) if uc and uc.region else None
            profiles[key] = resolve_profile(uc, site, year, book)
        return profiles[key]

    # --- measured energy, split in SQL ----------------------------------------------------
    store.execute("SET enable_progress_bar = false")  # a report's output is the only thing printed
    store.query("report/allot_measured", {**params, "w_out": w_out, "w_in": w_in})
    rows = store.rows_as_dicts("report/split_measured", {"w_out": w_out, "w_in": w_in})
    hosts = {r["host"]: r for r in store.rows_as_dicts("report/host_time")}
    measured_uj = int(store.execute(
        "SELECT coalesce(sum(coalesce(gpu_uj, 0) + coalesce(cpu_uj, 0) + coalesce(ram_uj, 0)), 0) FROM fp_allot"
    ).fetchone()[0])
    store.execute("DROP TABLE IF EXISTS fp_allot")

    for row in rows:
        for comp in ("gpu", "cpu", "ram"):
            row[f"{comp}_uj"] = int(row[f"{comp}_uj"] or 0)
        row["it_uj"] = row["gpu_uj"] + row["cpu_uj"] + row["ram_uj"]
        row["from_idle"] = 0
        if row["bucket"] == "use_case" and row["use_case"] not in use_cases:
            warnings.append(f"measurements name the unregistered use case {row['use_case']!r}: counted as unallocated")
            row["bucket"] = "unallocated"
    warnings = sorted(set(warnings))

    allocated_by_host: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        if row["bucket"] == "use_case":
            allocated_by_host[row["host"]][row["use_case"]] += row["it_uj"]
    idle_uj = sum(r["it_uj"] for r in rows if r["bucket"] == "idle")
    unallocated_uj = sum(r["it_uj"] for r in rows if r["bucket"] == "unallocated")
    allocated_uj = sum(r["it_uj"] for r in rows if r["bucket"] == "use_case")

    idle_given_uj = 0
    if allocate_idle:
        # Idle energy of a host goes to the use cases it served in the period, by their share of it.
        new_rows = []
        for row in rows:
            shares = allocated_by_host.get(row["host"])
            if row["bucket"] != "idle" or not shares:
                new_rows.append(row)
                continue
            slugs = sorted(shares)
            weights = [shares[s] for s in slugs]
            if sum(weights) == 0:
                new_rows.append(row)
                continue
            split = {c: _split_exact(row[f"{c}_uj"], weights) for c in ("gpu", "cpu", "ram")}
            for i, slug in enumerate(slugs):
                part = dict(row, bucket="use_case", use_case=slug,
                            gpu_uj=split["gpu"][i], cpu_uj=split["cpu"][i], ram_uj=split["ram"][i])
                part["it_uj"] = part["gpu_uj"] + part["cpu_uj"] + part["ram_uj"]
                part["from_idle"] = part["it_uj"]
                new_rows.append(part)
                idle_given_uj += part["it_uj"]
        rows = new_rows
        idle_uj -= idle_given_uj
        allocated_uj += idle_given_uj

    conservation = Conservation(measured_uj, allocated_uj, idle_uj, unallocated_uj, idle_given_uj)

    # Idle or unallocated energy of a host takes the factors of the use case it served most.
    def host_profile(host: str) -> Profile:
        shares = allocated_by_host.get(host)
        if shares:
            best = max(sorted(shares), key=lambda s: shares[s])
            return profile_of(best)
        return profile_of(None)

    # Embodied carbon per host (SCI: rate x time covered), split over the host's rows by IT energy.
    host_it: dict[str, int] = defaultdict(int)
    for row in rows:
        host_it[row["host"]] += row["it_uj"]
    host_embodied: dict[str, float] = {}
    for host, info in hosts.items():
        rate = host_embodied_gco2e_per_h(int(info["gpus"] or 0), book)
        host_embodied[host] = rate * int(info["covered_us"] or 0) / US_PER_H

    buckets: dict[str, _Bucket] = defaultdict(_Bucket)
    uc_hosts: dict[str, set] = defaultdict(set)
    uc_methods: dict[str, set] = defaultdict(set)
    uc_measured_uj: dict[str, int] = defaultdict(int)
    uc_from_idle: dict[str, int] = defaultdict(int)
    all_methods: set[str] = set()
    host_embodied_left = dict(host_embodied)
    for row in rows:
        slug = row["use_case"] if row["bucket"] == "use_case" else None
        key = slug if slug else row["bucket"]
        profile = profile_of(slug) if slug else host_profile(row["host"])
        parts = _measured_parts(row, profile)
        total_host = host_it[row["host"]]
        emb = host_embodied.get(row["host"], 0.0) * row["it_uj"] / total_host if total_host else 0.0
        host_embodied_left[row["host"]] = host_embodied_left.get(row["host"], 0.0) - emb
        emb_range = Range(emb, emb * (1 - EMBODIED_UNCERTAINTY), emb * (1 + EMBODIED_UNCERTAINTY))
        parts.update(embodied_gco2e=emb_range, scope3_cat2_gco2e=emb_range)
        buckets[key].add(**parts)
        for comp in ("gpu", "cpu", "ram"):
            if row[f"{comp}_uj"] and row[f"{comp}_method"]:
                all_methods.add(row[f"{comp}_method"])
                if slug:
                    uc_methods[slug].add(row[f"{comp}_method"])
        if slug:
            uc_hosts[slug].add(row["host"])
            uc_measured_uj[slug] += row["it_uj"]
            uc_from_idle[slug] += row["from_idle"]
    # A host measured over time but with no energy at all: its embodied share is idle.
    for host, left in sorted(host_embodied_left.items()):
        if host_it.get(host, 0) == 0 and left > 0:
            r = Range(left, left * (1 - EMBODIED_UNCERTAINTY), left * (1 + EMBODIED_UNCERTAINTY))
            buckets["idle"].add(embodied_gco2e=r, scope3_cat2_gco2e=r)

    # --- usage without measurement: estimated ----------------------------------------------
    estimates: dict[str, list[EstimateGroup]] = defaultdict(list)
    if _table_exists(store, "usage"):
        groups = _merge_groups(store.rows_as_dicts("report/usage_groups", params), use_cases)
        if groups:
            estimate = estimator or _default_estimator()
            calibrations = _Calibrations(store)
            for g in groups:
                _estimate_group(g, use_cases, profile_of, estimate, year, buckets, estimates, warnings, book, calibrations)
                all_methods.add("estimated:tokens")

    # intervals whose GPU counter and power usage disagreed, per use case (data-quality note, issue 16)
    disagreements = {r["use_case"]: int(r["disagreements"])
                     for r in store.rows_as_dicts("report/gpu_crosscheck_disagreements", params)}

    # --- per use case results ---------------------------------------------------------------
    results = []
    for slug in sorted(use_cases):
        uc = use_cases[slug]
        impacts = buckets[slug].impacts if slug in buckets else Impacts()
        benefit = _benefit(slug, period, benefits)
        per_unit = None
        if benefit and benefit["value"] > 0:
            per_unit = impacts.gco2e.scaled(1.0 / benefit["value"])
        methods = set(uc_methods.get(slug, ()))
        if estimates.get(slug):
            methods.add("estimated:tokens")
        results.append(UseCaseResult(
            use_case=uc, impacts=impacts, benefit=benefit, gco2e_per_benefit_unit=per_unit,
            hosts=tuple(sorted(uc_hosts.get(slug, ()))), methods=tuple(sorted(methods)),
            estimates=tuple(estimates.get(slug, ())), measured_uj=uc_measured_uj.get(slug, 0),
            idle_allocated_uj=uc_from_idle.get(slug, 0),
            gpu_crosscheck_disagreements=disagreements.get(slug, 0),
        ))

    idle_only = buckets["idle"].impacts if "idle" in buckets else Impacts()
    unallocated = buckets["unallocated"].impacts if "unallocated" in buckets else Impacts()
    idle = idle_only + unallocated
    totals = Impacts()
    for result in results:
        totals = totals + result.impacts
    totals = totals + idle

    methods = tuple(
        {"method": m, "kind": method_kind(m), "description": METHOD_DESCRIPTIONS.get(m, "as recorded by its collector"),
         "uncertainty": METHOD_UNCERTAINTY.get(method_kind(m)) if method_kind(m) != "estimated" else None}
        for m in sorted(all_methods)
    )
    book.add("input_token_weight", name="input token weight", value=float(weight), unit="output-token equivalents",
             source="Wilkins, Keshav & Mortier 2024 (arXiv:2407.04014): prefill per token ~10x cheaper than decode",
             vintage=2024, note="splits a shared server's energy: output tokens + weight x input tokens",
             used_for="token split of shared hosts")
    has_data = bool(rows) or any(estimates.values())
    return Accounting(
        period=period, use_cases=tuple(results), idle=idle, idle_only=idle_only, unallocated=unallocated,
        totals=totals, conservation=conservation, factors=tuple(book.to_list()), methods=methods,
        warnings=tuple(warnings), input_weight=weight, allocate_idle=allocate_idle, has_data=has_data,
    )


def _merge_groups(rows: list[dict], use_cases: dict) -> list[dict]:
    """Usage sums per (use case, model, year of use), rows without a model taking the use case's registered model."""
    merged: dict[tuple, dict] = {}
    for g in rows:
        uc = use_cases.get(g["use_case"])
        model = g["model"] or (uc.model if uc else None)
        serving_year = g.get("serving_year")
        key = (g["use_case"], model or "", serving_year or 0)
        into = merged.setdefault(key, {"use_case": g["use_case"], "model": model, "serving_year": serving_year,
                                       "requests": 0, "input_tokens": 0, "output_tokens": 0})
        for k in ("requests", "input_tokens", "output_tokens"):
            into[k] += int(g[k] or 0)
    return [merged[k] for k in sorted(merged)]


class _Calibrations:
    """Our own measured J/token per model (footprint.calibration), read once per model."""

    def __init__(self, store: Store):
        self.store = store
        self.by_model: dict[str, object] = {}

    def get(self, model: str | None):
        if not model:
            return None
        if model not in self.by_model:
            from footprint.calibration import measured_calibration

            self.by_model[model] = measured_calibration(self.store, model) if _table_exists(self.store, "interval_tokens") else None
        return self.by_model[model]


def _estimate_group(g, use_cases, profile_of, estimate, year, buckets, estimates, warnings, book, calibrations=None) -> None:
    slug = g["use_case"]
    uc: UseCase | None = use_cases.get(slug)
    if uc is None:
        warnings.append(f"usage rows name the unregistered use case {slug!r}: not estimated")
        return
    profile = profile_of(slug)
    model = g["model"] or uc.model
    pue = profile.pue if profile.pue_source.startswith(("use case", "site")) else None
    tokens = dict(requests=int(g["requests"]), input_tokens=int(g["input_tokens"] or 0),
                  output_tokens=int(g["output_tokens"] or 0))
    serving_year = int(g["serving_year"]) if g.get("serving_year") else None
    calibration = calibrations.get(model) if calibrations is not None else None
    # Our own measured J/token of a model describes our servers: it replaces the fit for tokens we
    # serve ourselves (on-prem), never for a provider's API; both figures are reported either way.
    extra = {"serving_year": serving_year} if serving_year else {}
    if calibration is not None and uc.deployment == "on-prem":
        extra["calibration"] = calibration
    try:
        # Energy per token depends on response length (prefill amortised, context growing), so the
        # summed tokens of a group are estimated as the group's requests, not as one long response.
        est = estimate(output_tokens=tokens["output_tokens"], input_tokens=tokens["input_tokens"], model=model,
                       country=profile.country, pue=pue, year=year, requests=tokens["requests"] or None, **extra)
    except FootprintError as exc:
        message = " ".join(str(exc).split())
        warnings.append(f"{slug}: {tokens['requests']} requests of model {model!r} not estimated: {message}")
        estimates[slug].append(EstimateGroup(slug, model, profile.country, error=message, energy_kwh=ZERO,
                                             gco2e=ZERO, sources=(), serving_year=serving_year, **tokens))
        return
    energy = Range(*(v / 1000.0 for v in _range_tuple(est.energy_wh["total"])))
    gco2e = Range(*_range_tuple(est.gco2e))
    water = Range(*(v / 1000.0 for v in _range_tuple(est.water_ml)))
    embodied = Range(*_range_tuple(est.embodied_gco2e))
    sources = []
    for src in getattr(est, "sources", []) or []:
        if not isinstance(src, dict):
            sources.append(str(src))
            continue
        name = str(src.get("what") or src.get("name") or src.get("key") or "estimator factor")
        value = src.get("value")
        value = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        origin = src.get("source") or "; ".join(
            f"{k.replace('_source', '')}: {v}" for k, v in sorted(src.items()) if k.endswith("_source") and v)
        book.add(f"estimator:{name}:{value}", name=name, value=value, unit=src.get("unit"),
                 source=str(origin or "estimators"), vintage=src.get("vintage") or src.get("year"),
                 note=src.get("detail") or src.get("formula") or src.get("locator"),
                 used_for="token-based estimate (estimators)")
        sources.append(name)
    on_prem = uc.deployment == "on-prem"
    parts = dict(energy_kwh=energy, gco2e=gco2e, gco2e_market=gco2e, water_l=water, embodied_gco2e=embodied,
                 estimated_kwh=energy.value)
    if on_prem:
        # Token counts of our own servers without measurement: still our electricity (Scope 2, estimated).
        parts.update(scope2_kwh=energy.value, scope2_gco2e=gco2e, scope2_gco2e_market=gco2e,
                     scope3_cat2_gco2e=embodied)
    else:
        parts.update(scope3_cat1_gco2e=gco2e + embodied)
    buckets[slug].add(**parts)
    inputs = getattr(est, "inputs", None) or {}
    first = (getattr(est, "sources", None) or [{}])[0]
    measured = isinstance(first, dict) and first.get("method") == "measured"
    fit_rate = inputs.get("gpu_j_per_output_token")
    estimates[slug].append(EstimateGroup(
        slug, model, profile.country, energy_kwh=energy, gco2e=gco2e, sources=tuple(sources), **tokens,
        serving_year=serving_year, serving_generation=inputs.get("serving_generation"),
        basis="measured" if measured else "fit",
        fit_j_per_output_token=float(fit_rate) if isinstance(fit_rate, (int, float)) else None,
        measured_j_per_output_token=calibration.j_per_output_token if calibration is not None else None,
    ))


def _range_tuple(r) -> tuple[float, float, float]:
    if isinstance(r, Range):
        return r.value, r.low, r.high
    if isinstance(r, dict):
        return float(r["value"]), float(r["low"]), float(r["high"])
    return float(r.value), float(r.low), float(r.high)
