"""Hostile input: hypothesis feeds every parser and command option random, malformed and extreme input.

Promise: either a result, or a one-line FootprintError naming the place; never another exception (a
traceback at the CLI), never a half-written database. Library functions are called in-process for
volume; the CLI is exercised through CliRunner for a sample. The module asserts >= 10,000 generated cases.
"""

from __future__ import annotations

import math
import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footprint.errors import FootprintError

CASES: Counter = Counter()
SCALE = float(os.environ.get("FOOTPRINT_TEST_HYPOTHESIS_SCALE", "1"))


pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def fast(n: int):
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, database=None, derandomize=False,
                    suppress_health_check=list(HealthCheck))


def outcome(fn, *args, **kwargs):
    """Call fn; a FootprintError must be one line; anything else escapes (and fails the test)."""
    try:
        return fn(*args, **kwargs)
    except FootprintError as exc:
        message = str(exc)
        assert message and "\n" not in message, repr(message)
        return exc


def file_outcome(tmp_path_factory, name: str, data: bytes, fn):
    """fn(path) of a file holding `data`: as `outcome`, and an error names the file."""
    path = tmp_path_factory.getbasetemp() / name
    path.write_bytes(data)
    result = outcome(fn, path)
    if isinstance(result, FootprintError):
        assert str(path) in str(result)
    return result


EXTREME_FLOATS = st.sampled_from([float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1e308, -1e308, 5e-324,
                                  2.0**63, -1.0, 1e-12])
EXTREME_NUMBER_TEXT = st.sampled_from(["NaN", "nan", "inf", "-inf", "Infinity", "-0", "1e309", "-1e309", "1e-400",
                                       "0x10", "1_000", "", " ", "9" * 400, "-1", "1.5", "１２", "\x00", "1e3"])
JUNK_TEXT = st.one_of(st.text(max_size=80), EXTREME_NUMBER_TEXT,
                      st.binary(max_size=60).map(lambda b: b.decode("latin-1")))


# --- periods, dates, countries ---------------------------------------------------------------

PERIOD_TEXT = st.one_of(JUNK_TEXT, st.from_regex(r"\A-?\d{1,6}-[qQ]-?\d{1,3}\Z"),
                        st.from_regex(r"\A\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?)?\Z"),
                        st.sampled_from(["0000-Q1", "9999-Q4", "0001-01-01T00:00:00+01:00",
                                         "9999-12-31T23:59:59-01:00", "2026-02-30", "2026-Q0"]))


@fast(500)
@given(st.lists(st.tuples(PERIOD_TEXT, PERIOD_TEXT), min_size=1, max_size=8))
def test_periods_and_dates(pairs):
    from footprint import periods

    for a, b in pairs:
        CASES["periods"] += 1
        outcome(periods.parse_date, a)
        outcome(periods.parse_timestamp, a)
        outcome(periods.date_range, a, b)
        result = outcome(periods.parse_quarter, a)
        if isinstance(result, periods.Period):
            outcome(result.previous_quarter)


@fast(300)
@given(st.lists(st.tuples(st.one_of(JUNK_TEXT, st.from_regex(r"\A[A-Za-z]{2,4}\Z")),
                          st.one_of(st.none(), st.integers(-10**6, 10**6))), min_size=1, max_size=8))
def test_countries_and_grid_factors(pairs):
    from footprint import factors

    for country, year in pairs:
        CASES["countries"] += 1
        outcome(factors.validate_country, country)
        result = outcome(factors.grid_factor, country, year)
        if isinstance(result, factors.GridFactor):
            assert math.isfinite(result.gco2e_per_kwh) and result.gco2e_per_kwh >= 0


# --- Prometheus text (monitor --metrics-url) --------------------------------------------------

METRIC = st.sampled_from(["vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:request_success_total",
                          "sglang:prompt_tokens_total", "llamacpp:tokens_predicted_total",
                          "tgi_request_generated_tokens_sum", "tgi_request_generated_tokens_count", "other_total"])
VALUE = st.one_of(EXTREME_NUMBER_TEXT, st.floats(allow_nan=True, allow_infinity=True).map(repr),
                  st.integers(-(10**30), 10**30).map(str))
LABELS = st.dictionaries(st.sampled_from(["model_name", "model", "pod", "le"]),
                         st.text(max_size=20).map(lambda s: s.replace("\\", "").replace('"', "")), max_size=3)
