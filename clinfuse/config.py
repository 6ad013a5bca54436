"""Configuration for the command line: which home directory to use (sources: `warehouse.sources`)."""

from __future__ import annotations

import os

from warehouse.lake import Home
from warehouse.sources import load_config_file


def resolve_home(flag: str | None) -> Home:
    """--home, then CLINFUSE_HOME, then `home:` in clinfuse.yaml, then ./.clinfuse."""
    return Home.open(flag or os.environ.get("CLINFUSE_HOME") or load_config_file().get("home") or ".clinfuse")
