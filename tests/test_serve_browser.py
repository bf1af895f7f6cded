"""The dashboard in a real browser: headless Debian Chromium driven by Selenium (explicit binary and
driver: nothing downloaded), against `footprint serve` started on a free loopback port."""

from __future__ import annotations

import json

import pytest

from web_helpers import CHROMEDRIVER, CHROMIUM, chrome, footprint, serving

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="chromium and chromedriver are not installed (Debian packages `chromium`, `chromium-driver`; .ci/run installs them)",
)
HOSTILE = "<script>alert('pwned')</script>"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    db = root / "footprint.duckdb"
    footprint(db, "demo")
    footprint(db, "usecase", "add", "hostile-name", "--name", HOSTILE, "--team", "Security <img src=x onerror=alert(1)>",
              "--status", "idea", "--deployment", "api")
    slugs = [u["slug"] for u in json.loads(footprint(db, "usecase", "list", "--json").stdout)]
    with serving(db) as (base, _):
        driver = chrome(root / "profile")
        try:
            yield base, driver, slugs, root
        finally:
            driver.quit()


def _no_external_requests(driver, base):
    names = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return [n for n in names if not n.startswith(base) and not n.startswith("data:")]


def test_register_lists_every_demo_use_case(site):
    base, driver, slugs, _ = site
    from selenium.webdriver.common.by import By

    driver.get(base + "/")
    rows = driver.find_elements(By.CSS_SELECTOR, "#register tbody tr")
    assert sorted(r.get_attribute("data-slug") for r in rows) == sorted(slugs)
    assert len(slugs) == 8
    assert _no_external_requests(driver, base) == []


def test_hostile_name_shows_as_text(site):
    base, driver, _, _ = site
    from selenium.webdriver.common.by import By

    for path in ("/", "/use-case/hostile-name"):
        driver.get(base + path)
        assert driver.find_elements(By.TAG_NAME, "script") == []
        assert driver.find_elements(By.CSS_SELECTOR, "img[src='x']") == []
        assert HOSTILE in driver.find_element(By.TAG_NAME, "body").text
    assert driver.title.startswith(HOSTILE)


def test_quarter_filter_changes_the_figures(site):
    base, driver, _, _ = site
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver.get(base + "/")
    q3_total = driver.find_element(By.CSS_SELECTOR, "#totals .kpi .v").text
    q3_row = driver.find_element(By.CSS_SELECTOR, "tr[data-slug='code-analysis'] td.energy").text
    Select(driver.find_element(By.ID, "quarter")).select_by_value("2026-Q2")
    driver.find_element(By.ID, "apply").click()
    WebDriverWait(driver, 20).until(lambda d: "quarter=2026-Q2" in d.current_url)
    q2_total = driver.find_element(By.CSS_SELECTOR, "#totals .kpi .v").text
    q2_row = driver.find_element(By.CSS_SELECTOR, "tr[data-slug='code-analysis'] td.energy").text
    assert q2_total != q3_total and q2_row != q3_row
    assert "kWh" in q2_total and "kWh" in q2_row

    driver.get(base + "/pareto?quarter=2026-Q3")
    before = len(driver.find_elements(By.CSS_SELECTOR, "#pareto tbody tr"))
    Select(driver.find_element(By.ID, "team")).select_by_visible_text("Public procurement")
    driver.find_element(By.ID, "apply").click()
    WebDriverWait(driver, 20).until(lambda d: "team=" in d.current_url)
    after = [r.get_attribute("data-slug") for r in driver.find_elements(By.CSS_SELECTOR, "#pareto tbody tr")]
    assert before == 8 and after == ["tender-analysis"]
    assert driver.find_elements(By.CSS_SELECTOR, "#pareto-chart circle")


def test_a_screenshot_of_each_page(site):
    base, driver, _, root = site
    shots = {"register": "/", "use-case": "/use-case/code-assist", "pareto": "/pareto?quarter=2026-Q3"}
    for name, path in shots.items():
        driver.get(base + path)
        target = root / f"{name}.png"
        assert driver.save_screenshot(str(target))
        assert target.stat().st_size > 20_000, name
        assert _no_external_requests(driver, base) == [], path