LINE = st.one_of(
    st.builds(lambda m, l, v: m + ("{" + ",".join(f'{k}="{x}"' for k, x in l.items()) + "}" if l else "") + " " + v,
              METRIC, LABELS, VALUE),
    st.sampled_from(["# TYPE vllm:prompt_tokens_total counter", "# HELP x y", "# EOF", ""]),
    JUNK_TEXT)


@fast(700)
@given(st.lists(st.lists(LINE, max_size=6), min_size=1, max_size=4))
def test_prometheus_scrapes_never_break_a_monitor(pages):
    """Successive scrapes of a hostile /metrics page: tokens are whole numbers >= 0, or the scrape is skipped."""
    from footprint.collectors.tokens import CounterDeltas, parse_counters, token_counts

    deltas = CounterDeltas()
    for lines in pages:
        CASES["prometheus"] += 1  # one scrape
        try:
            counters = parse_counters("\n".join(lines) + "\n")
        except ValueError as exc:  # TokenScraper.scrape treats it as a failed scrape and retries
            assert str(exc).startswith("not Prometheus text format")
            continue
        delta = deltas.update(counters)
        if delta is None:
            continue
        for row in token_counts(delta, "uc", {}):
            for n in (row.input_tokens, row.output_tokens, row.requests):
                assert isinstance(n, int) and 0 <= n < 2**63


# --- TOML maps (collect prometheus --config) --------------------------------------------------

TOML_VALUE = st.one_of(st.text(max_size=10).map(lambda s: '"' + s.replace("\\", "").replace('"', "") + '"'),
                       st.sampled_from(["nan", "inf", "-0", "1e309", "[]", "{}", "true", "1979-05-27", '"\\u0000"']))
TOML_LINE = st.one_of(
    st.sampled_from(["[[map]]", "[map]", "[[other]]", "[[map.match]]", "match = {namespace = \"chat\"}"]),
    st.builds(lambda k, v: f"{k} = {v}", st.sampled_from(["use_case", "match", "x", "match.pod", '"use_case"']),
              TOML_VALUE),
    st.builds(lambda v: "match = {namespace = " + v + "}", TOML_VALUE),
    JUNK_TEXT)


@fast(1500)
@given(st.one_of(st.lists(TOML_LINE, max_size=8).map(lambda ls: "\n".join(ls).encode("utf-8", "surrogatepass")),
                 st.binary(max_size=200)))
def test_cluster_toml_maps(tmp_path_factory, data):
    from footprint.cluster import load_mapping

    CASES["toml"] += 1
    file_outcome(tmp_path_factory, "map.toml", data, load_mapping)


# --- spool lines (a torn or corrupted segment) ------------------------------------------------

SPOOL_LINE = st.one_of(
    st.binary(max_size=300),
    st.dictionaries(st.sampled_from(["record_id", "host", "source", "start", "end", "gpu_j", "cpu_j", "tokens",
                                     "use_case", "shared", "requests"]),
                    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), JUNK_TEXT,
                              st.lists(st.integers(), max_size=2)), max_size=11)
    .map(lambda d: __import__("json").dumps(d).encode()))


@fast(500)
@given(st.lists(SPOOL_LINE, min_size=1, max_size=4))
def test_spool_lines(lines):
    from footprint import spool

    for line in lines:
        CASES["spool"] += 1
        try:
            record = spool.decode_record(line)
        except (ValueError, TypeError, KeyError):
            continue  # skipped and counted by the drain
        for name in ("gpu_j", "cpu_j", "ram_j"):
            value = getattr(record, name)
            assert value is None or (math.isfinite(value) and value >= 0)


# --- register fields and benefits (store in a real DuckDB file) -------------------------------

@pytest.fixture(scope="module")
def shared_store(tmp_path_factory):
    from footprint.store import open_store

    with open_store(tmp_path_factory.mktemp("hostile") / "fp.duckdb") as store:
        yield store


@fast(600)
@given(slug=JUNK_TEXT, name=JUNK_TEXT, team=JUNK_TEXT, country=JUNK_TEXT,
       pue=st.one_of(st.none(), EXTREME_FLOATS, st.floats()), value=st.one_of(EXTREME_FLOATS, st.floats()),
       period=PERIOD_TEXT, unit=JUNK_TEXT, evidence=st.one_of(st.none(), JUNK_TEXT))
