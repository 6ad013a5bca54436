"""Headless Chromium for tests that open generated HTML files.

`chromium_path()` returns a Chromium binary: $CHROMIUM_PATH, /usr/bin/chromium or one on PATH; failing that,
when running as root with apt-get, it installs Debian's `chromium` once (per test process; later processes
find it installed); otherwise the calling test is skipped with the reason.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.debian import apt_install

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# No network, no first-run work, no GPU: the page is a local file and nothing else may be fetched.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--disable-extensions", "--mute-audio",
)


def _find() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured and Path(configured).is_file():
        return configured
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@functools.lru_cache(maxsize=1)
def _locate() -> tuple[str | None, str]:
    found = _find()
    if found:
        return found, ""
    reason = apt_install("chromium")
    found = _find()
    return (found, "") if found else (None, reason or "apt-get installed chromium but no binary was found")


def chromium_path() -> str:
    """A Chromium binary, installing Debian's package once if needed; pytest.skip when there is none."""
    path, reason = _locate()
    if path is None:
        pytest.skip(reason)
    return path


def run_chromium(chromium: str, page: Path, profile_dir: Path, *args: str,
                 timeout: float = 120) -> subprocess.CompletedProcess:
    """Chromium headless on a local file with the test flags (plus `args`), its own profile directory."""
    profile_dir.mkdir(parents=True, exist_ok=True)
    command = [chromium, *FLAGS, f"--user-data-dir={profile_dir}", *args, Path(page).resolve().as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "HOME": str(profile_dir)})


def dump_dom(chromium: str, page: Path, profile_dir: Path) -> str:
    """The page's DOM after load (scripts run; 5 s of virtual time)."""
    result = run_chromium(chromium, page, profile_dir, "--virtual-time-budget=5000", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def screenshot(chromium: str, page: Path, out_png: Path, profile_dir: Path) -> Path:
    result = run_chromium(chromium, page, profile_dir, "--window-size=1200,3000", f"--screenshot={out_png}")
    assert result.returncode == 0, result.stderr[-2000:]
    return out_png
