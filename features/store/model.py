"""Feature views and groups, and the Registry that holds them (the declarations are in declarations.py).

A **feature view** is a lake table seen through the store: its entity keys (what a training frame joins
on), its as-of column (the latest event time that went into a row), its features, the asset that
produces it, a code version and, for embeddings, the `weights_source` of the model that made them.
There are three kinds:

``latest``
    point-in-time retrieval returns, per entity row, the single table row with the greatest as-of
    <= prediction time (DuckDB ASOF JOIN; ties on the as-of broken by `order_by`, last wins).
``sequence``
    one entity is a sequence of rows (a stay's 2-h steps, a subject's note chunks); retrieval returns
    every row with (effective) as-of <= prediction time, ordered by `order_by`, aggregated into list
    columns (one list element per step).
``label``
    outcomes, not features: joined by key (exact match), never as-of, and not subject to the leakage
    rule (an outcome is by definition known only after the prediction time).

Features are described in **groups** so that wide tables stay compact: a group is either an explicit
column list (the 76 discretizer columns) or a regular expression over the table's columns (HAIM's
4,000-odd `vd_*`, `ts_ce_*`, ... columns). A `stack`ed group is returned by retrieval as one
`FLOAT[n]` array column (a modality vector) rather than n scalar columns.

The project's views are declared in `declarations.py`; `resolve.py` checks a view against its table,
`publish.py` writes `store.registry` and the `store.<view>` catalog views.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from features.store.names import HIVE_COLUMN, KINDS, VIEW_NAME, ViewKind
from warehouse.lake import ClinfuseError, Home


@dataclass(frozen=True)
class FeatureGroup:
    """Columns of a view described together: an explicit list, or a regex over the table's columns."""

    name: str
    description: str
    dtype: str  # declared DuckDB type of each column (e.g. FLOAT, VARCHAR, BLOB, FLOAT[])
    columns: tuple[str, ...] = ()
    pattern: str | None = None  # re.search over column names not used as keys / as-of / ids
    expected: int | None = None  # expected column count for a pattern group (documentation)
    shape: tuple[int, ...] = ()  # shape of one value of a list / binary column, e.g. (1024,), (224, 224)
    stack: bool = False  # retrieval returns the group as one FLOAT[n] column `<view>__<group>`
    optional: bool = False  # a pattern group that may match nothing (e.g. note types not configured)
    metadata: bool = False  # describes the row (shape, counts, flags): retrieved, but not a model input

    def __post_init__(self):
        if bool(self.columns) == bool(self.pattern):
            raise ValueError(f"feature group {self.name!r}: give either columns or a pattern")
        if self.pattern:
            re.compile(self.pattern)

    @property
    def n_declared(self) -> int | None:
        return len(self.columns) if self.columns else self.expected


@dataclass(frozen=True)
class FeatureView:
    """One feature view. `source` is the producing asset key `layer/table` (= lake schema/table)."""

    name: str
    kind: ViewKind
    source: str
    entity_keys: tuple[str, ...]
    asof: str | None
    groups: tuple[FeatureGroup, ...]
    description: str
    id_columns: tuple[str, ...] = ()  # other identifiers the table carries (exposed in store.<view>)
    row_ids: tuple[str, ...] = ()  # identifiers of the chosen row(s), returned by retrieval
    order_by: tuple[str, ...] = ()  # sequence order; tie-break (last wins) among rows of one as-of
    ignore: tuple[str, ...] = ()  # table columns that are neither keys nor features
    code_version: str = "1"
    weights_column: str | None = None  # a column holding the weights_source of the model
    weights_from: tuple[str, ...] = ()  # views whose weights_source this view inherits (derived features)

    def __post_init__(self):
        if not VIEW_NAME.match(self.name) or "__" in self.name:
            raise ValueError(f"view name {self.name!r}: lower-case letters, digits and single underscores")
        if self.kind not in KINDS:
            raise ValueError(f"view {self.name}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.source.count("/") != 1:
            raise ValueError(f"view {self.name}: source {self.source!r} is not layer/table")
        if not self.entity_keys:
            raise ValueError(f"view {self.name}: no entity keys")
        if (self.asof is None) != (self.kind == "label"):
            raise ValueError(f"view {self.name}: label views have no as-of column, feature views need one")
        if self.kind == "sequence" and not self.order_by:
            raise ValueError(f"view {self.name}: a sequence view needs order_by")
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names) or not names:
            raise ValueError(f"view {self.name}: feature group names must be unique and non-empty")

    # ---------------------------------------------------------------- naming

    @property
    def schema(self) -> str:
        return self.source.split("/")[0]

    @property
    def table(self) -> str:
        return self.source.split("/")[1]

    @property
    def source_table(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def store_view(self) -> str:
        return f"store.{self.name}"

    @property
    def is_label(self) -> bool:
        return self.kind == "label"

    def out(self, column: str) -> str:
        """Name of a column of this view in a training frame."""
        return f"{self.name}__{column}"

    @property
    def structural(self) -> tuple[str, ...]:
        """Columns that are not features: keys, ids, as-of, ordering, ignored, storage, weights."""
        cols = [*self.entity_keys, *self.id_columns, *self.row_ids, *self.order_by, *self.ignore, HIVE_COLUMN]
        cols += [c for c in (self.asof, self.weights_column) if c]
        return tuple(dict.fromkeys(cols))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def fingerprint(self) -> str:
        """A hash of the declaration: it changes whenever the view's definition changes."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]

    def table_dir(self, home: Home) -> Path:
        return home.table_dir(self.schema, self.table)



class Registry:
    """The declared views, by name."""

    def __init__(self, views: Iterable[FeatureView]):
        self.views: dict[str, FeatureView] = {}
        for view in views:
            if view.name in self.views or view.name == "registry":
                raise ValueError(f"feature view {view.name!r} declared twice (or reserved)")
            self.views[view.name] = view

    def __iter__(self):
        return iter(self.views.values())

    def __len__(self) -> int:
        return len(self.views)

    def __contains__(self, name: str) -> bool:
        return name in self.views

    def names(self) -> list[str]:
        return list(self.views)

    def get(self, name: str) -> FeatureView:
        try:
            return self.views[name]
        except KeyError:
            raise ClinfuseError(f"unknown feature view {name!r}; known: {', '.join(self.views)}") from None

    def by_source(self, source: str) -> list[FeatureView]:
        return [v for v in self if v.source == source]
