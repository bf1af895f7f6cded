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
from footprint.records import Deployment, Purpose, Status


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



# --- end collectors --------------------------------------------------------------------------


# --- estimators (issue 5) --------------------------------------------------------------------



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



# --- end report ------------------------------------------------------------------------------


# --- clusters (issue 8) ----------------------------------------------------------------------



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
