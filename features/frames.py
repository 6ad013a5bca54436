"""Training frames: the one table per task that every model of the task reads (`frames.<task>`).

A frame is built through the feature store's point-in-time retrieval (`get_training_frame`), so no row
carries a time-series step, an image or any other value from after its prediction time, and the split
comes from `features.splits` (subject-level). The frame is flat and self-describing:

    stay_id, subject_id, hadm_id, prediction_time, split,
    ts_length, ts_values (list of FLOAT[76] steps, raw values; normalise with features.normalizer_<task>),
    has_cxr, dicom_id, study_id, cxr_time        (MedFuse pairing: the latest image in the task window),
    sex, age, race                                (for subgroup analyses only, never model inputs),
    <label columns>                               (IHM: y_true; phenotyping: the 25 phenotype names)

The `cxr` frame is one row per chest X-ray tensor (all views, as MedFuse's radiology pretraining uses
them) with its study's 14 CheXpert labels, uncertain (-1) and unmentioned (null) read as 0 (reference §2).
"""

from __future__ import annotations

import pyarrow as pa

from features.store.retrieval import cohort_entities, get_training_frame
from features.tasks import FRAMES, TaskFrameSpec
from warehouse.lake import ClinfuseError, Home, engine, parquet_glob, sql_str


def _demographics(home: Home, table: pa.Table, time_column: str) -> pa.Table:
    """sex, age at the prediction time (anchor_age + years since anchor_year) and the latest race on record
    at or before that time, joined by subject; in input order."""
    con = engine(home)
    try:
        con.register("f", table)
        patients = sql_str(parquet_glob(home.table_dir("raw", "hosp_patients")))
        admissions = sql_str(parquet_glob(home.table_dir("raw", "hosp_admissions")))
        return con.sql(f"""
            WITH f AS (SELECT *, row_number() OVER () AS __row FROM f),
            race AS (
                SELECT f.__row, arg_max(a.race, a.admittime) AS race
                FROM f JOIN read_parquet({admissions}, hive_partitioning = true) a
                  ON a.subject_id = f.subject_id AND a.admittime <= f.{time_column}
                GROUP BY f.__row)
            SELECT f.* EXCLUDE (__row), p.gender AS sex,
                   CAST(p.anchor_age + year(f.{time_column}) - p.anchor_year AS DOUBLE) AS age,
                   coalesce(race.race, 'UNKNOWN') AS race
            FROM f LEFT JOIN read_parquet({patients}, hive_partitioning = true) p ON p.subject_id = f.subject_id
            LEFT JOIN race ON race.__row = f.__row
            ORDER BY f.__row""").to_arrow_table()
    finally:
        con.close()


def build_task_frame(home: Home, task: str) -> pa.Table:
    """The training frame of `task` (ihm | pheno | cxr), rows in entity order (stay_id, or dicom_id)."""
    if task not in FRAMES:
        raise ClinfuseError(f"frame {task!r}: expected one of {', '.join(FRAMES)}")
    spec = FRAMES[task]
    for source in spec.inputs:
        layer, name = source.split("/")
        if not home.table_dir(layer, name).is_dir():
            raise ClinfuseError(f"frames/{task} reads {layer}.{name}, which is not materialised: "
                                f"materialise {source} first (e.g. clinfuse run --select '*frames/{task}')")
    if task == "cxr":
        return _cxr_frame(home, spec)
    entities = cohort_entities(home, spec.cohort, columns=("stay_id", "subject_id", "hadm_id", "prediction_time"))
    if entities.num_rows == 0:
        raise ClinfuseError(f"frames/{task}: {spec.cohort.replace('/', '.')} has no rows")
    raw = get_training_frame(entities, spec.views, home=home)
    ts, pairs, labels = spec.views
    columns = {
        "stay_id": raw["stay_id"], "subject_id": raw["subject_id"], "hadm_id": raw["hadm_id"],
        "prediction_time": raw["prediction_time"], "split": raw["split"],
        "ts_length": pa.compute.fill_null(raw[f"{ts}__length"], 0),
        "ts_values": raw[f"{ts}__values"],
        "has_cxr": pa.compute.is_valid(raw[f"{pairs}__dicom_id"]),
        "dicom_id": raw[f"{pairs}__dicom_id"], "study_id": raw[f"{pairs}__study_id"],
        "cxr_time": raw[f"{pairs}__asof_time"],
    }
    table = pa.table(columns)
    table = _demographics(home, table, "prediction_time")
    for name in spec.label_columns:
        table = table.append_column(name, raw[f"{labels}__{name}"].cast(pa.int8()))
    return table