def test_register_and_benefits(shared_store, slug, name, team, country, pue, value, period, unit, evidence):
    from footprint import register
    from footprint.records import Deployment, Purpose, Status, UseCase

    CASES["register"] += 1
    before = shared_store.execute("SELECT count(*) FROM use_cases").fetchone()[0]
    try:
        use_case = UseCase(slug=slug, name=name, team=team, status=Status.pilot, deployment=Deployment.api,
                           purpose=Purpose.other, country=country, pue=pue)
    except FootprintError:
        return
    except TypeError:
        pytest.skip("UseCase signature differs")
    added = outcome(register.add_use_case, shared_store, use_case)
    after = shared_store.execute("SELECT count(*) FROM use_cases").fetchone()[0]
    assert after == before + (0 if isinstance(added, FootprintError) else 1)  # all or nothing
    target = slug if not isinstance(added, FootprintError) else "known"
    benefit = outcome(register.set_benefit, shared_store, target, period, value, unit, evidence)
    if not isinstance(benefit, FootprintError):
        assert math.isfinite(benefit.value)
    for row in shared_store.execute("SELECT pue FROM use_cases WHERE pue IS NOT NULL").fetchall():
        assert math.isfinite(row[0])


# --- estimators ------------------------------------------------------------------------------

NUM = st.one_of(st.none(), EXTREME_FLOATS, st.floats(), st.integers(-(10**20), 10**20))


@fast(1200)
@given(output_tokens=st.one_of(st.integers(-(10**20), 10**24), st.sampled_from([float("nan"), float("inf"), -0.0])), input_tokens=st.integers(-5, 10**15),
       model=st.one_of(st.none(), JUNK_TEXT, st.sampled_from(["gpt-4o", "llama-3.1-70b", "mistral-large"])),
       params=NUM, gpu=st.one_of(st.none(), JUNK_TEXT, st.sampled_from(["H100", "A100", "h100-sxm"])),
       gpus=st.one_of(st.none(), st.integers(-3, 10**6)), batch=st.one_of(st.none(), st.integers(-3, 10**7)),
       precision=st.one_of(st.none(), JUNK_TEXT, st.sampled_from(["bf16", "fp8", "int4"])),
       country=st.one_of(st.none(), JUNK_TEXT, st.sampled_from(["FRA", "DEU", "fra"])),
       pue=st.one_of(st.none(), EXTREME_FLOATS, st.floats(0, 5)))
def test_estimate_llm_options(output_tokens, input_tokens, model, params, gpu, gpus, batch, precision, country, pue):
    from footprint.estimators import estimate_llm

    CASES["estimate"] += 1
    if (model is None) == (params is None):
        model, params = "gpt-4o", None
    result = outcome(estimate_llm, output_tokens=output_tokens, input_tokens=input_tokens, model=model,
                     params_b=params, gpu=gpu, gpus=gpus, batch=batch, precision=precision, country=country, pue=pue)
    if not isinstance(result, FootprintError):
        for r in (*result.energy_wh.values(), result.gco2e, result.water_ml, result.embodied_gco2e):
            assert all(math.isfinite(x) and x >= 0 for x in (r.value, r.low, r.high)), result.to_json()


CSV_CELL = st.one_of(EXTREME_NUMBER_TEXT, st.integers(-5, 10**9).map(str), JUNK_TEXT,
                     st.sampled_from(["H100", "bf16", "gpt-4o", '"a,b"', '"unterminated']))


@fast(700)
@given(st.one_of(
    st.builds(lambda header, rows: (",".join(header) + "\n" + "\n".join(",".join(r) for r in rows)).encode("utf-8", "surrogatepass"),
              st.permutations(["params", "active_params", "gpu", "gpus", "batch_size", "precision", "output_tokens"]),
              st.lists(st.lists(CSV_CELL, min_size=6, max_size=8), max_size=4)),
    st.binary(max_size=200)))
def test_estimate_input_csv(tmp_path_factory, data):
    from footprint.estimators.batch_csv import estimate_file

    CASES["estimate_csv"] += 1
    file_outcome(tmp_path_factory, "rows.csv", data, estimate_file)


# --- ingest (generic CSV/JSONL and vendor logs) -----------------------------------------------

