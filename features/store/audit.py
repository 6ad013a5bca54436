"""The store's point-in-time audit: does every feature row's as-of bound the inputs that went into it?

Retrieval hands a row out only when its as-of is <= the prediction time (ASOF JOIN), so a guard over the
frames it builds can never fail. What can be wrong is the as-of itself: a table whose as-of is earlier than
data it used leaks that data into every frame, undetected. This audit recomputes, for a sample of each
feature table's rows, the times of the inputs that went into the row, from the lake's raw tables, and counts
the rows whose as-of is earlier than one of them (`violations`, must be 0):

| views | a row's inputs and their times |
|---|---|
| timeseries_ihm / _pheno | every cleaned event in a grid bin <= the row's step (its own bin, and earlier ones through forward filling): charttime |
| cxr_tensors*, cxr_densenet121_chex*, cxr_pairs_* | the image: its study time (StudyDate + StudyTime, the `study_datetime` macro of warehouse/sql/time_rules.sql) |
| note_chunks, notes_clinicalbert* | the note: charttime, and storetime when recorded (the text exists once stored) |
| haim | every event, image and note the HAIM builder selects for the sample (features.haim.feature_times), the own image included |

Label views carry no as-of and are outside the rule. Settings a table was built with (the time-series
`mode` and `timestep_hours`) come from its asset's metadata (`settings`; defaults: fixed, 2 h).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import duckdb
import polars as pl

from features.store.model import FeatureView, Registry
from features.store.names import quote
from features.store.resolve import ResolvedView, resolve
from warehouse.lake import ClinfuseError, Home, home_shards, open_lake

SAMPLE_ROWS = 2000
# As-of times are stored to the microsecond from float hours (time series): a round trip may move them 1 us.
TOLERANCE = timedelta(milliseconds=1)


def _sample(con, rv: ResolvedView, columns: list[str], where: str, n: int) -> pl.DataFrame:
    """Up to n rows of the view's table (deterministic: by a hash of the row's keys), `asof` = the view's as-of."""
    view = rv.view
    cols = ", ".join(quote(c) for c in columns)
    keys = ", ".join(quote(c) for c in dict.fromkeys([*view.entity_keys, *view.row_ids, *view.order_by]))
    return con.sql(f"SELECT {cols}, CAST({quote(view.asof)} AS TIMESTAMP) AS asof FROM {rv.scan_sql()} "
                   f"WHERE {quote(view.asof)} IS NOT NULL AND {where} ORDER BY hash({keys}), {keys} LIMIT {int(n)}").pl()


def _image_inputs(con, home: Home, rv: ResolvedView, settings: dict, n: int) -> pl.DataFrame:
    from warehouse.timerules import with_study_datetime

    rows = _sample(con, rv, ["dicom_id"], "dicom_id IS NOT NULL", n)
    con.register("_audit_rows", rows.select("dicom_id").to_arrow())
    try:
        meta = con.sql("SELECT dicom_id, StudyDate, StudyTime FROM raw.cxr_metadata "
                       "WHERE dicom_id IN (SELECT dicom_id FROM _audit_rows)").pl()
    finally:
        con.unregister("_audit_rows")
    times = with_study_datetime(meta).select("dicom_id", pl.col("study_datetime").alias("input_time"))
    return rows.join(times, on="dicom_id", how="left").select("asof", "input_time")


def _note_inputs(con, home: Home, rv: ResolvedView, settings: dict, n: int) -> pl.DataFrame:
    rows = _sample(con, rv, ["note_id"], "TRUE", n)
    con.register("_audit_rows", rows.select("note_id").to_arrow())
    try:
        notes = con.sql(" UNION ALL ".join(
            f"SELECT note_id, charttime, storetime FROM raw.{t} "
            f"WHERE note_id IN (SELECT note_id FROM _audit_rows)" for t in ("note_discharge", "note_radiology"))).pl()
    finally:
        con.unregister("_audit_rows")
    # the raw times the note carries (the later of the two), not the availability rule the view applies
    notes = notes.select("note_id", pl.max_horizontal("charttime", "storetime").alias("input_time"))
    return rows.join(notes, on="note_id", how="left").select("asof", "input_time")


