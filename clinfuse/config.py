"""Configuration for the command line: which home directory to use (sources: `warehouse.sources`)."""

from __future__ import annotations

import os
from pathlib import Path

from warehouse.lake import ClinfuseError, Home
from warehouse.sources import load_config_file


def home_root(flag: str | None) -> Path:
    """--home, then CLINFUSE_HOME, then `home:` in clinfuse.yaml, then ./.clinfuse."""
    root = flag or os.environ.get("CLINFUSE_HOME") or load_config_file().get("home") or ".clinfuse"
    return Path(root).expanduser().resolve()


def resolve_home(flag: str | None) -> Home:
    """The home for commands that write (ingest, run, ui): created owner-only when missing."""
    return Home.open(home_root(flag))


def existing_home(flag: str | None) -> Home:
    """The home for commands that only read (sql, features): never created."""
    root = home_root(flag)
    if not root.is_dir():
        raise ClinfuseError(f"no clinfuse home at {root} (`clinfuse run` or `clinfuse ingest` creates one; "
                            f"--home or CLINFUSE_HOME chooses another)")
    return Home(root)
