"""Owner-only files whatever the umask: every file footprint creates is 0600, every directory it creates 0700.

Each command runs under `umask 000` (the worst case: the user's umask would make files world-writable).
Decision (docs/reliability.md): report `-o` outputs are owner-only too (0600), like everything footprint
writes; the user shares them deliberately (chmod, copy). Temporaries never outlive the command.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reliability_helpers import EXE, base_env, has_command


def under_umask_000(*args, env, **kwargs) -> subprocess.CompletedProcess:
    def preexec():
        os.umask(0)

    return subprocess.run([EXE, *args], env=env, capture_output=True, text=True, preexec_fn=preexec, timeout=120,
                          **kwargs)


def loose_entries(root: Path, created_below: Path | None = None) -> list[str]:
    """Files with any group/other bit, and directories under `root` not exactly 0700."""
    bad = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            mode = stat.S_IMODE(os.stat(Path(dirpath, name)).st_mode)
            if mode != 0o700:
                bad.append(f"{Path(dirpath, name)} {oct(mode)}")
        for name in filenames:
            path = Path(dirpath, name)
            mode = stat.S_IMODE(os.lstat(path).st_mode)
            if mode & 0o077:
                bad.append(f"{path} {oct(mode)}")
    return bad


@pytest.fixture
def env(tmp_path):
    # Neither the database's nor the cache's directories exist: footprint creates all of them.
    return base_env(tmp_path / "data" / "a" / "b" / "fp.duckdb", tmp_path / "cache" / "x" / "y")


def test_database_wal_spool_and_cache_are_owner_only_under_umask_000(env, tmp_path):
    done = under_umask_000("usecase", "add", "job", "--name", "Job", "--team", "Data", "--status", "production",
                           "--deployment", "on-prem", env=env)
    assert done.returncode == 0, done.stderr
    done = under_umask_000("doctor", "--json", env=env)  # detects and caches the CPU profile
    assert done.returncode == 0, done.stderr
    done = under_umask_000("run", "--use-case", "job", "--interval", "0.2", "--", "true", env=env)
    assert done.returncode == 0, done.stderr
    # A monitor killed mid-run leaves a live segment behind; its file and directory are checked as they are.
    proc = subprocess.Popen([EXE, "monitor", "--use-case", "job", "--interval", "0.2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=lambda: os.umask(0))
    spool = tmp_path / "data" / "a" / "b" / "fp.duckdb.spool"
    deadline = time.monotonic() + 20
    while not (segments := list(spool.glob("*.live"))) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert segments, "the monitor spooled nothing in 20 s"
    assert loose_entries(tmp_path / "data") == []
    assert loose_entries(tmp_path / "cache") == []
    # The WAL exists while a connection has unflushed writes: hold one open under umask 000.
    code = (f"import os; os.umask(0); from footprint.store import open_store\n"
            f"s = open_store({str(tmp_path / 'data' / 'a' / 'b' / 'fp.duckdb')!r})\n"
            "s.execute(\"CREATE TABLE IF NOT EXISTS scratch AS SELECT range AS i FROM range(100000)\")\n"
            "import glob; print(glob.glob(str(s.path) + '.wal'))\n"
            "import sys; sys.stdout.flush()\n"
            f"bad = [p for p in glob.glob(str(s.path) + '*') if os.stat(p).st_mode & 0o077]\n"
            "print('BAD', bad); s.close()")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert ".wal" in done.stdout, done.stdout  # the WAL was there to check
    assert "BAD []" in done.stdout, done.stdout
    done = under_umask_000("measurements", "--json", env=env)  # drains the killed monitor's segment
    assert done.returncode == 0, done.stderr
    assert loose_entries(tmp_path / "data") == []


@pytest.mark.skipif(not has_command("report"), reason="footprint report not merged in this build yet")
def test_report_outputs_and_temporaries_are_owner_only_under_umask_000(env, tmp_path):
    done = under_umask_000("demo", env=env)
    assert done.returncode == 0, done.stderr
    out_dir = tmp_path / "out"
    out_dir.mkdir(mode=0o700)
    for fmt in ("html", "md", "json", "csv"):
        done = under_umask_000("report", "--format", fmt, "-o", str(out_dir / f"r.{fmt}"), env=env)
        assert done.returncode == 0, (fmt, done.stderr)
    assert sorted(p.name for p in out_dir.iterdir()) == ["r.csv", "r.html", "r.json", "r.md"]  # no temporaries left
    assert loose_entries(out_dir) == []
    assert loose_entries(tmp_path / "data") == []
    assert loose_entries(tmp_path / "cache") == []


@pytest.mark.skipif(not has_command("ingest"), reason="footprint ingest not merged in this build yet")
def test_ingest_reject_files_are_owner_only_under_umask_000(env, tmp_path):
    done = under_umask_000("usecase", "add", "job", "--name", "Job", "--team", "Data", "--status",
                           "production", "--deployment", "api", env=env)
    assert done.returncode == 0, done.stderr
    src = tmp_path / "in"
    src.mkdir()
    csv = src / "usage.csv"
    csv.write_text("timestamp,use_case,model,input_tokens,output_tokens\n"
                   "2026-07-01T10:00:00Z,job,gpt-4o,100,20\n2026-07-01T11:00:00Z,job,gpt-4o,-5,20\n")
    before = {p for p in tmp_path.rglob("*")}
    done = under_umask_000("ingest", str(csv), "--skip-bad", env=env)
    assert done.returncode == 0, done.stderr
    created = [p for p in tmp_path.rglob("*") if p not in before and p.is_file()]
    rejects = [p for p in created if "reject" in p.name]
    assert rejects, f"no reject file among {created}: {done.stderr}"
    for path in created:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    assert loose_entries(tmp_path / "data") == []


def test_cpu_profile_cache_directories_are_0700_even_when_created_by_a_loose_umask(tmp_path, monkeypatch):
    """The cache is written by CodeCarbon's detection subprocess, which runs with the user's umask."""
    from footprint.collectors import cpu

    monkeypatch.setenv("FOOTPRINT_CACHE_DIR", str(tmp_path / "c1" / "c2" / "cache"))
    profile = cpu.CpuProfile("3.3.2", "h", 1, "x86_64", "m", "constant", 85.0, "default-constant")
    old = os.umask(0)
    try:
        cpu.save_profile(profile)
    finally:
        os.umask(old)
    assert loose_entries(tmp_path) == []