def _timeseries_inputs(task: str) -> Callable:
    def inputs(con, home: Home, rv: ResolvedView, settings: dict, n: int) -> pl.DataFrame:
        from features.timeseries.build import cleaned_events, load_stays
        from features.timeseries.discretize import step_inputs

        mode = settings.get("mode") or "fixed"
        timestep = float(settings.get("timestep_hours") or 2.0)
        stays_n = max(1, n // 24)  # whole stays (every step of a stay), about n rows
        chosen = con.sql(f"SELECT DISTINCT stay_id FROM {rv.scan_sql()} ORDER BY hash(stay_id), stay_id "
                         f"LIMIT {stays_n}").pl()
        stays = load_stays(con).join(chosen, on="stay_id", how="semi")
        steps = step_inputs(cleaned_events(con, stays, mode), stays, task, timestep)
        con.register("_audit_stays", chosen.to_arrow())
        try:
            rows = con.sql(f"SELECT stay_id, step, CAST(asof_time AS TIMESTAMP) AS asof FROM {rv.scan_sql()} "
                           f"WHERE stay_id IN (SELECT stay_id FROM _audit_stays)").pl()
        finally:
            con.unregister("_audit_stays")
        # the latest input of step k: the latest event of any bin <= k (forward filling carries it on)
        latest = (steps.group_by("stay_id", "step").agg(pl.col("hours").max())
                  .sort("stay_id", "step").with_columns(pl.col("hours").cum_max().over("stay_id"))
                  .with_columns(pl.col("step").cast(pl.Int64)).sort("step"))
        intime = stays.select("stay_id", "intime")
        rows = rows.with_columns(pl.col("step").cast(pl.Int64)).sort("step").join_asof(
            latest, on="step", by="stay_id", strategy="backward")
        to_time = pl.col("intime") + pl.duration(microseconds=(pl.col("hours") * 3.6e9).round(0).cast(pl.Int64))
        return rows.join(intime, on="stay_id", how="left").select(
            pl.col("asof"), to_time.alias("input_time"))
    return inputs


def _haim_inputs(con, home: Home, rv: ResolvedView, settings: dict, n: int) -> pl.DataFrame:
    from features.haim import feature_times

    shards = home_shards(home) or 1
    # one subject shard: every input of its samples (the HAIM selection is per shard)
    rows = con.sql(f"SELECT sample_id, CAST({quote(rv.view.asof)} AS TIMESTAMP) AS asof FROM {rv.scan_sql()} "
                   f"WHERE subject_id % {int(shards)} = 0").pl()
    if rows.is_empty():
        return rows.with_columns(pl.lit(None, pl.Datetime("us")).alias("input_time")).select("asof", "input_time")
    times = feature_times(home, shard=0, shards=shards, mode=settings.get("mode") or "fixed", include_own_image=True)
    per_sample = times.group_by("sample_id").agg(pl.col("max_time").max().alias("input_time"))
    return rows.join(per_sample, on="sample_id", how="inner").head(n).select("asof", "input_time")


INPUT_TIMES: dict[str, Callable[[duckdb.DuckDBPyConnection, Home, ResolvedView, dict, int], pl.DataFrame]] = {
    "timeseries_ihm": _timeseries_inputs("ihm"),
    "timeseries_pheno": _timeseries_inputs("pheno"),
    **dict.fromkeys(("cxr_tensors", "cxr_tensors_by_image", "cxr_densenet121_chex", "cxr_densenet121_chex_by_image",
                     "cxr_pairs_ihm", "cxr_pairs_pheno"), _image_inputs),
    **dict.fromkeys(("note_chunks", "notes_clinicalbert", "notes_clinicalbert_notes"), _note_inputs),
    "haim": _haim_inputs,
}


def audit_view(home: Home, view: FeatureView, con: duckdb.DuckDBPyConnection, *, settings: dict | None = None,
               sample: int = SAMPLE_ROWS, inputs: Callable | None = None) -> dict:
    """{"rows_checked", "violations", "missing_inputs", "example"} for one materialised feature view: rows (of
    a sample) whose as-of is earlier than an input's time. `inputs` defaults to INPUT_TIMES[view.name]."""
    inputs = inputs or INPUT_TIMES.get(view.name)
    if inputs is None:
        raise ClinfuseError(f"feature view {view.name}: no input-time rule (features.store.audit.INPUT_TIMES)")
    rv = resolve(view, home, con, stats=True).check()
    if not rv.rows:  # an empty table (e.g. no chest X-ray source): nothing to check
        return {"rows_checked": 0, "violations": 0, "missing_inputs": 0, "example": None}
    frame = inputs(con, home, rv, settings or {}, sample)
    late = frame.filter(pl.col("input_time") > pl.col("asof") + TOLERANCE)
    example = late.sort(pl.col("input_time") - pl.col("asof"), descending=True).head(1).to_dicts()
    return {"rows_checked": frame.height, "violations": late.height,
            "missing_inputs": frame["input_time"].null_count(),  # rows whose input the raw tables do not hold
            "example": {k: str(v) for k, v in example[0].items()} if example else None}


def audit_store(home: Home, registry: Registry | None = None, *, settings: dict[str, dict] | None = None,
                sample: int = SAMPLE_ROWS) -> dict:
    """The input-time audit over every materialised feature view, plus `features.splits` disjointness; for
    the Dagster asset checks of store/registry: `violations` and `crossing_subjects` must be zero.

    settings: view name -> the build settings of its table (e.g. {"timeseries_ihm": {"mode": "faithful",
    "timestep_hours": 1.0}}). Returns {"views": {name: audit_view(...)}, "violations": total,
    "crossing_subjects": n, "skipped": [views not materialised]}."""
    from features.store.declarations import REGISTRY
    from features.store.guards import subjects_crossing_splits

    registry = registry or REGISTRY
    views, skipped = {}, []
    con = open_lake(home)
    try:
        for view in registry:
            if view.is_label:
                continue
            if not resolve(view, home, con).materialised:
                skipped.append(view.name)
                continue
            views[view.name] = audit_view(home, view, con, settings=(settings or {}).get(view.name), sample=sample)
    finally:
        con.close()
    crossing = subjects_crossing_splits(home) if home.table_dir("features", "splits").is_dir() else 0
    return {"views": views, "skipped": skipped, "crossing_subjects": crossing,
            "violations": sum(v["violations"] for v in views.values())}
