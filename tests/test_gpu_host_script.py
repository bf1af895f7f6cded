"""bench/gpu_host.py, the prepared GPU-host script (issue 16): on a machine without NVIDIA it says so
in one line and exits 1, without a traceback (the figures need a GPU host with torch)."""

from __future__ import annotations

import subprocess
import sys


from conftest import REPO_ROOT, skip_if_nvidia_driver


def test_gpu_host_script_fails_cleanly_without_an_nvidia_gpu():
    skip_if_nvidia_driver("this machine has an NVIDIA driver: the script would measure")
    done = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "gpu_host.py"), "--quick"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert "no NVIDIA GPU here" in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stdout == ""
