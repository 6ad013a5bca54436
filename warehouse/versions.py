"""Versions for Dagster's staleness: a code version is a hash of the files an asset runs (never a hand-set "1"),
a data version a hash of the bytes it wrote (so a rebuild with identical output leaves its children up to date)."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
_SUFFIXES = (".py", ".sql", ".j2", ".json", ".yaml", ".csv")
# The SQL time macros every lake connection defines (warehouse.timerules): part of every asset that runs SQL.
TIME_RULES = ("warehouse/timerules.py", "warehouse/sql/time_rules.sql")


@cache
def source_version(*paths: str | Path) -> str:
    """sha256 (12 hex digits) of the files under `paths` (repo-relative or absolute files or folders), in name
    order."""
    digest = hashlib.sha256()
    for rel in paths:
        root = _REPO / rel
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.suffix in _SUFFIXES
                                                    and "__pycache__" not in p.parts)
        if not files:
            raise FileNotFoundError(f"source_version: nothing under {rel}")
        for path in files:
            digest.update(str(path.relative_to(_REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def content_version(folder: Path) -> str:
    """sha256 (16 hex digits) of the Parquet files under `folder` (names relative to it, and bytes). The lake's
    writer gives the same bytes for the same rows (warehouse.lake.write_parquet), so this is the data's identity."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.parquet")):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with path.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()[:16]


def frame_version(frame) -> str:
    """sha256 (16 hex digits) of a Polars frame's column names and rows in sorted order, for an asset whose
    frame the IO manager writes."""
    return hashlib.sha256(frame.sort(frame.columns).write_csv().encode()).hexdigest()[:16]
