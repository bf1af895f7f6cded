"""`footprint report` and `footprint site` from the command line: options, files, errors."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

from footprint.store import open_store
from report_helpers import small_org


def _org(db_path):
    with open_store(db_path) as store:
        small_org(store)


def test_report_json_to_file_is_owner_only_and_deterministic(invoke, db_path, tmp_path):
    _org(db_path)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for out in (a, b):
        result = invoke("report", "--quarter", "2026-Q3", "--format", "json", "-o", str(out))
        assert result.exit_code == 0, result.output
    assert a.read_bytes() == b.read_bytes()
    assert stat.S_IMODE(a.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left
    data = json.loads(a.read_text())
    assert data["period"]["label"] == "2026-Q3"


def test_report_defaults_to_last_complete_quarter_with_data(invoke, db_path):
    _org(db_path)
    result = invoke("report", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["period"]["label"] == "2026-Q3"


def test_report_date_range_and_formats(invoke, db_path):
    _org(db_path)
    result = invoke("report", "--from", "2026-04-01", "--to", "2026-09-30", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    chat = next(u for u in data["use_cases"] if u["slug"] == "chat")
    assert chat["benefit"]["value"] == 220  # both quarters' claims
    for fmt in ("csv", "md"):
        result = invoke("report", "--quarter", "2026-Q3", "--format", fmt, "--lang", "fr")
        assert result.exit_code == 0 and result.stdout


def test_report_bad_input_is_one_line_and_writes_nothing(invoke, db_path, tmp_path):
    _org(db_path)
    result = invoke("report", "--quarter", "2026-Q5")
    assert result.exit_code != 0
    out = tmp_path / "missing-dir" / "r.html"
    result = invoke("report", "--quarter", "2026-Q3", "-o", str(out))
    assert result.exit_code != 0 and not out.parent.exists()
    result = invoke("report", "--quarter", "2026-Q3", "--from", "2026-01-01", "--to", "2026-02-01")
    assert result.exit_code != 0
    result = invoke("report", "--format", "pdf")
    assert result.exit_code == 2


def test_report_error_exit_code_through_console_script(db_path, tmp_path):
    env = {**os.environ, "FOOTPRINT_DB": str(db_path)}
    proc = subprocess.run([sys.executable, "-c", "from footprint import cli; cli.main()", "report", "--quarter", "2026-Q9"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: bad period") and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-c", "from footprint import cli; cli.main()", "report"], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 1 and "no complete quarter with data" in proc.stderr


def test_existing_output_is_replaced_whole(invoke, db_path, tmp_path):
    _org(db_path)
    out = tmp_path / "r.html"
    out.write_text("old")
    result = invoke("report", "--quarter", "2026-Q3", "-o", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")


def test_site_set_and_list(invoke):
    result = invoke("site", "set", "dc1", "--pue", "1.3", "--wue", "0.4", "--market-factor", "25", "--country", "fra")
    assert result.exit_code == 0, result.output
    result = invoke("site", "set", "dc1", "--pue", "1.25")
    assert result.exit_code == 0
    result = invoke("site", "list", "--json")
    assert json.loads(result.stdout) == [
        {"name": "dc1", "pue": 1.25, "wue_l_per_kwh": 0.4, "market_gco2e_per_kwh": 25.0, "country": "FRA"}]
    assert invoke("site", "set", "dc2", "--pue", "0.8").exit_code == 1
    assert invoke("site", "set", "dc2", "--country", "XXX").exit_code == 1


def test_only_the_html_report_loads_matplotlib(db_path, tmp_path):
    _org(db_path)
    env = {**os.environ, "FOOTPRINT_DB": str(db_path)}
    code = ("import sys\nfrom footprint import cli\nsys.argv = ['footprint'] + sys.argv[1:]\n"
            "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
            "print('MATPLOTLIB', 'matplotlib' in sys.modules)")
    for fmt, loaded in (("json", False), ("csv", False), ("html", True)):
        out = tmp_path / f"r.{fmt}"
        proc = subprocess.run([sys.executable, "-c", code, "report", "--quarter", "2026-Q3", "--format", fmt,
                               "-o", str(out)], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr
        assert f"MATPLOTLIB {loaded}" in proc.stdout, (fmt, proc.stdout)
        assert out.stat().st_size > 0
    assert (tmp_path / "r.html").read_text(encoding="utf-8").count("data:image/svg+xml") == 4