def _cxr_frame(home: Home, spec: TaskFrameSpec) -> pa.Table:
    con = engine(home)
    try:
        tensors = sql_str(parquet_glob(home.table_dir("features", "cxr_tensors")))
        entities = con.sql(f"SELECT dicom_id, subject_id, study_id, study_datetime AS prediction_time "
                           f"FROM read_parquet({tensors}, hive_partitioning = true) "
                           f"ORDER BY dicom_id").to_arrow_table()
    finally:
        con.close()
    if entities.num_rows == 0:
        raise ClinfuseError("frames/cxr: features.cxr_tensors has no rows (no readable chest X-ray)")
    raw = get_training_frame(entities, spec.views, home=home)
    labels = spec.views[0]
    table = pa.table({
        "dicom_id": raw["dicom_id"], "subject_id": raw["subject_id"], "study_id": raw["study_id"],
        "prediction_time": raw["prediction_time"], "split": raw["split"],
        "ts_length": pa.array([0] * raw.num_rows, pa.int32()),
        "ts_values": pa.nulls(raw.num_rows, pa.list_(pa.list_(pa.float32(), 76))),
        "has_cxr": pa.array([True] * raw.num_rows),
    })
    table = _demographics(home, table, "prediction_time")
    for name in spec.label_columns:
        # label rows exist only for studies with a report label; no row, null, -1 -> 0 (reference §2)
        values = pa.compute.fill_null(raw[f"{labels}__{name}"], 0.0) if f"{labels}__{name}" in raw.column_names \
            else pa.array([0.0] * raw.num_rows)
        table = table.append_column(name, pa.compute.if_else(pa.compute.equal(values, 1.0), 1, 0).cast(pa.int8()))
    return table


def frame_summary(table: pa.Table, task: str) -> dict:
    """Counts per split, PARTIAL / PAIRED, positives per label: the frame asset's metadata."""
    import polars as pl

    spec = FRAMES[task]
    frame = pl.from_arrow(table.select(["split", "has_cxr", *spec.label_columns]))
    by_split = {s: frame.filter(pl.col("split") == s) for s in ("train", "val", "test")}
    out = {"rows": frame.height, "labels": len(spec.label_columns),
           "unassigned_split": frame.filter(pl.col("split").is_null()).height}
    for name, part in by_split.items():
        out[f"{name}_partial"] = part.height
        out[f"{name}_paired"] = int(part["has_cxr"].sum() or 0)
    positives = frame.select(pl.col(c).cast(pl.Int64).sum() for c in spec.label_columns).row(0)
    out["positives"] = dict(zip(spec.label_columns, [int(p or 0) for p in positives], strict=True))
    return out


def frame_fingerprint(home: Home, task: str) -> str:
    """sha256 of the frame's Parquet bytes (the writer is deterministic, so equal frames give equal hashes)."""
    import hashlib

    table_dir = home.table_dir("frames", task)
    files = sorted(table_dir.rglob("*.parquet"))
    if not files:
        raise ClinfuseError(f"frames.{task} is not materialised: materialise frames/{task} first")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(table_dir).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def write_task_frame(home: Home, task: str) -> dict:
    """Build `frames.<task>`, write it to the lake (atomically) and publish its view; its summary."""
    from warehouse.lake import publish, write_arrow

    table = build_task_frame(home, task)
    summary = frame_summary(table, task)
    if summary["train_partial"] == 0:
        raise ClinfuseError(f"frames/{task}: no row in the training split ({summary['rows']} rows in all)")
    write_arrow(home, "frames", task, table)
    publish(home, "frames", task)
    summary["fingerprint"] = frame_fingerprint(home, task)
    return summary


def load_task_frame(home: Home, task: str) -> pa.Table:
    """The frame as written (Arrow), with its label columns in spec order."""
    import pyarrow.parquet as pq

    table_dir = home.table_dir("frames", task)
    files = sorted(table_dir.rglob("*.parquet"))
    if not files:
        raise ClinfuseError(f"frames.{task} is not materialised: materialise frames/{task} first")
    return pa.concat_tables(pq.read_table(f) for f in files)
