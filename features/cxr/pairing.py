"""Pair chest X-rays to ICU stays (MedFuse, reference-pipelines.md §2; SPEC §4 item 4).

Rules, per task sample (one ICU stay of `cohorts.ihm_48h` or `cohorts.phenotyping`):
  * candidate images: `raw.cxr_metadata` rows of the same subject whose ViewPosition is in `views`
    (default AP only; `views=None` keeps every view, including a missing ViewPosition);
  * window, both ends inclusive: IHM `intime <= study_datetime <= intime + 48 h` (the post-2023-03-02
    MedFuse rule; before that the IHM window ran to outtime and leaked, reference §7 item 12);
    phenotyping `intime <= study_datetime <= outtime`;
  * the LATEST image wins. Ties (several images at the same study_datetime, e.g. the images of one study)
    are broken by the greatest dicom_id (string order), so the choice never depends on the input order —
    the reference leaves them to an unstable sort.

PARTIAL = every task sample, with `has_cxr` and the chosen image's columns (null without one);
PAIRED = the PARTIAL rows with `has_cxr`.

study_datetime: the lake's study_datetime macro (warehouse/sql/time_rules.sql, also used by
cohorts.haim_samples and features.haim): StudyDate (YYYYMMDD) + StudyTime (HHMMSS.fff) truncated to whole
seconds, as the reference does (it casts StudyTime to int and zero-pads it to 6 digits): 80556.875 ->
08:05:56, so the window edges and ties behave exactly as in MedFuse. A date or time that is not a valid
calendar value (e.g. StudyTime 246000) gives a null study_datetime, and such an image is never paired.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import duckdb
import polars as pl

from warehouse.lake import DEFAULT_SHARDS, ClinfuseError, Home, shard_filter
from warehouse.timerules import with_study_datetime

Task = Literal["ihm", "pheno"]
TASKS: dict[str, str] = {"ihm": "ihm_48h", "pheno": "phenotyping"}  # task -> its cohort table
IHM_WINDOW = timedelta(hours=48)
DEFAULT_VIEWS: tuple[str, ...] = ("AP",)

PAIR_COLUMNS: tuple[str, ...] = (
    "subject_id", "hadm_id", "stay_id", "dicom_id", "study_id", "study_datetime", "view_position",
)
PARTIAL_COLUMNS: tuple[str, ...] = (
    "subject_id", "hadm_id", "stay_id", "intime", "prediction_time", "has_cxr",
    "dicom_id", "study_id", "study_datetime", "view_position",
)


def _task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"task must be one of {tuple(TASKS)}, got {task!r}")
    return task


def _views(views) -> list[str] | None:
    if views is None:
        return None
    return [views] if isinstance(views, str) else list(views)


def _images(metadata: pl.DataFrame | pl.LazyFrame, views) -> pl.LazyFrame:
    """dicom_id, subject_id, study_id, study_datetime, view_position of the images of the allowed views."""
    meta = metadata.lazy()
    names = meta.collect_schema().names()
    if "study_datetime" not in names:
        meta = with_study_datetime(meta).lazy()
    view = pl.col("view_position" if "view_position" in names else "ViewPosition")
    meta = meta.select("dicom_id", "subject_id", "study_id", pl.col("study_datetime").cast(pl.Datetime("us")),
                       view.alias("view_position"))
    allowed = _views(views)
    if allowed is not None:
        meta = meta.filter(pl.col("view_position").is_in(allowed))
    return meta.filter(pl.col("study_datetime").is_not_null() & pl.col("dicom_id").is_not_null())


def pair_cxr_to_stays(
    metadata: pl.DataFrame | pl.LazyFrame,
    stays: pl.DataFrame | pl.LazyFrame,
    task: Task,
    views: tuple[str, ...] | list[str] | str | None = DEFAULT_VIEWS,
) -> pl.DataFrame:
    """One row per stay with an image in its task window: the latest image (ties: greatest dicom_id).

    metadata: dicom_id, subject_id, study_id and either StudyDate + StudyTime + ViewPosition (raw.cxr_metadata)
    or study_datetime + view_position. stays: subject_id, hadm_id, stay_id, intime (+ outtime for "pheno").
    Returns PAIR_COLUMNS, sorted by subject_id, stay_id.
    """
    _task(task)
    end = pl.col("intime") + IHM_WINDOW if task == "ihm" else pl.col("outtime")
    keys = stays.lazy().select("subject_id", "hadm_id", "stay_id", "intime", end.alias("window_end"))
    return (
        keys.join(_images(metadata, views), on="subject_id", how="inner")
        .filter(pl.col("study_datetime").is_between(pl.col("intime"), pl.col("window_end"), closed="both"))
        .sort("stay_id", "study_datetime", "dicom_id")
        .unique(subset="stay_id", keep="last", maintain_order=True)
        .select(*PAIR_COLUMNS)
        .sort("subject_id", "stay_id")
        .collect()
    )


def partial_samples(stays: pl.DataFrame | pl.LazyFrame, pairs: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """PARTIAL: every task sample (subject_id, hadm_id, stay_id, intime, prediction_time) with `has_cxr` and
    its paired image's dicom_id, study_id, study_datetime, view_position (null without an image)."""
    stays = stays.lazy()
    if "prediction_time" not in stays.collect_schema().names():
        stays = stays.with_columns(pl.lit(None, pl.Datetime("us")).alias("prediction_time"))
    image = pairs.lazy().select("stay_id", "dicom_id", "study_id", "study_datetime", "view_position")
    return (
        stays.select("subject_id", "hadm_id", "stay_id", "intime", "prediction_time")
        .join(image, on="stay_id", how="left")
        .with_columns(pl.col("dicom_id").is_not_null().alias("has_cxr"))
        .select(*PARTIAL_COLUMNS)
        .sort("subject_id", "stay_id")
        .collect()
    )