INGEST_CELL = st.one_of(EXTREME_NUMBER_TEXT, st.integers(-5, 10**12).map(str), JUNK_TEXT,
                        st.sampled_from(["2026-07-01T10:00:00Z", "2026-13-01", "known", "gpt-4o", '"x,y"']))
JSON_VALUE = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(), JUNK_TEXT),
                          lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                  st.dictionaries(st.sampled_from(
                                                      ["usage", "prompt_tokens", "completion_tokens", "input_tokens",
                                                       "output_tokens", "model", "id", "created", "timestamp",
                                                       "use_case", "prompt_eval_count", "eval_count", "response"]),
                                                      inner, max_size=5)), max_leaves=12)


@fast(900)
@given(kind=st.sampled_from(["csv", "jsonl", "openai", "anthropic", "litellm", "ollama", "codecarbon", None]),
       data=st.one_of(
           st.builds(lambda rows: ("timestamp,use_case,model,input_tokens,output_tokens\n" +
                                   "\n".join(",".join(r) for r in rows)).encode("utf-8", "surrogatepass"),
                     st.lists(st.lists(INGEST_CELL, min_size=4, max_size=6), max_size=5)),
           st.lists(JSON_VALUE, max_size=4).map(lambda vs: "\n".join(__import__("json").dumps(v) for v in vs).encode()),
           st.binary(max_size=200)))
def test_ingest_files(shared_store, tmp_path_factory, kind, data):
    from footprint import register
    from footprint.ingest import ingest_paths
    from footprint.records import Deployment, Purpose, Status, UseCase

    CASES["ingest"] += 1
    if not shared_store.execute("SELECT count(*) FROM use_cases WHERE slug = 'known'").fetchone()[0]:
        register.add_use_case(shared_store, UseCase(slug="known", name="Known", team="T", status=Status.pilot,
                                                    deployment=Deployment.api, purpose=Purpose.other))
    path = tmp_path_factory.getbasetemp() / ("in.jsonl" if data[:1] in (b"{", b"[") else "in.csv")
    path.write_bytes(data)
    before = shared_store.execute("SELECT count(*) FROM usage").fetchone()[0]
    measured = shared_store.execute("SELECT count(*) FROM measurements").fetchone()[0]
    result = outcome(ingest_paths, shared_store, [path], fmt=kind, use_case="known")
    if isinstance(result, FootprintError):  # nothing half-written
        assert shared_store.execute("SELECT count(*) FROM usage").fetchone()[0] == before
        assert shared_store.execute("SELECT count(*) FROM measurements").fetchone()[0] == measured
    else:
        for row in shared_store.execute("SELECT input_tokens, output_tokens FROM usage").fetchall():
            assert row[0] >= 0 and row[1] >= 0


# --- huge and binary files ---------------------------------------------------------------------

def test_huge_binary_files_are_refused_in_one_line(tmp_path, shared_store):
    from footprint.estimators.batch_csv import estimate_file
    from footprint.cluster import load_mapping

    huge = tmp_path / "huge.bin"
    with open(huge, "wb") as handle:
        chunk = os.urandom(1 << 20)
        for _ in range(64):  # 64 MB of binary junk
            handle.write(chunk)
    for fn in (load_mapping, estimate_file):
        CASES["huge"] += 1
        assert isinstance(outcome(fn, huge), FootprintError)
    from footprint.ingest import ingest_paths

    CASES["huge"] += 1
    before = shared_store.execute("SELECT count(*) FROM usage").fetchone()[0]
    assert isinstance(outcome(ingest_paths, shared_store, [huge]), FootprintError)
    assert shared_store.execute("SELECT count(*) FROM usage").fetchone()[0] == before


# --- the CLI, through CliRunner ----------------------------------------------------------------

CLI_TEXT = st.one_of(JUNK_TEXT.filter(lambda s: "\x00" not in s), st.sampled_from(["gpt-4o", "FRA", "H100", "2026-Q3"]))


