"""The footprint command line: parse, call the library once, print. The only module that prints or exits.

Library imports happen inside commands so that `footprint --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from footprint.errors import FootprintError
from footprint.records import DataLocation, Deployment, Purpose, Status


class _FootprintGroup(TyperGroup):
    """Root command group: the one place where library errors become a message and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FootprintError as exc:
            message = " ".join(str(exc).split()) or type(exc).__name__
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    name="footprint",
    cls=_FootprintGroup,
    help="Environmental footprint of AI use cases: measure, estimate, report. Offline; per use case, never per person.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
usecase_app = typer.Typer(help="The register of AI use cases.", no_args_is_help=True)
benefit_app = typer.Typer(help="Benefits each use case claims per quarter.", no_args_is_help=True)
app.add_typer(usecase_app, name="usecase")
app.add_typer(benefit_app, name="benefit")


class _Context:
    db: Optional[Path] = None


state = _Context()


@app.callback()
def _global_options(
    db: Annotated[
        Optional[Path],
        typer.Option("--db", help="Database file (default: $FOOTPRINT_DB, else the user data directory).", metavar="PATH"),
    ] = None,
) -> None:
    state.db = db


# --- output helpers --------------------------------------------------------------------------


def _json_default(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=_json_default, indent=2) + "\n")


def print_table(rows: list[dict], columns: list[str]) -> None:
    """A plain aligned text table (no colour, no dependency): easy to read and to grep."""
    if not rows:
        typer.echo("(none)")
        return
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    typer.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in cells:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def notice(message: str) -> None:
    typer.echo(message, err=True)


def open_db():
    from footprint.store import open_store

    return open_store(state.db)


def _parse_date_option(value: Optional[str], field: str) -> Optional[date]:
    if value is None:
        return None
    from footprint.periods import parse_date

    return parse_date(value, field)


def _split_tags(values: Optional[list[str]]) -> Optional[tuple[str, ...]]:
    if values is None:
        return None
    return tuple(t for v in values for t in v.split(","))


# --- usecase ---------------------------------------------------------------------------------

