"""CodeCarbon's emissions.csv: its cpu/gpu/ram energy (kWh) become measured interval records.

CodeCarbon appends, at each flush, the run's totals so far (energy and duration since the run
started): rows of one run_id are cumulative, so each row's interval and energy are its difference
from the previous row of that run. Rows without a run_id (older versions) are whole runs.
The timestamp is the row's end (CodeCarbon writes local time without a zone: taken as UTC).
Read: timestamp, project_name, run_id, duration and the three energies; nothing else.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb

from footprint.errors import InputFileError
from footprint.ingest.plan import quote_ident
from footprint.ingest.source import CSV_AS_TEXT, Source, file_columns
from footprint.records import IntervalRecord
from footprint.units import kwh_to_j

METHOD = "measured:codecarbon"
SOURCE = "codecarbon-csv"
READ = ("timestamp", "project_name", "run_id", "duration", "cpu_energy", "gpu_energy", "ram_energy")
REQUIRED = ("timestamp", "duration")


def columns(conn, source: Source) -> list[str]:
    return file_columns(conn, source, CSV_AS_TEXT, "codecarbon")


def _query(present: list[str]) -> str:
    def col(name: str) -> str:
        return quote_ident(name) if name in present else "NULL"

    def number(name: str) -> str:
        return f"try_cast({col(name)} AS DOUBLE)"

    # One scan: the row number (for messages), the parsed values, and each run's previous totals.
    return f"""
    WITH raw AS (
        SELECT row_number() OVER () AS rn,
               {col('timestamp')}::VARCHAR AS ts_raw,
               CAST(try_cast({col('timestamp')} AS TIMESTAMPTZ) AS TIMESTAMP) AS ts,
               {col('project_name')}::VARCHAR AS project_name,
               {col('run_id')}::VARCHAR AS run_id,
               {col('duration')}::VARCHAR AS duration_raw, {number('duration')} AS duration_s,
               {col('cpu_energy')}::VARCHAR AS cpu_raw, {number('cpu_energy')} AS cpu_kwh,
               {col('gpu_energy')}::VARCHAR AS gpu_raw, {number('gpu_energy')} AS gpu_kwh,
               {col('ram_energy')}::VARCHAR AS ram_raw, {number('ram_energy')} AS ram_kwh
          FROM read_csv($path, header = true, all_varchar = true)
    )
    SELECT rn, ts_raw, ts, project_name, run_id, duration_raw, duration_s, cpu_raw, cpu_kwh, gpu_raw, gpu_kwh,
           ram_raw, ram_kwh,
           lag(duration_s) OVER run AS prev_duration_s,
           lag(cpu_kwh) OVER run AS prev_cpu_kwh,
           lag(gpu_kwh) OVER run AS prev_gpu_kwh,
           lag(ram_kwh) OVER run AS prev_ram_kwh
      FROM raw
    WINDOW run AS (PARTITION BY CASE WHEN run_id IS NULL THEN 'row-' || rn ELSE run_id END ORDER BY duration_s, rn)
     ORDER BY rn
    """


def _bad(display: str, line: int, field: str, problem: str) -> InputFileError:
    return InputFileError(f"{display}:{line}: field {field}: {problem}")


def read_records(
    conn, source: Source, use_case: str | None, known: list[str], skip_bad: bool = False
) -> tuple[list[IntervalRecord], tuple[str, ...], list[tuple[int, str]]]:
    """(records, fields dropped, [(line, problem)] of rows skipped with skip_bad)."""
    present = columns(conn, source)
    for name in REQUIRED:
        if name not in present:
            raise _bad(source.display, 1, name, "missing column (is this a CodeCarbon emissions.csv?)")
    if not any(n in present for n in ("cpu_energy", "gpu_energy", "ram_energy")):
        raise _bad(source.display, 1, "cpu_energy", "missing column (no cpu_energy, gpu_energy or ram_energy)")
    dropped = tuple(sorted(c for c in present if c not in READ))
    try:
        rows = conn.execute(_query(present), {"path": source.path}).fetchall()
    except duckdb.Error as exc:
        raise InputFileError(f"{source.display}: cannot read as codecarbon: {str(exc).splitlines()[0]}") from None
    records: list[IntervalRecord] = []
    rejects: list[tuple[int, str]] = []
    known_set = set(known)
    for (rn, ts_raw, ts, project, run_id, dur_raw, dur, cpu_raw, cpu, gpu_raw, gpu, ram_raw, ram,
         prev_dur, prev_cpu, prev_gpu, prev_ram) in rows:
        line = rn + 1
        try:
            slug = use_case or project
            if ts is None:
                raise _bad(source.display, line, "timestamp", "missing" if ts_raw is None else f"not a timestamp: {ts_raw[:40]!r}")
            if dur is None or dur != dur or dur < 0 or dur == float("inf"):
                raise _bad(source.display, line, "duration", f"not a duration in seconds >= 0: {str(dur_raw)[:40]!r}")
            for name, raw, value in (("cpu_energy", cpu_raw, cpu), ("gpu_energy", gpu_raw, gpu), ("ram_energy", ram_raw, ram)):
                if raw is not None and (value is None or value != value or value < 0 or value == float("inf")):
                    raise _bad(source.display, line, name, f"not an energy in kWh >= 0: {raw[:40]!r}")
            if slug is None:
                raise _bad(source.display, line, "project_name", "missing (give --use-case)")
            if slug not in known_set:
                raise _bad(source.display, line, "project_name" if use_case is None else "use_case",
                           f"unknown use case {slug[:40]!r} (register it with footprint usecase add, or give --use-case)")
        except InputFileError as exc:
            if not skip_bad:
                raise
            rejects.append((line, str(exc).split(": ", 1)[1]))
            continue
        # Cumulative rows of one run: this row's share is the difference from the previous one.
        cumulative = prev_dur is not None and dur >= prev_dur
        span_s = dur - prev_dur if cumulative else dur

        def delta(value, previous):
            if value is None:
                return None
            if cumulative and previous is not None and value >= previous:
                return kwh_to_j(value - previous)
            return kwh_to_j(value)

        gpu_j, cpu_j, ram_j = delta(gpu, prev_gpu), delta(cpu, prev_cpu), delta(ram, prev_ram)
        key = "|".join(str(v) for v in (ts_raw, project, run_id, dur_raw, cpu_raw, gpu_raw, ram_raw))
        records.append(IntervalRecord(
            record_id="codecarbon:" + _digest(key),
            use_case=slug,
            host=f"codecarbon-run:{run_id}" if run_id else "codecarbon",
            start=ts - timedelta(seconds=span_s),
            end=ts,
            source=SOURCE,
            gpu_j=gpu_j,
            cpu_j=cpu_j,
            ram_j=ram_j,
            gpu_method=METHOD if gpu_j is not None else None,
            cpu_method=METHOD if cpu_j is not None else None,
            ram_method=METHOD if ram_j is not None else None,
        ))
    return records, dropped, rejects


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:32]