def paired_samples(partial: pl.DataFrame) -> pl.DataFrame:
    """PAIRED: the PARTIAL samples that have an image."""
    return partial.filter(pl.col("has_cxr"))


def pair_counts(partial: pl.DataFrame) -> dict:
    n, paired = partial.height, int(partial["has_cxr"].sum() or 0)
    return {"partial": n, "paired": paired, "paired_fraction": round(paired / n, 4) if n else 0.0}


# ---------------------------------------------------------------- from the lake




def load_metadata(con: duckdb.DuckDBPyConnection, home: Home, shard: int | None = None,
                  shards: int = DEFAULT_SHARDS) -> pl.DataFrame:
    """The shard's raw.cxr_metadata with study_datetime (empty when the home has no MIMIC-CXR source)."""
    if not home.table_dir("raw", "cxr_metadata").is_dir():
        return pl.DataFrame(schema={"dicom_id": pl.String, "subject_id": pl.Int64, "study_id": pl.Int64,
                                    "study_datetime": pl.Datetime("us"), "view_position": pl.String})
    frame = con.sql(
        "SELECT dicom_id, subject_id, study_id, study_datetime(StudyDate, StudyTime) AS study_datetime, "
        f"ViewPosition AS view_position FROM raw.cxr_metadata WHERE {shard_filter(shard, shards)}"
    ).pl()
    return frame.with_columns(pl.col("study_datetime").cast(pl.Datetime("us")))


def load_task_stays(con: duckdb.DuckDBPyConnection, task: Task, shard: int | None = None,
                    shards: int = DEFAULT_SHARDS) -> pl.DataFrame:
    """The shard's samples of the task cohort: subject_id, hadm_id, stay_id, intime, [outtime,] prediction_time."""
    table = TASKS[_task(task)]
    cols = "subject_id, hadm_id, stay_id, intime, " + ("outtime, " if task == "pheno" else "") + "prediction_time"
    try:
        return con.sql(f"SELECT {cols} FROM cohorts.{table} WHERE {shard_filter(shard, shards)} "
                       "ORDER BY subject_id, stay_id").pl()
    except duckdb.CatalogException:
        raise ClinfuseError(f"cohorts.{table} does not exist: materialise cohorts/{table} first "
                            "(it is built with features/timeseries_ihm)") from None


def build_pairs(
    home: Home,
    task: Task,
    shard: int | None = None,
    shards: int = DEFAULT_SHARDS,
    views: tuple[str, ...] | list[str] | str | None = DEFAULT_VIEWS,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[pl.DataFrame, dict]:
    """PARTIAL samples of a task for one shard (or all with `shard=None`) and their counts.

    Returns (frame with PARTIAL_COLUMNS, {task, cohort, shard, views, partial, paired, paired_fraction});
    `paired_samples(frame)` gives PAIRED. A home without MIMIC-CXR gives PARTIAL with no image."""
    from warehouse.lake import open_lake

    own = con is None
    con = con or open_lake(home)
    try:
        stays = load_task_stays(con, task, shard, shards)
        metadata = load_metadata(con, home, shard, shards)
    finally:
        if own:
            con.close()
    frame = partial_samples(stays, pair_cxr_to_stays(metadata, stays, task, views))
    counts = {"task": task, "cohort": TASKS[task], "shard": shard, "views": _views(views), **pair_counts(frame)}
    return frame, counts
