"""A feature view checked against its lake table: column presence, feature-group membership, and with
`stats` the row count and the weights_source of the model that made the table."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from features.store.declarations import REGISTRY
from features.store.model import FeatureGroup, FeatureView, Registry
from features.store.names import MATERIALISED, NOT_MATERIALISED, quote
from warehouse.lake import ClinfuseError, Home, connect, parquet_glob, sql_str


@dataclass(frozen=True)
class ResolvedView:
    """A view checked against its materialised table (or its declaration, when not materialised)."""

    view: FeatureView
    status: str
    table_columns: dict[str, str]  # column -> DuckDB type, in table order ({} when not materialised)
    groups: dict[str, tuple[str, ...]]  # group -> its columns (resolved; declared when not materialised)
    problems: tuple[str, ...] = ()
    glob: str | None = None
    hive: bool = False
    rows: int | None = None
    weights_source: str | None = None

    @property
    def materialised(self) -> bool:
        return self.status == MATERIALISED

    def scan_sql(self) -> str:
        """A FROM-clause expression over the view's Parquet files."""
        if not self.glob:
            raise ClinfuseError(self.not_materialised_message())
        return (f"read_parquet({sql_str(self.glob)}, hive_partitioning = {'true' if self.hive else 'false'}, "
                f"union_by_name = true)")

    def not_materialised_message(self) -> str:
        return (f"feature view {self.view.name}: {self.view.source_table} is not materialised "
                f"(materialise the asset {self.view.source}, e.g. `clinfuse run --select '+{self.view.source}'`)")

    def group_dtype(self, group: FeatureGroup) -> str:
        if not self.table_columns:
            return group.dtype
        types = list(dict.fromkeys(self.table_columns[c] for c in self.groups[group.name]))
        return ", ".join(types) if types else group.dtype

    def key_type(self, column: str) -> str | None:
        return self.table_columns.get(column)

    def check(self) -> ResolvedView:
        """Raise ClinfuseError when the view cannot be used (not materialised, or columns missing)."""
        if not self.materialised:
            raise ClinfuseError(self.not_materialised_message())
        if self.problems:
            raise ClinfuseError(f"feature view {self.view.name}: {self.problems[0]}")
        return self


def has_parquet(table_dir: Path) -> bool:
    return table_dir.is_dir() and next(table_dir.rglob("*.parquet"), None) is not None


def resolve(view: FeatureView, home: Home, con: duckdb.DuckDBPyConnection | None = None, *,
            stats: bool = False, registry: Registry | None = None) -> ResolvedView:
    """Check `view` against its table: column presence, group membership; with `stats`, row count and
    weights_source. A missing table gives status 'not materialised' and the declared columns."""
    table_dir = view.table_dir(home)
    declared = {g.name: g.columns for g in view.groups}
    if not has_parquet(table_dir):
        return ResolvedView(view, NOT_MATERIALISED, {}, declared)
    own = con is None
    con = con or connect()
    try:
        glob = parquet_glob(table_dir)
        hive = any(p.name.startswith("shard=") for p in table_dir.iterdir())
        scan = f"read_parquet({sql_str(glob)}, hive_partitioning = {'true' if hive else 'false'}, union_by_name = true)"
        described = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
        columns = {row[0]: row[1] for row in described}
        problems: list[str] = []
        for role, names in (("entity key", view.entity_keys), ("id column", view.id_columns),
                            ("row id", view.row_ids), ("order_by column", view.order_by),
                            ("as-of column", (view.asof,) if view.asof else ())):
            problems += [f"{view.source_table} has no {role} {c!r}" for c in names if c not in columns]
        groups: dict[str, tuple[str, ...]] = {}
        taken = set(view.structural)
        for group in view.groups:
            if group.columns:
                missing = [c for c in group.columns if c not in columns]
                problems += [f"{view.source_table} has no column {c!r} (feature group {group.name})" for c in missing]
                groups[group.name] = tuple(c for c in group.columns if c in columns)
            else:
                rx = re.compile(group.pattern)
                groups[group.name] = tuple(c for c in columns if c not in taken and rx.search(c))
                if not groups[group.name] and not group.optional:
                    problems.append(f"{view.source_table}: feature group {group.name} (pattern "
                                    f"{group.pattern!r}) matches no column")
            taken |= set(groups[group.name])
        rows = weights = None
        if stats:
            rows = con.execute(f"SELECT count(*) FROM {scan}").fetchall()[0][0]
            if view.weights_column and view.weights_column in columns:
                found = con.execute(f"SELECT DISTINCT CAST({quote(view.weights_column)} AS VARCHAR) FROM {scan} "
                                    f"WHERE {quote(view.weights_column)} IS NOT NULL ORDER BY 1").fetchall()
                weights = ", ".join(r[0] for r in found) or None
        resolved = ResolvedView(view, MATERIALISED, columns, groups, tuple(problems), glob, hive, rows, weights)
    finally:
        if own:
            con.close()
    if stats and view.weights_from and resolved.weights_source is None:
        inherited = []
        for name in view.weights_from:
            upstream = (registry or REGISTRY).views.get(name)
            if upstream is not None:
                value = resolve(upstream, home, stats=True, registry=registry).weights_source
                inherited += [w.strip() for w in (value or "").split(",") if w.strip()]
        if inherited:
            resolved = dataclasses.replace(resolved, weights_source=", ".join(dict.fromkeys(inherited)))
    return resolved


def resolve_all(home: Home, registry: Registry | None = None, *, stats: bool = True) -> list[ResolvedView]:
    registry = registry or REGISTRY
    con = connect()
    try:
        return [resolve(v, home, con, stats=stats, registry=registry) for v in registry]
    finally:
        con.close()


def materialised_views(home: Home, registry: Registry | None = None) -> list[str]:
    return [rv.view.name for rv in resolve_all(home, registry, stats=False) if rv.materialised]
