"""Online lookup: the latest feature vector of each entity, for interactive use.

`latest_features(view, keys)` returns one row per requested key, in request order: the entity key, then
`asof_time`, the row ids and the features of the entity's row with the greatest as-of (rows with a null
as-of only when the entity has no timed row; ties broken by `order_by`, last wins). For a sequence view
this is the latest element (the stay's last step: `values` FLOAT[76]); for a label view the key's labels.
Unknown keys give a row of nulls.

Speed: one in-memory DuckDB connection per home is kept (no catalog lock, nothing re-opened per call).
On first use of a view whose Parquet files total at most CLINFUSE_ONLINE_CACHE_MB (default 256 MB) the
*online table* is built in memory: the latest row of every entity, sorted by key; lookups then filter that
table (well under a millisecond per key on the demo store). It is rebuilt when the table's directory
changes (every re-materialisation swaps it). Bigger tables are scanned per lookup with the keys pushed
into the Parquet reader as an IN-list filter, so row groups whose statistics exclude them are skipped.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import duckdb
import pyarrow as pa

from features.store.declarations import REGISTRY
from features.store.model import FeatureView, Registry
from features.store.names import quote
from features.store.resolve import ResolvedView, resolve
from features.store.retrieval import fix_stacked, stacked_widths
from warehouse.lake import ClinfuseError, Home, connect

_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT", "UHUGEINT")


def online_exprs(view: FeatureView, rv: ResolvedView) -> list[tuple[str, str]]:
    """(SQL over the table, output name) of the row ids and features, names without the view prefix."""
    out = [(quote(c), c) for c in view.row_ids if c not in view.entity_keys]
    for group in view.groups:
        cols = rv.groups[group.name]
        if not cols:  # an optional group the table does not carry
            continue
        if group.stack:  # FLOAT[] here, FLOAT[n] in Arrow (retrieval.fix_stacked)
            out.append(("[" + ", ".join(f"CAST({quote(c)} AS FLOAT)" for c in cols) + "]", group.name))
        else:
            out += [(quote(c), c) for c in cols]
    return out


class OnlineStore:
    """Cached connection and per-view plans over one home's lake."""

    def __init__(self, home: Home, registry: Registry | None = None, cache_bytes: int | None = None):
        self.home = home
        self.cache_bytes = cache_bytes if cache_bytes is not None else \
            int(float(os.environ.get("CLINFUSE_ONLINE_CACHE_MB", "256")) * 2**20)
        self.registry = registry or REGISTRY
        self.con = connect()
        self._lock = threading.Lock()
        self._plans: dict[str, tuple[tuple, ResolvedView, str]] = {}

    def close(self) -> None:
        self.con.close()

    def _token(self, view: FeatureView) -> tuple:
        try:
            st = view.table_dir(self.home).stat()
        except FileNotFoundError:
            return ()
        return (st.st_ino, st.st_mtime_ns)

    def plan(self, name: str) -> tuple[ResolvedView, str]:
        """(resolved view, SELECT with a `{where}` slot) for a view; cached until its table changes.

        A table up to `cache_bytes` on disk is served from an in-memory *online table* (the latest row of
        every entity, sorted by key), built on first use; a bigger one is scanned per lookup with the keys
        pushed into the Parquet reader."""
        view = self.registry.get(name)
        token = self._token(view)
        cached = self._plans.get(name)
        if cached and cached[0] == token and token:
            return cached[1], cached[2]
        rv = resolve(view, self.home, self.con).check()
        keys = [quote(k) for k in view.entity_keys]
        select = [*keys]
        order = []
        if view.asof:
            select.append(f"CAST({quote(view.asof)} AS TIMESTAMP) AS asof_time")
            order.append(f"{quote(view.asof)} DESC NULLS LAST")
        order += [f"{quote(c)} DESC NULLS LAST" for c in view.order_by if c != view.asof]
        select += [f"{e} AS {quote(n)}" for e, n in online_exprs(view, rv)]
        qualify = f" QUALIFY row_number() OVER (PARTITION BY {', '.join(keys)} ORDER BY {', '.join(order)}) = 1" \
            if order else ""
        sql = f"SELECT {', '.join(select)} FROM {rv.scan_sql()} WHERE {{where}}{qualify}"
        if _disk_bytes(view.table_dir(self.home)) <= self.cache_bytes:
            table = quote(f"__online_{name}")
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql.format(where='TRUE')} "
                             f"ORDER BY {', '.join(keys)}")
            sql = f"SELECT * FROM {table} WHERE {{where}}"
        self._plans[name] = (token, rv, sql)
        return rv, sql

    def lookup(self, name: str, keys) -> pa.Table:
        with self._lock:
            rv, _ = self.plan(name)
        view = rv.view
        rows = _normalise_keys(view, rv, keys)
        if not rows:
            raise ClinfuseError("no keys given")
        distinct = list(dict.fromkeys(rows))
        if len(view.entity_keys) == 1:
            where = f"{quote(view.entity_keys[0])} IN ({', '.join('?' for _ in distinct)})"
            params = [k[0] for k in distinct]
        else:
            pairs = " OR ".join("(" + " AND ".join(f"{quote(k)} = ?" for k in view.entity_keys) + ")" for _ in distinct)
            where, params = f"({pairs})", [v for k in distinct for v in k]
        with self._lock:
            try:
                rv, sql = self.plan(name)
                found = self.con.sql(sql.format(where=where), params=params).to_arrow_table()
            except duckdb.Error as exc:
                raise ClinfuseError(f"feature view {name}: {str(exc).splitlines()[0]}") from None
        index = {tuple(r[k] for k in view.entity_keys): i
                 for i, r in enumerate(found.select(list(view.entity_keys)).to_pylist())}
        take = pa.array([index.get(k) for k in rows], pa.int64())
        out = fix_stacked(found.take(take), stacked_widths(view, rv, prefix=False))
        for j, key in enumerate(view.entity_keys):  # the requested key, also where nothing was found
            column = pa.array([k[j] for k in rows], out.schema.field(key).type)
            out = out.set_column(j, key, column)
        return out


