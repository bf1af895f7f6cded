"""The GPU cross-check end to end (issue 16): collector -> spool -> store -> `measurements --json` ->
report data-quality note. NVML is faked at the module boundary as in test_gpu_nvml.py."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pynvml
import pytest

from footprint.collectors.session import Instruments, IntervalCollector
from footprint.periods import parse_quarter
from footprint.reports import build_report
from footprint.reports.md_report import render_md
from footprint.spool import SpoolWriter, encode_record
from footprint.store import open_store
from report_helpers import add_uc, insert, rec
from test_gpu_nvml import Clock, FakeGpu, fake_nvml  # noqa: F401 - the fixture

T0 = datetime(2026, 11, 2, 9)


def test_every_record_carries_the_cross_check_and_disagreement_is_flagged(fake_nvml, db_path, invoke, monkeypatch):
    with open_store(db_path) as store:
        add_uc(store, "chat")
    clock = Clock()
    import footprint.collectors.gpu.nvml as nvml_mod

    real_init = nvml_mod.NvmlGpuDevices.__init__
    monkeypatch.setattr(nvml_mod.NvmlGpuDevices, "__init__",
                        lambda self, selection=None, **kw: real_init(self, selection, **{**kw, "clock": clock,
                                                                                         "start_poller": False}))
    # the counter says 300 W, power usage 200 W: they disagree (ratio 1.5), and both are kept
    fake_nvml([FakeGpu("GPU-h200", name="NVIDIA H200", arch=pynvml.NVML_DEVICE_ARCH_HOPPER,
                       counter=lambda: 300 * clock.t * 1000, usage=lambda: 200_000)])
    writer = SpoolWriter(db_path)
    instruments = Instruments(None, use_env=False)
    instruments.wait()
    collector = IntervalCollector(use_case="chat", source="monitor", writer=writer, instruments=instruments)
    collector.begin(T0, 0.0)
    for k in range(1, 3):
        for _ in range(5):
            clock.t += 1.0
            instruments.sample()
        collector.record(end=(T0 + timedelta(seconds=5 * k), clock.t))
    writer.close()
    instruments.close()
    # and a record with no GPU at all (null: nothing to cross-check)
    with open_store(db_path) as store:
        insert(store, [rec("no-gpu", T0 + timedelta(minutes=1), use_case="chat", gpu=None)])

    result = invoke("measurements", "--use-case", "chat", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 3 and all("gpu_crosscheck_ratio" in r and "gpu_crosscheck_disagrees" in r for r in rows)
    measured = [r for r in rows if r["gpu_j"] is not None]
    assert [r["gpu_j"] for r in measured] == pytest.approx([1500.0, 1500.0])  # the counter, never replaced
    assert all(r["gpu_crosscheck_ratio"] == pytest.approx(1.5) and r["gpu_crosscheck_disagrees"] for r in measured)
    no_gpu = next(r for r in rows if r["gpu_j"] is None)
    assert no_gpu["gpu_crosscheck_ratio"] is None and no_gpu["gpu_crosscheck_disagrees"] is None


def test_spool_segments_written_before_the_cross_check_still_drain(db_path):
    record = rec("old-1", T0, use_case="chat")
    line = json.loads(encode_record(record))
    del line["gpu_crosscheck_ratio"], line["gpu_crosscheck_disagrees"]
    writer = SpoolWriter(db_path)
    writer.dir.mkdir(parents=True, exist_ok=True)
    (writer.dir / "oldhost_1_1_1.done").write_text(json.dumps(line) + "\n")
    bad = dict(line, record_id="old-bad", gpu_crosscheck_ratio="1.0")  # a mistyped ratio is skipped
    (writer.dir / "oldhost_1_2_1.done").write_text(json.dumps(bad) + "\n")
    with open_store(db_path) as store:
        rows = store.execute("SELECT record_id, gpu_crosscheck_ratio, gpu_crosscheck_disagrees FROM measurements").fetchall()
    assert rows == [("old-1", None, None)]


def test_report_counts_disagreeing_intervals_in_the_use_case_note(store):
    add_uc(store, "chat")
    add_uc(store, "search")
    insert(store, [
        rec("a", T0, use_case="chat", gpu_crosscheck_ratio=1.4, gpu_crosscheck_disagrees=True),
        rec("b", T0 + timedelta(minutes=1), use_case="chat", gpu_crosscheck_ratio=1.02, gpu_crosscheck_disagrees=False),
        rec("c", T0 + timedelta(minutes=2), use_case="chat", gpu_crosscheck_ratio=0.8, gpu_crosscheck_disagrees=True),
        rec("d", T0 + timedelta(minutes=3), use_case="search"),
        # a shared interval split between both use cases by tokens counts for each
        rec("e", T0 + timedelta(minutes=4), shared=True, tokens=(("chat", 0, 10), ("search", 0, 10)),
            gpu_crosscheck_ratio=1.3, gpu_crosscheck_disagrees=True),
    ])
    report = build_report(store, parse_quarter("2026-Q4"))
    counts = {u["slug"]: u["gpu_crosscheck_disagreements"] for u in report["use_cases"]}
    assert counts == {"chat": 3, "search": 1}
    en, fr = render_md(report, "en"), render_md(report, "fr")
    assert "3 interval(s) where the GPU energy counter and NVML power usage disagreed by more than 10%" in en
    assert "3 intervalle(s) où le compteur d'énergie GPU et la puissance NVML diffèrent" in fr
    from footprint.reports.html_report import render_html

    html = render_html(report, "en")
    assert "1 interval(s) where the GPU energy counter" in html
