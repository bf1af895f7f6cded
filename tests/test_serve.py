"""`footprint serve`: host policy, read-only pages over a real server, /api/report = the CLI's JSON bytes."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from web_helpers import FOOTPRINT, footprint, free_port, get, serving

HOSTILE = '<script>alert("x")</script>'
EXTERNAL = re.compile(r'((src|href|action)=["\']?(https?:|//)|url\(["\']?(https?:|//)|@import|<script)', re.I)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("serve") / "footprint.duckdb"
    footprint(db, "demo")
    footprint(db, "usecase", "add", "hostile", "--name", HOSTILE, "--team", "<b>ops</b>", "--status", "idea",
              "--deployment", "api", "--data-location", "outside-eu")
    return db


@pytest.fixture(scope="module")
def server(demo_db):
    with serving(demo_db) as (base, proc):
        yield base


def test_non_loopback_host_is_refused_with_one_line(invoke):
    result = invoke("serve", "--host", "0.0.0.0", "--port", str(free_port()))
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "--allow-remote" in result.output and "Traceback" not in result.output
    assert invoke("serve", "--port", "70000").exit_code == 1


def test_allow_remote_says_so_on_stderr(demo_db):
    port = free_port()
    proc = subprocess.Popen([str(FOOTPRINT), "--db", str(demo_db), "serve", "--host", "0.0.0.0", "--port", str(port),
                             "--allow-remote"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "0.0.0.0" in first and "other machines" in first and "--allow-remote" in first


def test_api_report_is_byte_identical_to_the_cli(server, demo_db):
    for quarter in ("2026-Q3", "2026-Q2"):
        cli = footprint(demo_db, "report", "--quarter", quarter, "--format", "json").stdout.encode("utf-8")
        status, headers, body = get(f"{server}/api/report?quarter={quarter}")
        assert status == 200 and headers["content-type"].startswith("application/json")
        assert body == cli
    assert json.loads(body)["period"]["label"] == "2026-Q2"


def test_api_report_bad_quarter_is_a_400_with_a_message(server):
    status, _, body = get(f"{server}/api/report?quarter=2026-Q9")
    assert status == 400 and "2026-Q9" in json.loads(body)["error"]


def test_register_lists_every_use_case_with_register_fields(server, demo_db):
    status, headers, body = get(server + "/")
    page = body.decode("utf-8")
    assert status == 200
    slugs = [u["slug"] for u in json.loads(footprint(demo_db, "usecase", "list", "--json").stdout)]
    assert len(slugs) == 8
    for slug in slugs:
        assert f'data-slug="{slug}"' in page, slug
    for text in ("Where its data is processed", "outside the EU", "in the EU", "on-prem (own premises)",
                 "Last consultation of staff representatives", "14 October 2025", "no consultation recorded",
                 "retired on 14 August 2026", "quarterly survey of 45 developers", "Measured share"):
        assert text in page, text
    assert 'selected>2026-Q3' in page  # the last complete quarter with data by default


def test_hostile_text_is_escaped_and_nothing_is_loaded_from_outside(server):
    for path in ("/", "/use-case/hostile", "/pareto", "/use-case/code-assist"):
        status, headers, body = get(server + path)
        page = body.decode("utf-8")
        assert status == 200, path
        assert HOSTILE not in page and "<b>ops</b>" not in page
        assert not EXTERNAL.search(page), (path, EXTERNAL.search(page))
        assert "default-src 'none'" in headers["content-security-policy"]
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in get(server + "/use-case/hostile")[2].decode()


def test_quarter_and_team_filters(server):
    q3 = get(server + "/?quarter=2026-Q3")[2].decode()
    q2 = get(server + "/?quarter=2026-Q2")[2].decode()
    total = re.compile(r'id="totals">\s*<div class="kpi"><div class="v">([^<]+)')
    assert total.search(q3).group(1) != total.search(q2).group(1)
    everyone = get(server + "/pareto?quarter=2026-Q3")[2].decode()
    grants = get(server + "/pareto?quarter=2026-Q3&team=Grants+department")[2].decode()
    assert everyone.count("<tr data-slug=") == 8 and grants.count("<tr data-slug=") == 1
    assert 'data-slug="decision-support"' in grants and "<svg" in grants


def test_use_case_page_shows_quarters_side_by_side_and_what_changed(server):
    page = get(server + "/use-case/doc-gen")[2].decode()
    assert "<th>2026-Q2</th><th>2026-Q3</th>" in page
    assert "What changed and why" in page and "2026-Q2 → 2026-Q3" in page
    assert "320 pages drafted" in page and "410 pages drafted" in page
    assert "Data-quality notes" in page and "Accounting rules" in page
    tender = get(server + "/use-case/tender-analysis")[2].decode()
    assert "estimated from token counts" in tender and "Estimate sources" in tender


def test_unknown_pages_and_bad_input(server):
    assert get(server + "/use-case/nope")[0] == 404
    status, _, body = get(server + "/?quarter=2026-Q7")
    assert status == 400 and "2026-Q7" in body.decode()
    assert get(server + "/pareto?quarter=x")[0] == 400


def test_never_writes_and_never_blocks_a_writer(demo_db, tmp_path):
    db = tmp_path / "copy.duckdb"
    footprint(db, "demo")
    before = db.stat().st_mtime_ns
    with serving(db) as (base, _):
        assert get(base + "/")[0] == 200 and get(base + "/use-case/code-assist")[0] == 200
        assert db.stat().st_mtime_ns == before  # read-only: nothing written by serving pages
        # A writing command goes through while the server runs, and the next page shows its change.
        footprint(db, "usecase", "add", "late-comer", "--name", "Late comer", "--team", "IT", "--status", "idea",
                  "--deployment", "api")
        assert 'data-slug="late-comer"' in get(base + "/")[2].decode()


def test_missing_database_is_a_one_line_error(tmp_path):
    result = subprocess.run([str(FOOTPRINT), "--db", str(tmp_path / "none.duckdb"), "serve", "--port", str(free_port())],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "no database" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "none.duckdb").exists()


def test_help_and_json_report_do_not_import_the_web_stack(demo_db):
    probe = ("import sys, cli\nsys.argv = ['footprint'] + sys.argv[1:]\ntry:\n    cli.main()\nexcept SystemExit:\n    pass\n"
             "print('\\nLOADED', sorted(m for m in ('jinja2', 'starlette', 'uvicorn', 'markupsafe') if m in sys.modules),"
             " file=sys.stderr)")
    for args in (["--help"], ["--db", str(demo_db), "report", "--quarter", "2026-Q3", "--format", "json"]):
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120)
        assert "LOADED []" in result.stderr, (args, result.stderr[-300:])


def test_french_dashboard(demo_db):
    with serving(demo_db, "--lang", "fr") as (base, _):
        page = get(base + "/?quarter=2026-Q3")[2].decode()
        assert '<html lang="fr">' in page and "Registre de transparence" in page and "hors UE" in page
        assert "Dernière consultation des représentants du personnel" in page
        assert get(base + "/use-case/doc-gen")[0] == 200 and get(base + "/pareto")[0] == 200


def test_a_register_without_any_data_still_shows(tmp_path):
    db = tmp_path / "empty.duckdb"
    footprint(db, "usecase", "add", "idea-only", "--name", "Just an idea", "--team", "IT", "--status", "idea",
              "--deployment", "on-prem", "--data-location", "on-prem")
    with serving(db) as (base, _):
        status, _, body = get(base + "/")
        assert status == 200 and 'data-slug="idea-only"' in body.decode()
        assert get(base + "/use-case/idea-only")[0] == 200 and get(base + "/pareto")[0] == 200
        assert get(base + "/api/report")[0] == 404  # no complete quarter with data: the CLI's message, as JSON