def _normalise_keys(view: FeatureView, rv: ResolvedView, keys) -> list[tuple]:
    """Keys as tuples of typed values: a scalar, a list of scalars (or of tuples / dicts for composite
    keys), or a frame with the key columns. Strings are converted to integers where the key is one."""
    if isinstance(keys, pa.Table) or hasattr(keys, "to_arrow"):
        table = keys if isinstance(keys, pa.Table) else keys.to_arrow()
        missing = [k for k in view.entity_keys if k not in table.column_names]
        if missing:
            raise ClinfuseError(f"keys: no column {missing[0]!r} (entity key of {view.name})")
        keys = [tuple(r[k] for k in view.entity_keys) for r in table.select(list(view.entity_keys)).to_pylist()]
    elif isinstance(keys, str | int) or not isinstance(keys, Sequence):
        keys = [keys] if isinstance(keys, str | int) else list(keys)
    out = []
    for key in keys:
        if isinstance(key, dict):
            key = tuple(key.get(k) for k in view.entity_keys)
        elif not isinstance(key, tuple | list):
            key = (key,)
        if len(key) != len(view.entity_keys):
            raise ClinfuseError(f"key {key!r}: feature view {view.name} is keyed by {', '.join(view.entity_keys)}")
        out.append(tuple(_typed(v, rv.key_type(k), k) for v, k in zip(key, view.entity_keys, strict=True)))
    return out


def _typed(value, dtype: str | None, column: str):
    if value is None:
        raise ClinfuseError(f"key {column}: null")
    if dtype in _INTEGER_TYPES:
        if isinstance(value, bool):
            raise ClinfuseError(f"key {column}={value!r} is not an integer")
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise ClinfuseError(f"key {column}={value!r} is not an integer ({column} is {dtype})") from None
    return value if dtype is None else str(value)


def _disk_bytes(table_dir) -> int:
    return sum(p.stat().st_size for p in table_dir.rglob("*.parquet"))


_STORES: dict[tuple, OnlineStore] = {}
_STORES_LOCK = threading.Lock()


def online_store(home: Home | str | os.PathLike | None = None, registry: Registry | None = None) -> OnlineStore:
    """The process-wide OnlineStore of a home (created on first use)."""
    home = home if isinstance(home, Home) else Home.open(home)
    registry = registry or REGISTRY
    key = (str(home.root), id(registry))
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None or store.registry is not registry:
            store = _STORES[key] = OnlineStore(home, registry)
        return store


def latest_features(view: str, keys, home: Home | str | os.PathLike | None = None, *,
                    registry: Registry | None = None) -> pa.Table:
    """The latest feature vector of each entity: one row per key, in request order (nulls when unknown).

    keys: a key or a list of keys (tuples or dicts for composite keys) or a frame with the key columns.
    """
    return online_store(home, registry).lookup(view, keys)
