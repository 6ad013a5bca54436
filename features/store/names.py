"""Names the feature store's modules share: a leaf module (it imports nothing from the project).

Kinds of view, registry statuses, the frame-column suffix of a view's as-of, the storage column that is
never a feature, and SQL identifier quoting."""

from __future__ import annotations

import re
from typing import Literal

ViewKind = Literal["latest", "sequence", "label"]
KINDS: tuple[str, ...] = ("latest", "sequence", "label")
MATERIALISED = "materialised"
NOT_MATERIALISED = "not materialised"
HIVE_COLUMN = "shard"  # the subject-shard directory of sharded tables: storage, never a feature
ASOF_SUFFIX = "__asof_time"  # `<view>__asof_time`: a view's as-of column in a training frame
VIEW_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def quote(name: str) -> str:
    """A SQL identifier (MIMIC-style column names carry spaces, '->' and keywords such as `at`)."""
    return '"' + str(name).replace('"', '""') + '"'
