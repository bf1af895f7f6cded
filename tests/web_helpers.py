"""Helpers for the dashboard tests: a real `footprint serve` on 127.0.0.1, and headless Debian Chromium
driven by Selenium with explicit binary and driver paths (Selenium Manager never runs, nothing is downloaded)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

FOOTPRINT = Path(sys.executable).with_name("footprint")
CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
                 if p and os.path.exists(p)), None)
CHROMEDRIVER = next((p for p in ("/usr/bin/chromedriver", shutil.which("chromedriver") or "") if p and os.path.exists(p)),
                    None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def footprint(db: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([str(FOOTPRINT), "--db", str(db), *args], capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"footprint {' '.join(args)} failed: {result.stderr}")
    return result


@contextmanager
def serving(db: Path, *extra: str):
    """`footprint serve` on a free loopback port; yields (base URL, process). Stopped with SIGTERM."""
    port = free_port()
    proc = subprocess.Popen([str(FOOTPRINT), "--db", str(db), "serve", "--port", str(port), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/api/report?quarter=2000-Q1", timeout=2).read()
                break
            except urllib.error.HTTPError:
                break  # it answered
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"serve did not start: {proc.stderr.read() if proc.poll() is not None else 'timeout'}")
                time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def chrome(profile_dir: Path, width: int = 1400, height: int = 1000):
    """A headless Chromium WebDriver using the Debian binary and driver (no Selenium Manager)."""
    os.environ["SE_OFFLINE"] = "true"  # belt and braces: Selenium never looks anything up online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                f"--user-data-dir={profile_dir}", f"--window-size={width},{height}"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
