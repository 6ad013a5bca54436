"""The lake tables a shipped SQL file reads, parsed from its text, so the Dagster assets that run it declare exactly
those inputs (a missing edge would let the executor run an asset before its input exists).

A reference is `schema.table` in the SQL (comments excluded) or a placeholder `{schema.table}` that the caller
replaces with a scan of that table (features/haim/*.sql)."""

from __future__ import annotations

import re
from pathlib import Path

LAKE_SCHEMAS = ("raw", "cohorts", "features", "embeddings")
_REFERENCE = re.compile(rf"(?<![\w.]){{?({'|'.join(LAKE_SCHEMAS)})\.([A-Za-z_][A-Za-z0-9_]*)\b")
_COMMENT = re.compile(r"--[^\n]*")
_STRING = re.compile(r"'(?:[^']|'')*'")


def tables_read(sql: str) -> list[tuple[str, str]]:
    """Sorted (schema, table) pairs that `sql` reads (comments and string literals ignored)."""
    code = _STRING.sub("''", _COMMENT.sub("", sql))
    return sorted({(m.group(1), m.group(2)) for m in _REFERENCE.finditer(code)})


def sql_file_inputs(*paths: Path, produces: tuple[str, str] | None = None) -> list[tuple[str, str]]:
    """The tables the SQL files read, without the table they produce (a file may name its own output)."""
    found = {t for p in paths for t in tables_read(Path(p).read_text())}
    return sorted(found - ({produces} if produces else set()))
