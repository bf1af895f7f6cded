"""Regenerate the README's dashboard screenshots: `.venv/bin/python docs/screenshots/make_screenshots.py`.

Fills a throw-away demo database, starts `footprint serve` on a free loopback port and photographs each
page with headless Debian Chromium (the tests' helpers: explicit binary and driver, nothing downloaded).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))

from web_helpers import chrome, footprint, serving  # noqa: E402

PAGES = {"register": "/", "use-case": "/use-case/code-assist", "pareto": "/pareto?quarter=2026-Q3"}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="footprint-shots-") as tmp:
        db = Path(tmp) / "footprint.duckdb"
        footprint(db, "demo")
        with serving(db) as (base, _):
            driver = chrome(Path(tmp) / "profile", width=1400, height=1000)
            try:
                for name, path in PAGES.items():
                    driver.get(base + path)
                    driver.save_screenshot(str(HERE / f"{name}.png"))
                    print(f"wrote {HERE / f'{name}.png'}")
            finally:
                driver.quit()


if __name__ == "__main__":
    main()
