"""Point-in-time retrieval: entity rows (keys + prediction time) -> a training frame, never later data.

`get_training_frame(entities, views)` returns an Arrow table with one row per entity row, in input order:
the entity columns (the prediction time cast to TIMESTAMP), `split` when known, then per view:

* latest view  -> `<view>__asof_time`, the chosen row's ids (`<view>__dicom_id`, ...) and its features
  (`<view>__<column>`, or `<view>__<group>` FLOAT[n] for a stacked group): the row with the greatest
  as-of <= prediction time (DuckDB ASOF JOIN; equal times are included, later ones never).
* sequence view -> `<view>__asof_time` (the latest element's), `<view>__length`, the row ids and the
  features as lists in `order_by` order, of every row with effective as-of <= prediction time.
* label view   -> `<view>__<label>`, joined by key (exact match, no as-of; outcomes are not features).

Missing entities, and entities whose latest row is older than `ttl`, get nulls (length 0 for a sequence).

Null as-of rows: a row with a null as-of carries no observed event (e.g. time-series steps before the
stay's first event, which hold normal values only). Its *effective* as-of is the as-of of the next row
of the same entity in `order_by` order; so in a sequence it comes along with the first real step, and
the returned steps are always a gap-free prefix of the grid. In a latest view such a row never wins (a
later real row always qualifies whenever it does). A null as-of with no later timed row is never returned:
its time cannot be shown to precede the prediction.

TTL: no element older than `prediction time - ttl` enters the frame (latest view: the row is dropped;
sequence: the elements are dropped, null-as-of rows go with the step that carries their effective as-of).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from features.splits import SPLITS
from features.store.declarations import REGISTRY
from features.store.guards import check_frame
from features.store.model import FeatureView, Registry
from features.store.names import ASOF_SUFFIX, quote
from features.store.resolve import ResolvedView, resolve
from warehouse.lake import ClinfuseError, Home, connect, engine, parquet_glob, sql_str

ROW = "__clinfuse_row"
PREDICTION = "prediction_time"
_TTL = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)", re.IGNORECASE)
_UNIT = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


# ---------------------------------------------------------------- inputs


def parse_ttl(ttl) -> timedelta | None:
    """`24h`, `90m`, `7d`, `1d12h`, `30s`, `2w`, a number of seconds, or a timedelta."""
    if ttl is None or ttl == "":
        return None
    if isinstance(ttl, timedelta):
        value = ttl
    elif isinstance(ttl, int | float):
        value = timedelta(seconds=float(ttl))
    else:
        text = str(ttl).strip()
        parts = _TTL.findall(text)
        if not parts or _TTL.sub("", text).strip():
            raise ClinfuseError(f"ttl {ttl!r}: expected a duration such as 24h, 90m, 7d or 1d12h")
        value = timedelta(seconds=sum(float(n) * _UNIT[u.lower()] for n, u in parts))
    if value <= timedelta(0):
        raise ClinfuseError(f"ttl {ttl!r}: must be positive")
    return value


def load_entities(entities, con: duckdb.DuckDBPyConnection | None = None) -> pa.Table:
    """Entity rows as Arrow: a Parquet or CSV file (path), or an Arrow / Polars / pandas frame."""
    if isinstance(entities, str | os.PathLike):
        path = Path(entities)
        if not path.is_file():
            raise ClinfuseError(f"{path}: entity file not found")
        name = path.name.lower()
        own = con is None
        con = con or connect()
        try:
            if name.endswith((".parquet", ".pq")):
                return con.sql(f"SELECT * FROM read_parquet({sql_str(path)})").to_arrow_table()
            if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
                return con.sql(f"SELECT * FROM read_csv({sql_str(path)})").to_arrow_table()
        except duckdb.Error as exc:
            raise ClinfuseError(f"{path}: {str(exc).splitlines()[0]}") from None
        finally:
            if own:
                con.close()
        raise ClinfuseError(f"{path}: entity files are .parquet or .csv")
    if isinstance(entities, pa.Table):
        return entities
    if hasattr(entities, "collect") and hasattr(entities, "collect_schema"):  # polars LazyFrame
        entities = entities.collect()
    if hasattr(entities, "to_arrow") and hasattr(entities, "schema") and not hasattr(entities, "to_arrow_table"):
        return entities.to_arrow()  # polars DataFrame
    if hasattr(entities, "to_arrow_table"):  # DuckDB relation
        return entities.to_arrow_table()
    if type(entities).__module__.startswith("pandas"):
        return pa.Table.from_pandas(entities, preserve_index=False)
    if isinstance(entities, pa.RecordBatch):
        return pa.Table.from_batches([entities])
    raise ClinfuseError(f"entities: expected a Parquet/CSV path or an Arrow/Polars/pandas frame, "
                        f"got {type(entities).__name__}")


def utc_naive(table: pa.Table, column: str) -> pa.Table:
    """`column` as naive UTC times when it is time-zone aware (lake times are naive UTC): 12:00+02:00 -> 10:00."""
    if column not in table.column_names:
        return table
    dtype = table.schema.field(column).type
    if not (pa.types.is_timestamp(dtype) and dtype.tz):
        return table
    # Arrow stores aware timestamps as UTC instants: dropping the zone keeps the instant, i.e. the UTC time
    naive = table[column].cast(pa.timestamp(dtype.unit))
    return table.set_column(table.column_names.index(column), column, naive)


def cohort_entities(home: Home, cohort: str, columns: Sequence[str] | None = None) -> pa.Table:
    """The rows of a lake table `layer/name` (e.g. `cohorts/ihm_48h`) as an entity frame (without `shard`)."""
    schema, name = cohort.split("/")
    table_dir = home.table_dir(schema, name)
    if not table_dir.is_dir():
        raise ClinfuseError(f"{schema}.{name} is not materialised")
    hive = any(p.name.startswith("shard=") for p in table_dir.iterdir())
    cols = ", ".join(quote(c) for c in columns) if columns else ("* EXCLUDE (shard)" if hive else "*")
    con = engine(home)
    try:
        return con.sql(f"SELECT {cols} FROM read_parquet({sql_str(parquet_glob(table_dir))}, "
                       f"hive_partitioning = {'true' if hive else 'false'}) ORDER BY ALL").to_arrow_table()
    finally:
        con.close()


def _view_list(views) -> list[str]:
    names = [v.strip() for v in views.split(",")] if isinstance(views, str) else [str(v).strip() for v in views]
    names = [n for n in names if n]
    if not names:
        raise ClinfuseError("no feature views given")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ClinfuseError(f"feature view {dup[0]!r} given twice")
    return names


# ---------------------------------------------------------------- SQL per view


def _entity_keys_sql(view: FeatureView, rv: ResolvedView, with_time: bool) -> str:
    keys = ", ".join(f"CAST({quote(k)} AS {rv.key_type(k)}) AS {quote(k)}" for k in view.entity_keys)
    time = f", {quote(PREDICTION)} AS __t" if with_time else ""
    return f"(SELECT {ROW}, {keys}{time} FROM __e)"


def _semi(view: FeatureView, rv: ResolvedView) -> str:
    """The view's rows restricted to the requested entities' keys."""
    on = " AND ".join(f"s.{quote(k)} = k.{quote(k)}" for k in view.entity_keys)
    keys = ", ".join(quote(k) for k in view.entity_keys)
    return f"(SELECT s.* FROM {rv.scan_sql()} AS s SEMI JOIN (SELECT DISTINCT {keys} FROM ee) AS k ON {on})"


def _feature_exprs(view: FeatureView, rv: ResolvedView) -> list[tuple[str, str]]:
    """(SQL expression over the view's table, output column) for row ids and feature groups."""
    out = [(quote(c), view.out(c)) for c in view.row_ids if c not in view.entity_keys]
    for group in view.groups:
        cols = rv.groups[group.name]
        if not cols:  # an optional group the table does not carry
            continue
        if group.stack:  # a FLOAT[] list here; FLOAT[n] in Arrow (see stacked_widths)
            out.append(("[" + ", ".join(f"CAST({quote(c)} AS FLOAT)" for c in cols) + "]", view.out(group.name)))
        else:
            out += [(quote(c), view.out(c)) for c in cols]
    return out


def stacked_widths(view: FeatureView, rv: ResolvedView, prefix: bool = True) -> dict[str, int]:
    """Output column -> n of the stacked groups. They are built as lists in SQL and cast to fixed-size
    lists in Arrow afterwards: DuckDB's LEFT JOIN mangles ARRAY payloads (seen with DuckDB 2.0)."""
    return {(view.out(g.name) if prefix else g.name): len(rv.groups[g.name])
            for g in view.groups if g.stack and rv.groups[g.name]}


def fix_stacked(table: pa.Table, widths: dict[str, int], sequence: set[str] = frozenset()) -> pa.Table:
    """Cast the stacked list columns of `table` to FLOAT[n] (list of FLOAT[n] for sequences)."""
    for name, n in widths.items():
        if name in table.column_names:
            target = pa.list_(pa.float32(), n)
            if name in sequence:
                target = pa.list_(target)
            table = table.set_column(table.column_names.index(name), name, pc.cast(table[name], target))
    return table


def _ttl_sql(ttl: timedelta | None, column: str) -> str:
    if ttl is None:
        return ""
    micros = int(round(ttl.total_seconds() * 1e6))
    return f" AND {column} >= ee.__t - INTERVAL '{micros} microseconds'"


def latest_sql(view: FeatureView, rv: ResolvedView, ttl: timedelta | None) -> str:
    keys = [quote(k) for k in view.entity_keys]
    exprs = _feature_exprs(view, rv)
    order = [quote(c) for c in view.order_by if c != view.asof]
    qualify = (f" QUALIFY row_number() OVER (PARTITION BY {', '.join(keys)}, __asof "
               f"ORDER BY {', '.join(o + ' DESC NULLS LAST' for o in order)}) = 1") if order else ""
    select = ", ".join([*keys, f"CAST({quote(view.asof)} AS TIMESTAMP) AS __asof"]
                       + [f"{e} AS {quote(name)}" for e, name in exprs])
    on = " AND ".join(f"ee.{k} = src.{k}" for k in keys)
    outs = ", ".join(quote(name) for _, name in exprs)
    return (
        f"WITH ee AS {_entity_keys_sql(view, rv, True)}, "
        f"src AS (SELECT {select} FROM {_semi(view, rv)} WHERE {quote(view.asof)} IS NOT NULL{qualify}) "
        f"SELECT ee.{ROW}, src.__asof AS {quote(view.out('asof_time'))}{', ' + outs if outs else ''} "
        f"FROM ee ASOF JOIN src ON {on} AND ee.__t >= src.__asof WHERE TRUE{_ttl_sql(ttl, 'src.__asof')}"
    )


def sequence_sql(view: FeatureView, rv: ResolvedView, ttl: timedelta | None) -> str:
    keys = [quote(k) for k in view.entity_keys]
    exprs = _feature_exprs(view, rv)
    order = ", ".join(quote(c) for c in view.order_by)
    asof = f"CAST({quote(view.asof)} AS TIMESTAMP)"
    eff = (f"coalesce({asof}, min({asof}) OVER (PARTITION BY {', '.join(keys)} ORDER BY {order} "
           f"ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)) AS __eff")
    inner = [f"{quote(c)} AS __o{i}" for i, c in enumerate(view.order_by)]
    inner += [f"{e} AS __f{j}" for j, (e, _) in enumerate(exprs)]
    by = ", ".join(f"__o{i}" for i in range(len(view.order_by)))
    aggs = [f"list(__f{j} ORDER BY {by}) AS {quote(name)}" for j, (_, name) in enumerate(exprs)]
    on = " AND ".join(f"ee.{k} = src.{k}" for k in keys)
    return (
        f"WITH ee AS {_entity_keys_sql(view, rv, True)}, "
        f"src AS (SELECT {', '.join(keys)}, {eff}, {', '.join(inner)} FROM {_semi(view, rv)}) "
        f"SELECT ee.{ROW}, max(src.__eff) AS {quote(view.out('asof_time'))}, "
        f"CAST(count(*) AS INTEGER) AS {quote(view.out('length'))}, {', '.join(aggs)} "
        f"FROM ee JOIN src ON {on} AND src.__eff <= ee.__t{_ttl_sql(ttl, 'src.__eff')} GROUP BY ee.{ROW}"
    )


def label_sql(view: FeatureView, rv: ResolvedView) -> str:
    keys = [quote(k) for k in view.entity_keys]
    exprs = _feature_exprs(view, rv)
    on = " AND ".join(f"ee.{k} = s.{k}" for k in keys)
    outs = ", ".join(f"s.{e} AS {quote(name)}" for e, name in exprs)
    return (f"WITH ee AS {_entity_keys_sql(view, rv, False)} "
            f"SELECT ee.{ROW}, {outs} FROM ee JOIN {rv.scan_sql()} AS s ON {on}")


def view_sql(view: FeatureView, rv: ResolvedView, ttl: timedelta | None) -> str:
    if view.kind == "latest":
        return latest_sql(view, rv, ttl)
    if view.kind == "sequence":
        return sequence_sql(view, rv, ttl)
    return label_sql(view, rv)


# ---------------------------------------------------------------- the frame


def _lineage(rv: ResolvedView, columns: list[str]) -> dict:
    v = rv.view
    shapes = {v.out(g.name if g.stack else c): list(g.shape) for g in v.groups
              for c in (rv.groups[g.name] if not g.stack else [g.name]) if g.shape}
    return {"name": v.name, "kind": v.kind, "source": v.source, "code_version": v.code_version,
            "fingerprint": v.fingerprint, "weights_source": rv.weights_source, "columns": columns,
            "asof_column": v.out("asof_time") if not v.is_label else None,
            "row_id_columns": [v.out(c) for c in v.row_ids if c not in v.entity_keys],
            "metadata_columns": [v.out(c) for g in v.groups if g.metadata for c in rv.groups[g.name]],
            "length_column": v.out("length") if v.kind == "sequence" else None, "shapes": shapes}


def get_training_frame(
    entities,
    views: str | Sequence[str],
    *,
    home: Home | str | os.PathLike | None = None,
    ttl=None,
    split: str | None = None,
    include_labels: bool | str | Sequence[str] = True,
    prediction_col: str = PREDICTION,
    registry: Registry | None = None,
    enforce_guards: bool = True,
) -> pa.Table:
    """Point-in-time training frame: for each entity row the feature values as of its prediction time.

    entities: Parquet/CSV path or an Arrow/Polars/pandas frame with the views' entity keys and
        `prediction_col` (needed unless only label views are asked for).
    views: names (or "a,b"); feature views (latest, sequence) and label views.
    ttl: maximum age of a feature value ("24h", timedelta, seconds); older values become nulls.
    split: keep only rows of this split ("train" | "val" | "test"), joined from features.splits by
        subject_id (an entity `split` column, when present, is used instead).
    include_labels: True: label views given in `views` are joined; False: they are dropped (an inference
        frame); a name or list: these label views are joined as well.

    The result carries the lineage (views, code versions, fingerprints, weights_source), the TTL, the
    split and the guard report in its schema metadata (`frame_report(table)`); both guards must be zero
    or ClinfuseError is raised (unless `enforce_guards=False`, for audits).
    """
    registry = registry or REGISTRY
    home = home if isinstance(home, Home) else Home.open(home)
    names = _view_list(views)
    chosen = [registry.get(n) for n in names]
    if include_labels is False:
        chosen = [v for v in chosen if not v.is_label]
    elif include_labels is not True:
        extra = _view_list(include_labels)
        for name in extra:
            view = registry.get(name)
            if not view.is_label:
                raise ClinfuseError(f"include_labels: {name} is a feature view, not a label view")
            if view not in chosen:
                chosen.append(view)
    if not chosen:
        raise ClinfuseError("no views left to retrieve")
    if split is not None and split not in SPLITS:
        raise ClinfuseError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    ttl = parse_ttl(ttl)

    con = engine(home)
    try:
        table = load_entities(entities, con)
        if prediction_col != PREDICTION:
            if PREDICTION in table.column_names:
                raise ClinfuseError(f"entities: both {prediction_col!r} and {PREDICTION!r} given")
            if prediction_col in table.column_names:
                table = table.rename_columns([PREDICTION if c == prediction_col else c for c in table.column_names])
        _check_entities(table, chosen)
        table = utc_naive(table, PREDICTION)
        resolved = []
        for view in chosen:
            rv = resolve(view, home, con, stats=True, registry=registry).check()
            for key in view.entity_keys:
                if rv.key_type(key) is None:
                    raise ClinfuseError(f"feature view {view.name}: {view.source_table} has no key {key!r}")
            resolved.append(rv)
        frame = _run(con, home, table, resolved, ttl, split)
    except duckdb.Error as exc:
        raise ClinfuseError(f"feature retrieval: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()

    feature_asof = [rv.view.out("asof_time") for rv in resolved if not rv.view.is_label]
    user_asof = [c for c in table.column_names if c.endswith(ASOF_SUFFIX)]
    report = check_frame(frame, feature_asof + user_asof, PREDICTION)
    if enforce_guards:
        report.raise_on_violation()
    rows_before = frame.num_rows
    if split is not None:
        frame = frame.filter(pc.equal(pc.cast(frame["split"], pa.string()), split))
    meta = {
        "views": [_lineage(rv, [c for c in frame.column_names if c.startswith(rv.view.name + "__")])
                  for rv in resolved],
        "labels": [c for rv in resolved if rv.view.is_label for c in frame.column_names
                   if c.startswith(rv.view.name + "__")],
        "entity_columns": list(table.column_names), "prediction_column": PREDICTION,
        "ttl_seconds": ttl.total_seconds() if ttl else None, "split": split,
        "rows_before_split": rows_before, "guards": report.as_dict(),
    }
    return frame.replace_schema_metadata({**(frame.schema.metadata or {}),
                                          b"clinfuse": json.dumps(meta, sort_keys=True).encode()})


def _check_entities(table: pa.Table, views: list[FeatureView]) -> None:
    cols = set(table.column_names)
    if ROW in cols:
        raise ClinfuseError(f"entities: column name {ROW!r} is reserved")
    for view in views:
        missing = [k for k in view.entity_keys if k not in cols]
        if missing:
            raise ClinfuseError(f"entities have no column {missing[0]!r}, the entity key of feature view "
                                f"{view.name} (entity columns: {', '.join(table.column_names)})")
        clash = [c for c in cols if c.startswith(view.name + "__")]
        if clash:
            raise ClinfuseError(f"entities: column {clash[0]!r} clashes with the output of feature view {view.name}")
    if any(not v.is_label for v in views) and PREDICTION not in cols:
        raise ClinfuseError(f"entities have no {PREDICTION!r} column (the time each row's features are taken at)")


def _splits_dir(home: Home) -> Path | None:
    table_dir = home.table_dir("features", "splits")
    return table_dir if table_dir.is_dir() and next(table_dir.rglob("*.parquet"), None) else None


def _run(con, home: Home, entities: pa.Table, resolved: list[ResolvedView], ttl, split) -> pa.Table:
    indexed = entities.append_column(ROW, pa.array(range(entities.num_rows), pa.int64()))
    con.register("__entities", indexed)
    cols = set(entities.column_names)
    # via TIMESTAMPTZ: a string with an offset is converted to UTC (a plain cast would drop the offset);
    # naive values stay as they are (the session zone is UTC, warehouse.lake.connect)
    cast = (f" REPLACE (CAST(CAST({quote(PREDICTION)} AS TIMESTAMPTZ) AS TIMESTAMP) AS {quote(PREDICTION)})"
            if PREDICTION in cols else "")
    con.execute(f"CREATE TEMP TABLE __e AS SELECT *{cast} FROM __entities")
    con.unregister("__entities")
    joins, selects = [], ["e.* EXCLUDE (" + ROW + ")"]
    splits = _splits_dir(home)
    if "split" not in cols and (split is not None or splits is not None) and "subject_id" in cols:
        if splits is None:
            raise ClinfuseError("split: features.splits is not materialised (materialise features/splits)")
        joins.append(f"LEFT JOIN read_parquet({sql_str(parquet_glob(splits))}) AS sp ON sp.subject_id = e.subject_id")
        selects.append("CAST(sp.split AS VARCHAR) AS split")
    elif split is not None and "split" not in cols:
        raise ClinfuseError("split: the entities need a subject_id column to be joined to features.splits")
    for i, rv in enumerate(resolved):
        view = rv.view
        con.execute(f"CREATE TEMP TABLE __m{i} AS {view_sql(view, rv, ttl)}")
        if view.is_label:
            dup = con.execute(f"SELECT {ROW} FROM __m{i} GROUP BY {ROW} HAVING count(*) > 1 LIMIT 1").fetchall()
            if dup:
                raise ClinfuseError(f"label view {view.name}: several {view.source_table} rows for one entity key "
                                    f"(entity row {dup[0][0]}); label views must be unique per key")
        joins.append(f"LEFT JOIN __m{i} ON __m{i}.{ROW} = e.{ROW}")
        replace = (f" REPLACE (coalesce({quote(view.out('length'))}, 0) AS {quote(view.out('length'))})"
                   if view.kind == "sequence" else "")
        selects.append(f"__m{i}.* EXCLUDE ({ROW}){replace}")
    sql = f"SELECT {', '.join(selects)} FROM __e AS e {' '.join(joins)} ORDER BY e.{ROW}"
    con.execute("SET preserve_insertion_order = true")
    table = con.sql(sql).to_arrow_table()
    for rv in resolved:
        seq = {rv.view.out(g.name) for g in rv.view.groups} if rv.view.kind == "sequence" else set()
        table = fix_stacked(table, stacked_widths(rv.view, rv), seq)
    return table


# ---------------------------------------------------------------- output


def save_training_frame(table: pa.Table, path: str | os.PathLike) -> Path:
    """Write a training frame as zstd Parquet (or Arrow IPC for .arrow/.feather), atomically."""
    path = Path(path)
    name = path.name.lower()
    if not name.endswith((".parquet", ".pq", ".arrow", ".feather", ".ipc")):
        raise ClinfuseError(f"{path}: training frames are written as .parquet (or .arrow / .feather)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        if name.endswith((".parquet", ".pq")):
            pq.write_table(table, tmp, compression="zstd")
        else:
            import pyarrow.feather as feather

            feather.write_feather(table, tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_training_frame(path: str | os.PathLike) -> pa.Table:
    path = Path(path)
    if path.name.lower().endswith((".arrow", ".feather", ".ipc")):
        import pyarrow.feather as feather

        return feather.read_table(path)
    return pq.read_table(path)
