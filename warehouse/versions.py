"""Code versions derived from the code itself: a hash of the files an asset runs, never a hand-set "1"."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
_SUFFIXES = (".py", ".sql", ".j2", ".json", ".yaml")


@cache
def source_version(*paths: str) -> str:
    """sha256 (12 hex digits) of the files under `paths` (repo-relative files or folders), in name order."""
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
