"""Offline: no command opens a network connection, except to a URL the user gave.

Every footprint process (and every Python process it starts: CodeCarbon's CPU detection, a `run`
child) gets an audit hook through sitecustomize.py on PYTHONPATH that logs each socket.connect,
socket.getaddrinfo, gethostbyname/gethostbyaddr, sendto and urllib.Request. The log must stay empty.
"""

from __future__ import annotations

import http.server
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from reliability_helpers import AUDIT_HOOK, EXE, add_use_case, base_env, footprint, has_command, monitor_scraping, wait_until_spooled


@pytest.fixture
def hooked(tmp_path):
    """Environment with the audit hook, a fresh database and a fresh (empty) CPU-profile cache."""
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(AUDIT_HOOK)
    log = tmp_path / "net.log"
    log.write_text("")
    env = base_env(tmp_path / "data" / "fp.duckdb", tmp_path / "cache")
    env["PYTHONPATH"] = str(hook_dir)
    env["FOOTPRINT_NET_LOG"] = str(log)
    return env, log


def events(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.strip()]


def test_the_hook_sees_a_connection(hooked):
    """The probe itself works: a connection attempt from a hooked process is logged."""
    env, log = hooked
    code = "import socket\ntry:\n socket.create_connection(('192.0.2.1', 9), timeout=0.01)\nexcept OSError:\n pass"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert any("socket.connect" in e and "192.0.2.1" in e for e in events(log))
    assert any("socket.getaddrinfo" in e for e in events(log))


def test_register_estimate_run_monitor_doctor_measurements_open_no_connection(hooked, tmp_path):
    env, log = hooked
    add_use_case(env)
    steps = [
        ("doctor", "--json"),  # detects the CPU with CodeCarbon (empty cache) in this process
        ("estimate", "--model", "gpt-4o", "--output-tokens", "500", "--json"),
        ("estimate", "--params", "70", "--output-tokens", "300", "--country", "FRA", "--gpu", "H100"),
        ("run", "--use-case", "job", "--interval", "0.2", "--", sys.executable, "-c", "import time; time.sleep(0.5)"),
        ("measurements", "--json"),
        ("usecase", "list", "--json"),
    ]
    for args in steps:
        done = footprint(*args, env=env)
        assert done.returncode == 0, (args, done.stderr)
    assert events(log) == []
    # A fresh cache: CodeCarbon's detection subprocess (the `run` profile path) is hooked too.
    (tmp_path / "cache" / "cpu-profile.json").unlink()
    proc = subprocess.Popen([EXE, "monitor", "--use-case", "job", "--interval", "0.2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until_spooled(env, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "interval(s) spooled" in err
    assert (tmp_path / "cache" / "cpu-profile.json").exists()  # detection ran, under the hook
    assert events(log) == []
    assert footprint("measurements", "--json", env=env).returncode == 0


@pytest.mark.skipif(not has_command("demo"), reason="footprint demo/report not merged in this build yet")
def test_demo_and_every_report_format_open_no_connection(hooked, tmp_path):
    env, log = hooked
    done = footprint("demo", env=env)
    assert done.returncode == 0, done.stderr
    for fmt in ("html", "md", "json", "csv"):
        out = tmp_path / f"report.{fmt}"
        done = footprint("report", "--format", fmt, "-o", str(out), env=env)
        assert done.returncode == 0, (fmt, done.stderr)
        assert out.stat().st_size > 0
    done = footprint("report", "--format", "html", "--lang", "fr", "-o", str(tmp_path / "fr.html"), env=env)
    assert done.returncode == 0, done.stderr
    assert events(log) == []


@pytest.mark.skipif(not has_command("ingest"), reason="footprint ingest not merged in this build yet")
def test_ingest_and_usage_open_no_connection(hooked, tmp_path):
    env, log = hooked
    add_use_case(env)
    csv = tmp_path / "usage.csv"
    csv.write_text("timestamp,use_case,model,input_tokens,output_tokens\n"
                   "2026-07-01T10:00:00Z,job,gpt-4o,100,20\n2026-07-02T10:00:00Z,job,gpt-4o,50,5\n")
    jsonl = tmp_path / "openai.jsonl"
    jsonl.write_text('{"id":"chatcmpl-1","object":"chat.completion","created":1751364000,"model":"gpt-4o",'
                     '"usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13}}\n')
    for args in (("ingest", str(csv)), ("ingest", str(jsonl), "--use-case", "job"), ("usage", "--json")):
        done = footprint(*args, env=env)
        assert done.returncode == 0, (args, done.stderr)
    # A URL given as a file is not fetched: DuckDB's httpfs is never autoloaded or autoinstalled.
    for url in ("https://192.0.2.1/usage.csv", "s3://bucket/usage.csv", "http://192.0.2.1/u.jsonl"):
        done = footprint("ingest", url, "--use-case", "job", env=env)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert events(log) == []


class _Metrics(http.server.BaseHTTPRequestHandler):
    body = b'vllm:prompt_tokens_total{model_name="m"} 10\nvllm:generation_tokens_total{model_name="m"} 5\n'

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_the_only_connection_is_to_the_url_the_user_gave(hooked):
    env, log = hooked
    add_use_case(env)
    with monitor_scraping(env, _Metrics) as (_, port):
        pass
    seen = events(log)
    assert any("socket.connect" in e for e in seen)  # it did scrape the user's URL
    for event in seen:
        assert "127.0.0.1" in event and (str(port) in event or "getaddrinfo" in event), event
        assert re.search(r"socket\.(connect|getaddrinfo)|urllib\.Request", event), event
