"""Shared by the tests/test_reliability_*.py files: real console-script subprocesses, an audit hook, a use case."""

from __future__ import annotations

import contextlib
import http.server
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

EXE = str(Path(sys.executable).parent / "footprint")

# Installed as sitecustomize.py on PYTHONPATH: every Python process footprint starts (itself, CodeCarbon's
# detection subprocess, a `run` child) logs each network-related audit event it raises.
AUDIT_HOOK = r'''
import os, sys

def _footprint_net_audit(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                 "socket.sendto", "socket.bind", "urllib.Request"):
        try:
            with open(os.environ["FOOTPRINT_NET_LOG"], "a", encoding="utf-8") as log:
                log.write(f"{os.getpid()} {event} {args[1:] if event.startswith('socket.connect') else args!r}\n")
        except Exception:
            pass

sys.addaudithook(_footprint_net_audit)
'''


def has_command(*words: str) -> bool:
    """Is `footprint WORDS...` a command of this build? (ingest and report land from other branches)."""
    done = subprocess.run([EXE, *words, "--help"], capture_output=True, text=True)
    return done.returncode == 0


def footprint(*args, env, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    kwargs.setdefault("timeout", 120)
    return subprocess.run([EXE, *args], env=env, **kwargs)


def base_env(db_path: Path, cache_dir: Path) -> dict:
    environ = {**os.environ, "FOOTPRINT_DB": str(db_path), "FOOTPRINT_CACHE_DIR": str(cache_dir),
               "MPLCONFIGDIR": str(cache_dir / "mpl")}
    environ.pop("CUDA_VISIBLE_DEVICES", None)
    environ.pop("PYTHONPATH", None)
    return environ


def add_use_case(env, slug: str = "job") -> None:
    done = footprint("usecase", "add", slug, "--name", "Job", "--team", "Data", "--status", "production",
                     "--deployment", "on-prem", env=env)
    assert done.returncode == 0, done.stderr


def wait_until_spooled(env: dict, proc: subprocess.Popen, records: int = 2, timeout_s: float = 30.0) -> None:
    """Wait until a running collector has spooled `records` intervals (or exited): signalling after a
    fixed sleep fails on a loaded machine, where start-up alone can take seconds."""
    import time

    from footprint import spool

    folder = spool.spool_dir(Path(env["FOOTPRINT_DB"]))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if sum(len(spool.read_segment(s)[0]) for s in spool.list_segments(folder)) >= records:
            return
        time.sleep(0.05)


@contextlib.contextmanager
def monitor_scraping(env: dict, handler, interval: str = "0.2"):
    """A local /metrics server (127.0.0.1, ephemeral port) and a `footprint monitor` scraping it.
    Yields (process, port) once two intervals are spooled; then SIGTERM, a clean exit checked."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    port = server.server_address[1]
    try:
        proc = subprocess.Popen([EXE, "monitor", "--use-case", "job", "--interval", interval,
                                 "--metrics-url", f"http://127.0.0.1:{port}/metrics"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_until_spooled(env, proc)
        yield proc, port
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
    finally:
        server.shutdown()
        server.server_close()


def one_line_error(stderr: str) -> bool:
    """A user error as the CLI promises it: `error: ...` on one line, no traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return "Traceback" not in stderr and any(line.startswith("error: ") for line in lines)