NameOpt = Annotated[Optional[str], typer.Option("--name", help="Human-readable name.")]
TeamOpt = Annotated[Optional[str], typer.Option("--team", help="Organisational unit that owns it (never a person).")]
StatusOpt = Annotated[Optional[Status], typer.Option("--status", help="Lifecycle status.")]
DeploymentOpt = Annotated[Optional[Deployment], typer.Option("--deployment", help="Where the model runs.")]
PurposeOpt = Annotated[Optional[Purpose], typer.Option("--purpose", help="Purpose category.")]
ProviderOpt = Annotated[Optional[str], typer.Option("--provider", help="Model provider (e.g. mistralai, openai, self-hosted).")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", help="Model name (e.g. mistral-large-latest).")]
CountryOpt = Annotated[Optional[str], typer.Option("--country", help="ISO 3166 alpha-3 country of the electricity used.")]
DescriptionOpt = Annotated[Optional[str], typer.Option("--description", help="What the use case does.")]
RegionOpt = Annotated[Optional[str], typer.Option("--region", help="Region or data centre.")]
HardwareOpt = Annotated[Optional[str], typer.Option("--hardware", help="Hardware profile, e.g. 'H100-SXM x8'.")]
StartedOpt = Annotated[Optional[str], typer.Option("--started", help="Start date YYYY-MM-DD.")]
TagOpt = Annotated[Optional[list[str]], typer.Option("--tag", help="Tag (repeat, or comma-separated).")]
PueOpt = Annotated[Optional[float], typer.Option("--pue", help="Power usage effectiveness of its site (overrides the default).")]
MarketOpt = Annotated[
    Optional[float], typer.Option("--market-factor", help="Contractual (market-based) gCO2e/kWh, if the site buys one.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
DataLocationOpt = Annotated[
    Optional[DataLocation], typer.Option("--data-location", help="Where its data is processed (transparency register).")
]
ConsultationOpt = Annotated[
    Optional[str], typer.Option("--last-consultation", help="Date staff representatives were last consulted, YYYY-MM-DD.")
]

USECASE_COLUMNS = ["slug", "name", "team", "status", "deployment", "provider", "model", "country"]


@usecase_app.command("add")
def usecase_add(
    slug: Annotated[str, typer.Argument(help="Unique identifier: a-z, 0-9 and '-'.")],
    name: NameOpt = None,
    team: TeamOpt = None,
    status: StatusOpt = None,
    deployment: DeploymentOpt = None,
    purpose: PurposeOpt = Purpose.other,
    provider: ProviderOpt = None,
    model: ModelOpt = None,
    country: CountryOpt = None,
    description: DescriptionOpt = None,
    region: RegionOpt = None,
    hardware: HardwareOpt = None,
    started: StartedOpt = None,
    tag: TagOpt = None,
    pue: PueOpt = None,
    market_factor: MarketOpt = None,
    data_location: DataLocationOpt = None,
    last_consultation: ConsultationOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register an AI use case."""
    from footprint import register
    from footprint.records import UseCase

    missing = [opt for opt, v in (("--name", name), ("--team", team), ("--status", status), ("--deployment", deployment)) if v is None]
    if missing:
        raise typer.BadParameter(f"missing {', '.join(missing)}")
    use_case = UseCase(
        slug=slug, name=name, team=team, status=status.value, deployment=deployment.value, purpose=purpose.value,
        description=description, provider=provider, model=model, country=country, region=region, hardware=hardware,
        started=_parse_date_option(started, "--started date"), tags=_split_tags(tag) or (),
        pue=pue, market_gco2e_per_kwh=market_factor,
        data_location=data_location.value if data_location else None,
        last_consultation=_parse_date_option(last_consultation, "--last-consultation date"),
    )
    with open_db() as store:
        created = register.add_use_case(store, use_case)
    if as_json:
        print_json(created.to_json())
    else:
        typer.echo(f"added use case {created.slug}")


@usecase_app.command("list")
def usecase_list(
    status: StatusOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List registered use cases."""
    from footprint import register

    with open_db() as store:
        use_cases = register.list_use_cases(store, status.value if status else None)
    rows = [u.to_json() for u in use_cases]
    if as_json:
        print_json(rows)
    else:
        print_table(rows, USECASE_COLUMNS)


@usecase_app.command("show")
def usecase_show(slug: str, as_json: JsonOpt = False) -> None:
    """Show one use case and its claimed benefits."""
    from footprint import register

    with open_db() as store:
        use_case = register.get_use_case(store, slug)
        benefits = register.list_benefits(store, slug)
    data = use_case.to_json()
    data["benefits"] = [b.to_json() for b in benefits]
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if key == "benefits":
            continue
        if isinstance(value, list):
            value = ", ".join(value)
        typer.echo(f"{key:22} {'' if value is None else value}")
    for b in benefits:
        typer.echo(f"benefit {b.period}: {b.value:g} {b.unit}" + (f" ({b.evidence})" if b.evidence else ""))


@usecase_app.command("edit")
def usecase_edit(
    slug: str,
    name: NameOpt = None,
    team: TeamOpt = None,
    status: StatusOpt = None,
    deployment: DeploymentOpt = None,
    purpose: PurposeOpt = None,
    provider: ProviderOpt = None,
    model: ModelOpt = None,
    country: CountryOpt = None,
    description: DescriptionOpt = None,
    region: RegionOpt = None,
    hardware: HardwareOpt = None,
    started: StartedOpt = None,
    tag: TagOpt = None,
    pue: PueOpt = None,
    market_factor: MarketOpt = None,
    data_location: DataLocationOpt = None,
    last_consultation: ConsultationOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change fields of a use case (only the options given)."""
    from footprint import register

    given = {
        "name": name, "team": team, "status": status.value if status else None,
        "deployment": deployment.value if deployment else None, "purpose": purpose.value if purpose else None,
        "provider": provider, "model": model, "country": country, "description": description, "region": region,
        "hardware": hardware, "started": _parse_date_option(started, "--started date"), "tags": _split_tags(tag),
        "pue": pue, "market_gco2e_per_kwh": market_factor,
        "data_location": data_location.value if data_location else None,
        "last_consultation": _parse_date_option(last_consultation, "--last-consultation date"),
    }
    changes = {k: v for k, v in given.items() if v is not None}
    with open_db() as store:
        updated = register.edit_use_case(store, slug, changes)
    if as_json:
        print_json(updated.to_json())
    else:
        typer.echo(f"updated use case {slug}: {', '.join(sorted(changes))}")


@usecase_app.command("retire")
def usecase_retire(
    slug: str,
    on: Annotated[Optional[str], typer.Option("--date", help="Retirement date YYYY-MM-DD (default: today).")] = None,
) -> None:
    """Mark a use case retired (it stays in the register and in reports)."""
    from footprint import register

    with open_db() as store:
        retired = register.retire_use_case(store, slug, _parse_date_option(on, "--date"))
    typer.echo(f"retired use case {slug} on {retired.retired}")


# --- benefit ---------------------------------------------------------------------------------


@benefit_app.command("set")
def benefit_set(
    slug: str,
    period: Annotated[str, typer.Option("--period", help="Quarter, YYYY-Qn.")],
    value: Annotated[float, typer.Option("--value", help="Amount of benefit claimed for the quarter.")],
    unit: Annotated[str, typer.Option("--unit", help="Unit of the benefit, e.g. 'hours saved'.")],
    evidence: Annotated[Optional[str], typer.Option("--evidence", help="Where the claim comes from.")] = None,
) -> None:
    """Set the benefit a use case claims for a quarter (a previous value is kept in the history)."""
    from footprint import register

    with open_db() as store:
        benefit = register.set_benefit(store, slug, period, value, unit, evidence)
    typer.echo(f"benefit of {slug} for {benefit.period}: {benefit.value:g} {benefit.unit}")


@benefit_app.command("list")
def benefit_list(
    slug: Annotated[Optional[str], typer.Argument(help="Only this use case.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List claimed benefits."""
    from footprint import register

    with open_db() as store:
        rows = [b.to_json() for b in register.list_benefits(store, slug)]
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["use_case", "period", "value", "unit", "evidence"])


# --- collectors (issue 4) --------------------------------------------------------------------

UseCaseReq = Annotated[str, typer.Option("--use-case", help="Registered use case the energy goes to.", metavar="SLUG")]
IntervalOpt = Annotated[float, typer.Option("--interval", help="Seconds per interval record.", metavar="S")]
GpusOpt = Annotated[
    Optional[str], typer.Option("--gpus", help="GPUs to measure: indices and/or GPU- UUIDs (default: $CUDA_VISIBLE_DEVICES, else all).", metavar="LIST")
]


def _db_path():
    from footprint.store import resolve_db_path

    return resolve_db_path(state.db)


@app.command(
    "run",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    options_metavar="--use-case SLUG [--interval S] -- CMD [ARGS]...",
)
def run_cmd(
    ctx: typer.Context,
    use_case: UseCaseReq,
    interval: IntervalOpt = 10.0,
) -> None:
    """Run a command and record its host's GPU, CPU and RAM energy: footprint run --use-case SLUG -- CMD ARGS...

    The command's stdin, stdout, stderr and exit code pass through untouched.
    """
    import os
    import signal

    from footprint.collectors.session import CommandError, run_command

    argv = list(ctx.args)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise typer.BadParameter("give the command after --: footprint run --use-case SLUG -- CMD ARGS...")
    try:
        code = run_command(argv, use_case=use_case, db_path=_db_path(), interval_s=interval, notice=notice)
    except CommandError as exc:
        notice(f"error: {exc}")
        raise typer.Exit(exc.exit_code)
    if code < 0:  # the child died of a signal: die of the same one, as a shell would see it
        sys.stdout.flush()
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        raise typer.Exit(128 - code)
    raise typer.Exit(code)


@app.command("monitor")
def monitor_cmd(
    use_case: UseCaseReq,
    interval: IntervalOpt = 10.0,
    metrics_url: Annotated[
        Optional[str], typer.Option("--metrics-url", help="Inference server's Prometheus /metrics URL (tokens served).", metavar="URL")
    ] = None,
    map_: Annotated[
        Optional[list[str]], typer.Option("--map", help="Send a model's tokens to another use case (repeat).", metavar="MODEL=SLUG")
    ] = None,
    gpus: GpusOpt = None,
    listen: Annotated[
        Optional[str], typer.Option("--listen", help="Serve footprint_* counters on /metrics for Prometheus (PORT alone: 127.0.0.1).", metavar="HOST:PORT")
    ] = None,
) -> None:
    """Sidecar: record this host's energy (and tokens served) every interval until SIGINT/SIGTERM."""
    import signal
    import threading

    from footprint.collectors.session import monitor
    from footprint.collectors.tokens import parse_mapping

    mapping = parse_mapping(map_)
    stop = threading.Event()

    def _stop(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    from footprint.exporter import exporting

    with exporting(listen, db_path=_db_path(), use_case=use_case, notice=notice) as on_record:
        summary = monitor(
            use_case=use_case, db_path=_db_path(), interval_s=interval, metrics_url=metrics_url, mapping=mapping,
            gpus=gpus, stop=stop, notice=notice, on_record=on_record,
        )
    notice(f"monitor stopped: {summary.records} interval(s) spooled")


MEASUREMENT_COLUMNS = ["start", "end", "use_case", "host", "source", "gpu_j", "cpu_j", "ram_j", "cpu_method",
                       "input_tokens", "output_tokens"]


@app.command("measurements")
def measurements_cmd(
    use_case: Annotated[Optional[str], typer.Option("--use-case", help="Only this use case.", metavar="SLUG")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", help="Intervals ending after this time (ISO 8601, UTC).", metavar="T")] = None,
    to: Annotated[Optional[str], typer.Option("--to", help="Intervals starting before this time (ISO 8601, UTC).", metavar="T")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List measured interval records (energies in joules; empty = not measured)."""
    from footprint.measurements import list_measurements
    from footprint.periods import parse_timestamp

    start = parse_timestamp(from_, "--from time") if from_ else None
    end = parse_timestamp(to, "--to time") if to else None
    with open_db() as store:
        rows = list_measurements(store, use_case=use_case, start=start, end=end)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        for key in ("gpu_j", "cpu_j", "ram_j"):
            if row[key] is not None:
                row[key] = f"{row[key]:.1f}"
        row["start"] = row["start"].isoformat(timespec="seconds")
        row["end"] = row["end"].isoformat(timespec="seconds")
    print_table(rows, MEASUREMENT_COLUMNS)


@app.command("doctor")
def doctor_cmd(
    as_json: JsonOpt = False,
    gpu_check: Annotated[
        Optional[float], typer.Option("--gpu-check", help="Read every selected GPU this long with each NVML source and print their agreement.", metavar="SECONDS")
    ] = None,
    gpus: GpusOpt = None,
) -> None:
    """What can be measured here and how: NVML, CodeCarbon's CPU/RAM method, database and spool."""
    if gpu_check is not None:
        from footprint.collectors.gpu.check import format_check, gpu_check as check_gpus

        result = check_gpus(gpu_check, gpus)
        if as_json:
            print_json(result)
        else:
            typer.echo(format_check(result))
        return
    from footprint.doctor import diagnose, format_report

    report = diagnose(_db_path())
    if as_json:
        print_json(report)
    else:
        typer.echo(format_report(report))


# --- end collectors --------------------------------------------------------------------------


# --- estimators (issue 5) --------------------------------------------------------------------


class _Task(str, Enum):
    text_generation = "text-generation"
    text_to_image = "text-to-image"


def _calibration_for(model: Optional[str]):
    """Measured J/token for this model from the store, if a database already exists (never creates one)."""
    if not model:
        return None
    from footprint.store import resolve_db_path

    if not resolve_db_path(state.db).exists():
        return None
    from footprint.calibration import measured_calibration
    from footprint.errors import DatabaseLockedError

    try:
        with open_db() as store:
            return measured_calibration(store, model)
    except DatabaseLockedError:
        notice("note: database busy, estimating without our own measurements")
        return None


def _print_estimate(result) -> None:
    data = result.to_json()
    inputs = data["inputs"]
    what = inputs.get("model") or (f"{inputs['params_b']} B params" if "task" in inputs else f"{inputs['params_b']['value']:g} B params")
    typer.echo(f"estimate for {what}")
    for key in ("gpu", "host", "facility", "total"):
        r = data["energy_wh"][key]
        typer.echo(f"  energy {key:<9} {r['value']:.4g} Wh  ({r['low']:.3g} - {r['high']:.3g})")
    for key, unit in (("gco2e", "gCO2e"), ("water_ml", "mL"), ("embodied_gco2e", "gCO2e embodied")):
        r = data[key]
        typer.echo(f"  {key:<16} {r['value']:.4g} {unit}  ({r['low']:.3g} - {r['high']:.3g})")
    typer.echo("  ranges: 80% prediction intervals")
    if inputs.get("serving_generation"):
        typer.echo(f"  serving software: generation {inputs['serving_generation']}"
                   + (f" (tokens served in {inputs['serving_year']})" if inputs.get("serving_year") else " (newest)"))
    if inputs.get("assumed"):
        shown = {**inputs, "country": inputs.get("country") or "none (world average grid)"}
        if inputs.get("prompt_tokens_assumed"):
            shown["input_tokens"] = f"{inputs['prompt_tokens_assumed']} (reference prompt per response)"
        assumed = ", ".join(f"{k}={shown.get(k)}" for k in inputs["assumed"])
        typer.echo(f"  assumed: {assumed}")
    typer.echo("  sources: " + "; ".join(s.get("what", "") for s in data["sources"]))


@app.command("estimate")
def estimate_command(
    model: Annotated[Optional[str], typer.Option("--model", help="Model name from the register (closed models carry a parameter range).")] = None,
    params: Annotated[Optional[float], typer.Option("--params", help="Total parameters, billions.", min=0.0)] = None,
    active_params: Annotated[Optional[float], typer.Option("--active-params", help="Active parameters per token (MoE), billions.", min=0.0)] = None,
    output_tokens: Annotated[Optional[float], typer.Option("--output-tokens", help="Output (generated) tokens; an average may be fractional.", min=0.0)] = None,
    input_tokens: Annotated[float, typer.Option("--input-tokens", help="Input (prompt) tokens; an average may be fractional.", min=0.0)] = 0.0,
    requests: Annotated[Optional[int], typer.Option("--requests", help="Responses the tokens span (default 1): sets the answer length.", min=1)] = None,
    gpu: Annotated[Optional[str], typer.Option("--gpu", help="H100, A100, B200, H200, L40S, A40, V100... (default H100, assumed).")] = None,
    gpus: Annotated[Optional[int], typer.Option("--gpus", help="GPUs serving one model replica (default: by model size).", min=1)] = None,
    batch: Annotated[Optional[float], typer.Option("--batch", help="Concurrent sequences, or their measured mean (default 256, assumed: large providers' high-concurrency serving).", min=1.0)] = None,
    precision: Annotated[Optional[str], typer.Option("--precision", help="bf16, fp16, fp8, int8, fp4, int4 (default bf16).")] = None,
    country: Annotated[Optional[str], typer.Option("--country", help="ISO 3166 alpha-3 country of the data centre.")] = None,
    pue: Annotated[Optional[float], typer.Option("--pue", help="Data-centre PUE (default: industry average 1.56, assumed).", min=1.0)] = None,
    task: Annotated[_Task, typer.Option("--task", help="text-generation (tokens) or text-to-image (images).")] = _Task.text_generation,
    images: Annotated[Optional[int], typer.Option("--images", help="Images generated (text-to-image).", min=0)] = None,
    resolution: Annotated[Optional[str], typer.Option("--resolution", help="Image size WIDTHxHEIGHT (default 1024x1024).")] = None,
    steps: Annotated[Optional[int], typer.Option("--steps", help="Diffusion steps (default 50).", min=1)] = None,
    serving_year: Annotated[Optional[int], typer.Option("--serving-year", help="Year the tokens were served: picks the serving-software generation (default: the newest).", min=1900, max=2200)] = None,
    input_file: Annotated[Optional[Path], typer.Option("--input", help="CSV of many rows (params, active_params, gpu, gpus, batch_size, precision, output_tokens; optional model, input_tokens, country, requests, serving_year).", metavar="FILE.csv")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Estimate the energy, carbon, water and embodied carbon of LLM tokens or generated images."""
    if input_file is not None:
        if not as_json:
            raise typer.BadParameter("--input needs --json (it prints a JSON array)", param_hint="--input")
        from footprint.estimators.batch_csv import estimate_file, to_json_bytes

        data = to_json_bytes(estimate_file(input_file))
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    if task is _Task.text_to_image:
        if images is None:
            raise typer.BadParameter("text-to-image needs --images N", param_hint="--images")
        from footprint.estimators import estimate_images

        if batch is not None and not batch.is_integer():
            raise typer.BadParameter("an image batch is a whole number", param_hint="--batch")
        result = estimate_images(
            images=images, model=model, params_b=params, gpu=gpu, gpus=gpus, batch=None if batch is None else int(batch),
            resolution=resolution, steps=steps, country=country, pue=pue,
        )
    else:
        if (model is None) == (params is None):
            raise typer.BadParameter("give exactly one of --model or --params", param_hint="--model/--params")
        if output_tokens is None:
            raise typer.BadParameter("--output-tokens is required", param_hint="--output-tokens")
        if active_params is not None and params is None:
            raise typer.BadParameter("--active-params goes with --params", param_hint="--active-params")
        from footprint.estimators import estimate_llm

        result = estimate_llm(
            output_tokens=output_tokens, input_tokens=input_tokens, model=model, params_b=params,
            active_params_b=active_params, gpu=gpu, gpus=gpus, batch=batch, precision=precision,
            country=country, pue=pue, calibration=_calibration_for(model), requests=requests,
            serving_year=serving_year,
        )
    if as_json:
        print_json(result.to_json())
    else:
        _print_estimate(result)


# --- end estimators --------------------------------------------------------------------------


# --- ingest (issue 6) ------------------------------------------------------------------------

_PROGRESS_MIN_BYTES = 4 * 1024 * 1024  # smaller files ingest in well under a second


class _IngestProgress:
    """A rich progress bar on stderr, fed by the library's (file, percent) callback."""

    def __init__(self):
        self.bar = None
        self.tasks: dict[str, int] = {}

    def __call__(self, label: str, percent: float) -> None:
        if self.bar is None:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

            from rich.console import Console

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                                TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self.bar.start()
        if label not in self.tasks:
            self.tasks[label] = self.bar.add_task(f"ingest {label}", total=100)
        self.bar.update(self.tasks[label], completed=min(percent, 100.0))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _wants_progress(files: list[str], as_json: bool) -> bool:
    if as_json or not sys.stderr.isatty():
        return False
    import glob
    import os

    for name in files:
        candidates = glob.glob(name) if glob.has_magic(name) else [name]
        for path in candidates:
            try:
                if os.path.isdir(path) or os.path.getsize(path) > _PROGRESS_MIN_BYTES:
                    return True
            except OSError:
                continue
    return "-" in files


def _parse_map(values: Optional[list[str]]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for value in values or []:
        column, sep, target = value.partition("=")
        if not sep or not column or not target:
            raise typer.BadParameter(f"--map {value!r}: expected COLUMN=FIELD")
        mapping[column] = target
    return mapping


IngestFormat = Enum("IngestFormat", {f: f for f in ("csv", "jsonl", "parquet", "openai", "anthropic", "litellm", "ollama", "codecarbon")}, type=str)


@app.command("ingest")
def ingest_command(
    files: Annotated[list[str], typer.Argument(help="Files, globs or directories; '-' reads stdin.", metavar="FILE...")],
    fmt: Annotated[Optional[IngestFormat], typer.Option("--format", help="Input format (default: guessed from the extension and content).")] = None,
    use_case: Annotated[Optional[str], typer.Option("--use-case", help="Use case of rows that name none (required for vendor logs).", metavar="SLUG")] = None,
    mapping: Annotated[Optional[list[str]], typer.Option("--map", help="Rename a column: COLUMN=FIELD (repeat).", metavar="COLUMN=FIELD")] = None,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Keep the good rows; write bad ones to FILE.rejected.csv.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Ingest usage logs (CSV, JSONL, Parquet, OpenAI, Anthropic, LiteLLM, Ollama) or a CodeCarbon emissions.csv.

    Exactly once: rows already stored are counted, not added. Personal fields (user, email, key, prompt,
    content...) are never read; their names are listed.
    """
    from footprint.ingest import ingest_paths

    progress = _IngestProgress() if _wants_progress(files, as_json) else None
    try:
        with open_db() as store:
            summary = ingest_paths(store, files, fmt=fmt.value if fmt else None, use_case=use_case,
                                   mapping=_parse_map(mapping), skip_bad=skip_bad, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    if as_json:
        print_json(summary.to_json())
        return
    for f in summary.files:
        line = f"{f.file} ({f.source_format}): {f.rows_added} rows added, {f.rows_present} already present"
        if f.source_format == "codecarbon":
            line = f"{f.file} (codecarbon): {f.rows_added} measurements added, {f.rows_present} already present"
        if f.rows_skipped:
            line += f", {f.rows_skipped} records without usage skipped"
        if f.rows_rejected:
            line += f", {f.rows_rejected} bad rows rejected to {f.reject_file}"
        if f.rows_without_time:
            line += f", {f.rows_without_time} rows without a time"
        typer.echo(line)
    if len(summary.files) > 1:
        typer.echo(f"total: {summary.rows_added} rows added, {summary.rows_present} already present")
    if summary.fields_dropped:
        names = ", ".join(sorted(summary.fields_dropped))
        typer.echo(f"dropped {len(summary.fields_dropped)} fields, never read: {names}")


@app.command("usage")
def usage_command(
    use_case: Annotated[Optional[str], typer.Option("--use-case", help="Only this use case.", metavar="SLUG")] = None,
    quarter: Annotated[Optional[str], typer.Option("--quarter", help="Only this quarter, YYYY-Qn.")] = None,
    by: Annotated[Optional[str], typer.Option("--by", help="Group by day, month or model (always per use case and model).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingested usage: requests and tokens per use case and model."""
    from footprint.periods import parse_quarter
    from footprint.usage import GROUPINGS, usage_rows

    if by is not None and by not in GROUPINGS:
        raise typer.BadParameter(f"--by {by!r}: expected one of {', '.join(GROUPINGS)}")
    period = parse_quarter(quarter) if quarter else None
    with open_db() as store:
        rows = usage_rows(store, use_case=use_case, period=period, by=by)
    if as_json:
        print_json(rows)
        return
    columns = ([by] if by in ("day", "month") else []) + ["use_case", "model", "requests", "input_tokens", "output_tokens"]
    print_table(rows, columns)


# --- end ingest ------------------------------------------------------------------------------


# --- report (issue 7) ------------------------------------------------------------------------

site_app = typer.Typer(help="Sites (data centres) with PUE, WUE and a contractual electricity factor.", no_args_is_help=True)
app.add_typer(site_app, name="site")


class ReportFormat(str, Enum):
    html = "html"
    md = "md"
    json = "json"
    csv = "csv"
    boamps = "boamps"  # Boavizta BoAmps: a JSON array, one report per use case


class ReportLang(str, Enum):
    en = "en"
    fr = "fr"


QuarterOpt = Annotated[Optional[str], typer.Option("--quarter", help="Quarter YYYY-Qn (default: the last complete quarter with data).")]


def _report_period(store, quarter: Optional[str], start: Optional[str], end: Optional[str]):
    from footprint.accounting import default_period
    from footprint.errors import ValidationError
    from footprint.periods import date_range, parse_quarter

    if quarter and (start or end):
        raise ValidationError("give either --quarter or --from/--to, not both")
    if start or end:
        if not (start and end):
            raise ValidationError("--from and --to go together")
        return date_range(start, end)
    if quarter:
        return parse_quarter(quarter)
    return default_period(store)


@app.command("report")
def report_cmd(
    quarter: QuarterOpt = None,
    start: Annotated[Optional[str], typer.Option("--from", help="First day YYYY-MM-DD (with --to).")] = None,
    end: Annotated[Optional[str], typer.Option("--to", help="Last day YYYY-MM-DD, included.")] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="Output format.")] = ReportFormat.html,
    lang: Annotated[ReportLang, typer.Option("--lang", help="Language of the report.")] = ReportLang.en,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write to this file (atomically, owner-only).")] = None,
    allocate_idle: Annotated[bool, typer.Option("--allocate-idle", help="Share idle server energy out to the use cases it served.")] = False,
) -> None:
    """The quarterly CSR report: every use case's energy, carbon, water and embodied carbon against its benefit."""
    from footprint.reports import check_target, report_text, write_atomic

    if output is not None:
        check_target(output)
    if fmt is ReportFormat.html:
        from footprint.reports.plots import preload

        preload()  # matplotlib's import overlaps the accounting queries
    with open_db() as store:
        period = _report_period(store, quarter, start, end)
        text = report_text(store, period, fmt.value, lang.value, allocate_idle=allocate_idle)
    if output is None:
        sys.stdout.write(text)
        return
    write_atomic(output, text)
    notice(f"report for {period.label} written to {output}")


@app.command("demo")
def demo_cmd() -> None:
    """Fill the database with a realistic, deterministic demo organisation (2026-Q2 and 2026-Q3)."""
    from footprint.demo import run_demo

    summary = run_demo(state.db)
    typer.echo(f"demo: {summary.use_cases} use cases, {summary.records_added} measurement records added, "
               f"{summary.usage_rows_added} usage rows added ({summary.records_present + summary.usage_rows_present} already there)")
    typer.echo("next: footprint report --quarter 2026-Q3 -o report.html")


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback only unless --allow-remote).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8765,
    allow_remote: Annotated[bool, typer.Option("--allow-remote", help="Allow a non-loopback address (the dashboard has no login).")] = False,
    lang: Annotated[ReportLang, typer.Option("--lang", help="Language of the dashboard.")] = ReportLang.en,
) -> None:
    """Read-only transparency dashboard over the database: the register, each use case, carbon against benefit."""
    from footprint.web.server import check_host, serve

    if check_host(host, port, allow_remote):
        notice(f"warning: serving on {host}, reachable from other machines, without login (--allow-remote)")
    notice(f"serving the register on http://{host}:{port}/ (read-only; stop with Ctrl-C)")
    serve(state.db, host, port, lang.value)


@app.command("compare")
def compare_cmd(
    slugs: Annotated[list[str], typer.Argument(help="Use cases to compare (two or more).")],
    quarter: QuarterOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Side by side: energy, carbon, water, per benefit unit, measured share, model, deployment."""
    from footprint.compare import compare, compare_table

    with open_db() as store:
        period = _report_period(store, quarter, None, None)
        rows = compare(store, slugs, period)
    if as_json:
        print_json({"period": period.label, "use_cases": rows})
        return
    typer.echo(f"period {period.label}")
    print_table(compare_table(rows), ["slug", "deployment", "model", "energy_kwh", "gco2e", "water_l", "gco2e_per_benefit", "benefit_unit", "measured"])
    typer.echo("what-if: footprint estimate --model NAME --output-tokens N [--country ISO3] [--gpu H100] --json")


@site_app.command("set")
def site_set(
    name: Annotated[str, typer.Argument(help="Site name; use cases refer to it with --region NAME.")],
    pue: Annotated[Optional[float], typer.Option("--pue", help="Power usage effectiveness (>= 1).")] = None,
    wue: Annotated[Optional[float], typer.Option("--wue", help="On-site water usage effectiveness, L per kWh of IT energy.")] = None,
    market_factor: Annotated[Optional[float], typer.Option("--market-factor", help="Contractual (market-based) gCO2e/kWh.")] = None,
    country: CountryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a site or change the fields given."""
    from footprint.sites import set_site

    with open_db() as store:
        site = set_site(store, name, pue=pue, wue_l_per_kwh=wue, market_gco2e_per_kwh=market_factor, country=country)
    if as_json:
        print_json(site.to_json())
    else:
        typer.echo(f"site {site.name}: pue {site.pue}, wue {site.wue_l_per_kwh} L/kWh, market factor "
                   f"{site.market_gco2e_per_kwh} gCO2e/kWh, country {site.country}")


@site_app.command("list")
def site_list(as_json: JsonOpt = False) -> None:
    """List sites."""
    from footprint.sites import list_sites

    with open_db() as store:
        rows = [s.to_json() for s in list_sites(store)]
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["name", "pue", "wue_l_per_kwh", "market_gco2e_per_kwh", "country"])


# --- end report ------------------------------------------------------------------------------


# --- clusters (issue 8) ----------------------------------------------------------------------

collect_app = typer.Typer(help="Collect measurements from other systems (Prometheus).", no_args_is_help=True)
app.add_typer(collect_app, name="collect")


@collect_app.command("prometheus")
def collect_prometheus(
    url: Annotated[str, typer.Option("--url", help="Prometheus server, e.g. http://prometheus:9090 (the only host contacted).")],
    from_: Annotated[Optional[str], typer.Option("--from", help="Start: ISO 8601 (UTC if no offset) or unix seconds.")] = None,
    to: Annotated[Optional[str], typer.Option("--to", help="End: ISO 8601 or unix seconds (default: now).")] = None,
    step: Annotated[float, typer.Option("--step", help="Interval length in seconds (records are per step).")] = 60.0,
    config: Annotated[Optional[Path], typer.Option("--config", help="TOML map of labels to use cases ([[map]] tables).")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Keep collecting on a schedule until SIGINT/SIGTERM.")] = False,
    every: Annotated[float, typer.Option("--every", help="With --watch: seconds between collections.")] = 300.0,
    lag: Annotated[float, typer.Option("--lag", help="Stay this many seconds behind now (scrapes land late); for --watch and a missing --to.")] = 60.0,
    as_json: JsonOpt = False,
) -> None:
    """Read GPU energy (DCGM exporter, Kepler), tokens (vLLM, SGLang) and footprint's own host series from Prometheus into measurements."""
    import signal
    import threading
    import time

    from footprint import cluster
    from footprint.cluster.collect import from_unix, parse_time, to_unix
    from footprint.errors import ValidationError

    client = cluster.PrometheusClient(url)
    mapping = cluster.load_mapping(config)
    if mapping.use_cases:
        from footprint import register
        from footprint.errors import NotFoundError

        with open_db() as store:
            try:
                register.require_use_cases(store, sorted(mapping.use_cases))
            except NotFoundError as exc:
                raise NotFoundError(f"{config}: {exc}") from None

    def report(result) -> None:
        if as_json and watch:  # one JSON object per line and cycle, for a log shipper
            typer.echo(json.dumps(result.to_json(), sort_keys=True))
        elif as_json:
            print_json(result.to_json())
        elif result.start is None:
            notice("no complete step in the window: nothing collected")
        else:
            methods = ", ".join(f"{m} {n}" for m, n in sorted(result.methods.items())) or (
                "no DCGM or Kepler GPU energy series found in this window")
            typer.echo(
                f"collected {result.start.isoformat()}..{result.end.isoformat()} step {result.step_s:g}s: "
                f"{result.records} records ({result.added} new, {result.skipped_overlap} already covered), "
                f"{result.gpu_j:.1f} J GPU ({result.unallocated_j:.1f} J unallocated); {methods}"
                + (f"; {result.footprint_hosts} footprint host(s), {result.cpu_ram_j:.1f} J CPU+RAM"
                   if result.footprint_hosts else "")
            )
            if result.unlinked_token_series:
                notice(f"{result.unlinked_token_series} token series share no pod or node label with a GPU series: "
                       "their tokens split nothing (give both a common `node` label)")

    if not watch:
        if from_ is None:
            raise typer.BadParameter("--from is required (or use --watch)")
        start_s = parse_time(from_, "--from time")
        # A step whose scrape has not landed yet would be stored short and never corrected:
        # without --to, or with one in the future, stop --lag seconds before now.
        settled = time.time() - lag
        end_s = parse_time(to, "--to time") if to else settled
        if end_s > time.time():
            notice(f"--to is in the future: collecting up to {from_unix(settled).isoformat(timespec='seconds')} (now - --lag)")
            end_s = settled
        report(cluster.collect(open_db, client, start_s, end_s, step, mapping))
        return

    if to is not None:
        raise ValidationError("--to makes no sense with --watch (it collects up to now minus --lag)")
    last = None
    if from_ is not None:
        start_s = parse_time(from_, "--from time")
    else:
        with open_db() as store:
            last = cluster.last_collected(store)
        start_s = to_unix(last) if last else time.time() - lag - every
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    notice(f"watching {client.url} every {every:g}s (step {step:g}s, lag {lag:g}s); stop with Ctrl-C")
    cluster.watch(open_db, client, step, every, lag, start_s, mapping, stop, on_cycle=report,
                  on_error=lambda exc: notice(f"error: {exc} (retrying in {every:g}s)"), resumed=last is not None)
    notice("stopped")




# --- end clusters ----------------------------------------------------------------------------


def main() -> None:
    """Console entry point (errors are turned into messages by _FootprintGroup)."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
