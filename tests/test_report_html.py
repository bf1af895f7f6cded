"""HTML report: self-contained, escaped, charts, French, and what a browser really shows."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile

import pytest

from footprint.periods import parse_quarter
from footprint.reports import build_report, render
from report_helpers import XSS_NAME, XSS_TEAM, StandInEstimator, small_org

Q3 = parse_quarter("2026-Q3")
EXTERNAL = re.compile(r'(src=["\']?(https?:|//)|url\(["\']?(https?:|//)|<link[^>]+href=|@import|<script)', re.I)


@pytest.fixture
def report(store):
    small_org(store, with_usage=True)
    return build_report(store, Q3, estimator=StandInEstimator())


@pytest.fixture
def html_en(report):
    return render(report, "html", "en")


def test_user_text_is_escaped(html_en):
    assert XSS_NAME not in html_en and XSS_TEAM not in html_en
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html_en  # markupsafe (Jinja2) entities
    assert "&lt;img src=x onerror=alert(1)&gt;" in html_en
    assert "survey &lt;b&gt;Q3&lt;/b&gt;" in html_en
    assert "<script" not in html_en.lower()


def test_self_contained_with_charts(html_en):
    assert not EXTERNAL.search(html_en)
    charts = re.findall(r'<img src="data:image/svg\+xml;base64,', html_en)
    assert len(charts) >= 3
    assert "<style>" in html_en and "@media print" in html_en


def test_sections_present(html_en, report):
    for text in ("ESRS E1-5 / E1-6", "Scope 2, location-based", "Scope 3 cat. 1", "Methodology", "Factors used",
                 "measured:nvml-counter", "Use cases without a documented benefit", "Idle and unallocated energy",
                 "Trend against the previous period", "Uptime Institute"):
        assert text in html_en, text


def test_french_report(report):
    fr = render(report, "html", "fr")
    assert re.search(r'<html[^>]*lang="fr"', fr)
    assert "du 1er juillet 2026 au 30 septembre 2026" in fr
    assert "Méthodologie" in fr and "Facteurs utilisés" in fr and "Aucun bénéfice documenté" in fr
    total = report["totals"]["energy_kwh"]["value"]
    assert f"{total:.2f}".replace(".", ",") in fr  # decimal comma
    assert "\u00a0kWh" in fr  # no-break space before the unit
    assert "Énergie" in fr and "Energy consumption" not in fr
    # engine texts too: methods and what each factor is used for
    assert "Compteur d&#39;énergie du GPU lu par NVML" in fr and "GPU energy counter read through NVML" not in fr
    assert "intensité carbone du réseau FRA" in fr and "PUE when neither" not in fr


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_headless_chromium_shows_totals_and_charts_offline(tmp_path, html_en, report):
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (Debian package `chromium`; .ci/run installs it)")
    page = tmp_path / "report.html"
    page.write_text(html_en, encoding="utf-8")
    profile = tempfile.mkdtemp(dir=tmp_path)
    # A page that counts loaded images and resources: any network request would show up as a resource
    # entry with an http(s) URL; the script is added to this test copy only, never to the report.
    probe = html_en.replace(
        "</body>",
        "<script>window.addEventListener('load',()=>{const imgs=[...document.images];"
        "document.body.setAttribute('data-probe',JSON.stringify({loaded:imgs.filter(i=>i.complete&&i.naturalWidth>0).length,"
        "external:performance.getEntriesByType('resource').map(e=>e.name).filter(n=>!n.startsWith('data:'))}));});</script></body>")
    probed = tmp_path / "probe.html"
    probed.write_text(probe, encoding="utf-8")
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
            "--virtual-time-budget=3000"]
    dom = subprocess.run(args + ["--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=90).stdout
    assert 'id="totals"' in dom
    total_kwh = report["totals"]["energy_kwh"]["value"]
    from footprint.reports.i18n import number

    assert number(total_kwh, "en") + " kWh" in dom
    import html as html_mod
    import json

    match = re.search(r'data-probe="([^"]*)"', dom)
    assert match, "probe script did not run"
    probe_data = json.loads(html_mod.unescape(match.group(1)))
    assert probe_data["loaded"] >= 3, probe_data
    assert probe_data["external"] == [], probe_data
    shot = tmp_path / "shot.png"
    subprocess.run(args + [f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri()], capture_output=True,
                   timeout=90)
    assert shot.exists() and shot.stat().st_size > 10_000
