"""Debian packages that tests need (chromium, postgresql), installed by the test setup on a fresh machine.

`apt_install(package)` runs `apt-get install` when the tests run as root with apt-get; it returns '' on
success or the reason it could not, which the calling test gives to `pytest.skip`.
"""

from __future__ import annotations

import os
import shutil
import subprocess

INSTALL_TIMEOUT_S = 300


def apt_install(package: str) -> str:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return f"{package} is not installed and the tests do not run as root (cannot apt-get install {package})"
    if not shutil.which("apt-get"):
        return f"{package} is not installed and apt-get is not available"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = f"apt-get update && apt-get install -y --no-install-recommends {package}"
    try:
        result = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True,
                                timeout=INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"installing {package} took more than {INSTALL_TIMEOUT_S} s"
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        return f"apt-get install {package} failed ({result.returncode}): {tail[0]}"
    return ""
