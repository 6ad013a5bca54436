"""Publishing the registry: `store.registry` (one row per view and feature group, REGISTRY_SCHEMA), the
standardised catalog view `store.<view>` of every materialised view, and a Markdown rendering for the
Dagster UI. A view whose table is not materialised yet is listed with status 'not materialised'."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from features.store.declarations import REGISTRY
from features.store.model import FeatureGroup, FeatureView, Registry
from features.store.names import quote
from features.store.resolve import ResolvedView, has_parquet, resolve_all
from warehouse.lake import (
    ClinfuseError,
    Home,
    catalog,
    create_view,
    engine,
    parquet_glob,
    sql_str,
    write_arrow,
)

REGISTRY_SCHEMA = pa.schema([
    ("view", pa.string()), ("kind", pa.string()), ("description", pa.string()),
    ("source_asset", pa.string()), ("source_table", pa.string()), ("store_view", pa.string()),
    ("entity_keys", pa.list_(pa.string())), ("id_columns", pa.list_(pa.string())),
    ("row_ids", pa.list_(pa.string())), ("asof_column", pa.string()), ("order_by", pa.list_(pa.string())),
    ("code_version", pa.string()), ("fingerprint", pa.string()), ("weights_source", pa.string()),
    ("status", pa.string()), ("rows", pa.int64()),
    ("feature_group", pa.string()), ("group_description", pa.string()),
    ("columns", pa.list_(pa.string())), ("column_pattern", pa.string()), ("n_columns", pa.int32()),
    ("dtype", pa.string()), ("shape", pa.list_(pa.int32())), ("stacked", pa.bool_()), ("metadata", pa.bool_()),
    ("frame_columns", pa.string()), ("problems", pa.list_(pa.string())),
])


def _frame_columns(view: FeatureView, group: FeatureGroup, columns: Sequence[str]) -> str:
    """How the group appears in a training frame (compact: a name, a list, or a pattern)."""
    if group.stack:
        return view.out(group.name) + (" (list of FLOAT[n] per step)" if view.kind == "sequence" else " (FLOAT[n])")
    suffix = " (list per step)" if view.kind == "sequence" else ""
    if len(columns) <= 4:
        return ", ".join(view.out(c) for c in columns) + suffix
    return view.out("<column>") + suffix


def registry_rows(home: Home, registry: Registry | None = None) -> list[dict]:
    """One dict per (view, feature group), REGISTRY_SCHEMA fields."""
    out = []
    for rv in resolve_all(home, registry):
        v = rv.view
        for group in v.groups:
            cols = rv.groups.get(group.name, group.columns)
            n = len(cols) if rv.materialised or group.columns else group.expected
            out.append({
                "view": v.name, "kind": v.kind, "description": v.description,
                "source_asset": v.source, "source_table": v.source_table,
                "store_view": v.store_view if rv.materialised else None,
                "entity_keys": list(v.entity_keys), "id_columns": list(v.id_columns), "row_ids": list(v.row_ids),
                "asof_column": v.asof, "order_by": list(v.order_by), "code_version": v.code_version,
                "fingerprint": v.fingerprint, "weights_source": rv.weights_source,
                "status": rv.status, "rows": rv.rows,
                "feature_group": group.name, "group_description": group.description,
                "columns": list(group.columns) if group.columns else None,
                "column_pattern": group.pattern, "n_columns": n, "dtype": rv.group_dtype(group),
                "shape": list(group.shape) or None, "stacked": group.stack, "metadata": group.metadata,
                "frame_columns": _frame_columns(v, group, cols or (group.name,)),
                "problems": list(rv.problems),
            })
    return out


def registry_table(home: Home, registry: Registry | None = None) -> pa.Table:
    return pa.Table.from_pylist(registry_rows(home, registry), schema=REGISTRY_SCHEMA)


def store_view_sql(rv: ResolvedView) -> str:
    """The standardised SELECT behind `store.<view>`: entity keys, ids, `asof_time`, then the features."""
    v = rv.view
    head = [c for c in dict.fromkeys([*v.entity_keys, *v.id_columns, *v.row_ids, *v.order_by])
            if c in rv.table_columns and c != v.asof]
    parts = [quote(c) for c in head]
    if v.asof:
        parts.append(f"CAST({quote(v.asof)} AS TIMESTAMP) AS asof_time")
    feats = [c for g in v.groups for c in rv.groups[g.name] if c not in head and c != v.asof]
    parts += [quote(c) for c in dict.fromkeys(feats)]
    return f"SELECT {', '.join(parts)} FROM {rv.scan_sql()}"


def write_registry(home: Home, registry: Registry | None = None) -> int:
    """Write `lake/store/registry` and publish `store.registry`; (re)create `store.<view>` for every
    materialised view and drop the ones whose table is gone. Returns the registry's row count."""
    registry = registry or REGISTRY
    table = registry_table(home, registry)
    rows = write_arrow(home, "store", "registry", table)
    resolved = {rv.view.name: rv for rv in resolve_all(home, registry, stats=False)}
    with catalog(home) as con:
        create_view(con, "store", "registry", home.table_dir("store", "registry"))
        for name, rv in resolved.items():
            if rv.materialised and not rv.problems:
                con.execute(f"CREATE OR REPLACE VIEW store.{quote(name)} AS {store_view_sql(rv)}")
            else:
                con.execute(f"DROP VIEW IF EXISTS store.{quote(name)}")
    return rows


def registry_markdown(home: Home, registry: Registry | None = None) -> str:
    """The registry as a Markdown table (Dagster metadata): one line per view, groups summarised."""
    lines = ["| view | kind | entity keys | as-of | features | source asset | code | weights_source | status | rows |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for rv in resolve_all(home, registry):
        v = rv.view
        feats = []
        for g in v.groups:
            cols = rv.groups.get(g.name) or g.columns
            n = len(cols) if (rv.materialised or g.columns) else g.expected
            shape = "x".join(map(str, g.shape))
            label = g.name if (len(cols) != 1 or cols[0] != g.name) else cols[0]
            if g.pattern and not rv.materialised:
                label += f" (`{g.pattern}`)"
            feats.append(f"{label}: {'?' if n is None else n}{' x ' + shape if shape else ''} {rv.group_dtype(g)}")
        status = rv.status + (f" ({rv.problems[0]})" if rv.problems else "")
        rows = "" if rv.rows is None else f"{rv.rows:,}"
        cells = [f"`{v.name}`", v.kind, ", ".join(v.entity_keys), v.asof or "(by key)",
                 "; ".join(feats), f"`{v.source}`", v.code_version, rv.weights_source or "", status, rows]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def read_registry(home: Home) -> pa.Table:
    """`store.registry` as written by `write_registry` (for tests and tools without the catalog)."""
    table_dir = home.table_dir("store", "registry")
    if not has_parquet(table_dir):
        raise ClinfuseError(f"{home.root}: store.registry not written yet (features.store.write_registry)")
    con = engine(home)
    try:
        return con.sql(f"SELECT * FROM read_parquet({sql_str(parquet_glob(table_dir))})").to_arrow_table()
    finally:
        con.close()