@fast(250)
@given(st.one_of(
    st.builds(lambda m, o, c, g, p: ["estimate", "--model", m, "--output-tokens", o, "--country", c, "--gpu", g,
                                     "--pue", p, "--json"], CLI_TEXT, CLI_TEXT, CLI_TEXT, CLI_TEXT, CLI_TEXT),
    st.builds(lambda s, n, t: ["usecase", "add", s, "--name", n, "--team", t, "--status", "pilot",
                               "--deployment", "api"], CLI_TEXT, CLI_TEXT, CLI_TEXT),
    st.builds(lambda p, v, u: ["benefit", "set", "known", "--period", p, "--value", v, "--unit", u],
              CLI_TEXT, EXTREME_NUMBER_TEXT, CLI_TEXT),
    st.builds(lambda a, b: ["measurements", "--from", a, "--to", b], CLI_TEXT, CLI_TEXT),
    st.builds(lambda a: ["usecase", "show", a], CLI_TEXT),
))
def test_cli_options(tmp_path_factory, args):
    from typer.testing import CliRunner

    from footprint.cli import app

    CASES["cli"] += 1
    db = tmp_path_factory.getbasetemp() / "cli" / "fp.duckdb"
    result = CliRunner().invoke(app, ["--db", str(db), *args])
    assert result.exit_code in (0, 1, 2), (args, result.output)
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), (args, repr(result.exception))
    if result.exit_code == 0 and "--json" in args:  # valid JSON: no NaN or Infinity
        def refuse(constant):
            raise AssertionError(f"{constant} in the JSON output of {args}")

        __import__("json").loads(result.stdout, parse_constant=refuse)
    if result.exit_code == 1:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)


def test_ingest_json_whose_reader_message_is_cut_inside_a_character(shared_store, tmp_path):
    """Found by test_ingest_files: DuckDB's error text, cut inside a UTF-8 character, raised UnicodeDecodeError."""
    from footprint.ingest import ingest_paths

    path = tmp_path / "in.jsonl"
    path.write_bytes(b'null\n[{"     ":{"     ":null,"       ":null}},"       \\u0080"]')
    before = shared_store.execute("SELECT count(*) FROM usage").fetchone()[0]
    for fmt in ("openai", "jsonl"):
        error = outcome(ingest_paths, shared_store, [path], fmt=fmt, use_case="known")
        assert isinstance(error, FootprintError) and str(path) in str(error)
    assert shared_store.execute("SELECT count(*) FROM usage").fetchone()[0] == before


# --- injection in user-supplied text, through the report ----------------------------------------

SCRIPT = "<script>alert('x')</script>"
FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A9)"]


def test_report_neutralises_html_markdown_and_csv_injection(tmp_path):
    import csv
    import io

    from typer.testing import CliRunner

    from footprint.cli import app

    db = tmp_path / "fp.duckdb"
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(app, ["--db", str(db), *args])
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result

    run("usecase", "add", "inj", "--name", SCRIPT + FORMULAS[0], "--team", FORMULAS[1], "--status", "production",
        "--deployment", "api", "--provider", FORMULAS[3], "--model", FORMULAS[2],
        "--description", "[x](javascript:alert(1)) | --- | **b**")
    run("benefit", "set", "inj", "--period", "2026-Q3", "--value", "10", "--unit", FORMULAS[3],
        "--evidence", SCRIPT + " " + FORMULAS[1])
    usage = tmp_path / "u.csv"
    usage.write_text("timestamp,use_case,model,input_tokens,output_tokens\n"
                     f'2026-07-02T10:00:00Z,inj,"{FORMULAS[2]}",100,50\n')
    run("ingest", str(usage))
    outputs = {}
    for fmt in ("html", "md", "csv", "json"):
        out = tmp_path / f"r.{fmt}"
        run("report", "--quarter", "2026-Q3", "--format", fmt, "-o", str(out))
        outputs[fmt] = out.read_text(encoding="utf-8")
    assert "inj" in outputs["json"]
    assert SCRIPT not in outputs["html"] and "<script>alert" not in outputs["html"]
    assert "&lt;script&gt;" in outputs["html"]
    assert "<script>alert" not in outputs["md"]
    assert "](javascript:" not in outputs["md"]
    cells = [cell for row in csv.reader(io.StringIO(outputs["csv"])) for cell in row]
    for cell in cells:
        if cell[:1] in ("=", "+", "-", "@"):
            float(cell)  # only a number may start with one of these
    assert any("HYPERLINK" in c for c in cells) or any("calc" in c for c in cells)  # the text is there, escaped


def test_zz_at_least_10000_cases_were_generated():
    total = sum(CASES.values())
    print(f"\nreliability-hostile cases={total} " + " ".join(f"{k}={v}" for k, v in sorted(CASES.items())))
    if SCALE >= 1:
        assert total >= 10_000, CASES
