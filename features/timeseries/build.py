"""Build the MedFuse task cohorts and their time series from a home's `raw.*` and `cohorts.icu_stays`.

Why the task cohorts are built here and not in `warehouse/sql/cohorts/`: `cohorts.ihm_48h` and
`cohorts.phenotyping` keep a stay only if it has at least one *cleaned* event of the 17 variables in the
task window (reference §1.9), and the cleaning (`clean_events`, both modes) is Python in this package.
`warehouse/` must not import `features/`, and re-writing the cleaning rules in SQL would give two
implementations that can drift apart. So a task cohort is derived from the very frame its time series
is discretised from: the cohort's stays are exactly the stays of the time series, by construction.

Pipeline per shard (``shard=None``: every stay at once), no Python loop over patients or rows:
    cohorts.icu_stays --extract_events (DuckDB)--> events --clean_events(mode)--> cleaned events
        --timeseries_ihm / timeseries_pheno (Polars)--> 76 columns per step
        --> ihm_48h, phenotyping (cohorts) + timeseries_ihm, timeseries_pheno (features)

The asset `features/timeseries_events` stores the cleaned events per shard (`shard_events`), so that a new
timestep re-discretises them only; `medfuse_task_tables` reads them back (`read_shard_events`) and writes the
four tables one `shard=k` folder at a time (warehouse.lake.write_shards).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import duckdb
import polars as pl

from features.labels import PhenotypeMode, phenotype_labels
from features.timeseries.cleaning import CLEANING_MODES, CleaningMode, clean_events
from features.timeseries.discretize import IHM_HOURS, Discretized, timeseries_ihm, timeseries_pheno
from features.timeseries.events import extract_events
from features.timeseries.layout import COLUMNS
from warehouse.cohorts import describe_cohort as describe_sql_cohort
from warehouse.lake import (
    DEFAULT_SHARDS,
    ClinfuseError,
    Home,
    open_lake,
    parquet_glob,
    shard_filter,
)

TASK_COHORTS: tuple[str, ...] = ("ihm_48h", "phenotyping")
FEATURE_TABLES: tuple[str, ...] = ("timeseries_ihm", "timeseries_pheno")

_RULES = {
    "ihm_48h": """cohorts.ihm_48h: in-hospital mortality after 48 h in the ICU (MedFuse, reference-pipelines.md §1.9).
rules:
  1. Every stay of cohorts.icu_stays (MedFuse root rules) ...
  2. ... whose ICU length of stay (24 x icustays.los hours) is non-null and >= 48 h - 1e-6 ...
  3. ... with at least one cleaned event of the 17 variables at -1e-6 < t < 48 + 1e-6 hours after intime
     (events of the episode: stay_id match or charttime within [intime, outtime]; labs via hadm_id;
     cleaning mode as configured, `fixed` by default).
  4. One sample per stay; prediction_time = intime + 48 h; y_true = in-hospital mortality (dod or deathtime
     within [admittime, dischtime], the dod-is-a-date rule), deaths after ICU discharge included.
Built in Python with the time series (features.timeseries.build) so that cohort and features agree exactly.""",
    "phenotyping": """cohorts.phenotyping: the 25 HCUP CCS phenotypes of the whole ICU stay (MedFuse, reference-pipelines.md §1.9).
rules:
  1. Every stay of cohorts.icu_stays (MedFuse root rules) with a non-null length of stay ...
  2. ... and at least one cleaned event of the 17 variables at -1e-6 < t < LoS_h + 1e-6 hours after intime
     (a stay whose period gives no time step, LoS < 1e-6 x timestep h, is dropped).
  3. One sample per stay; prediction_time = outtime; period_length = LoS in hours (6 decimals).
  4. Labels: a phenotype is 1 when any diagnosis of the admission has one of its codes
     (icd_9_10_definitions_2.yaml; `fixed`: matched on (icd_version, code); `faithful`: code string only,
     diagnoses restricted to codes in d_icd_diagnoses as the reference's inner join does).
Built in Python with the time series (features.timeseries.build) so that cohort and features agree exactly.""",
}


def describe_cohort(name: str) -> str:
    """Inclusion rules of any MedFuse cohort: the SQL ones (icu_stays, los) and the task ones."""
    return _RULES[name] if name in _RULES else describe_sql_cohort(name)


@dataclass
class TaskFrames:
    """What one shard (or everything) gives: two cohorts, two time-series tables and a few counts."""

    ihm_48h: pl.DataFrame
    phenotyping: pl.DataFrame
    timeseries_ihm: pl.DataFrame
    timeseries_pheno: pl.DataFrame
    stats: dict = field(default_factory=dict)

    def table(self, name: str) -> pl.DataFrame:
        return getattr(self, name)


# ---------------------------------------------------------------- inputs


def load_stays(con: duckdb.DuckDBPyConnection, shard: int | None = None, shards: int = DEFAULT_SHARDS) -> pl.DataFrame:
    """The shard's stays of `cohorts.icu_stays` (every column but the stored shard), sorted by stay_id."""
    try:
        rel = con.sql(f"SELECT * EXCLUDE (shard) FROM cohorts.icu_stays "
                      f"WHERE {shard_filter(shard, shards)} ORDER BY stay_id")
    except duckdb.CatalogException:
        raise ClinfuseError("cohorts.icu_stays does not exist: build the SQL cohorts first "
                            "(warehouse.cohorts.build_cohorts)") from None
    return rel.pl()


def cleaned_events(con: duckdb.DuckDBPyConnection, stays: pl.DataFrame, mode: CleaningMode = "fixed") -> pl.DataFrame:
    """The stays' events of the 17 variables, extracted (DuckDB) and cleaned (Polars), one value per
    (stay_id, charttime, variable): subject_id, hadm_id, stay_id, charttime, hours, itemid, variable,
    value_str, value_num."""
    if mode not in CLEANING_MODES:
        raise ValueError(f"cleaning mode must be one of {CLEANING_MODES}, got {mode!r}")
    keys = stays.select("subject_id", "hadm_id", "stay_id", "intime", "outtime")
    events = extract_events(con, keys).pl()
    return clean_events(events, mode).collect()


def shard_events(con: duckdb.DuckDBPyConnection, shard: int | None, shards: int, mode: CleaningMode) -> pl.DataFrame:
    """The cleaned events of a shard's stays as `features.timeseries_events` stores them: `cleaned_events`
    plus the cleaning `mode` (what the task tables built from them record as theirs)."""
    return cleaned_events(con, load_stays(con, shard, shards), mode).with_columns(pl.lit(mode).alias("mode"))


def read_shard_events(home: Home, shard: int) -> tuple[pl.DataFrame, CleaningMode | None]:
    """One shard of `features.timeseries_events` and the mode it was cleaned in (None for a shard without
    events, where nothing depends on it)."""
    folder = home.table_dir(SCHEMA_OF[EVENTS_TABLE], EVENTS_TABLE) / f"shard={int(shard)}"
    if not folder.is_dir():
        raise ClinfuseError(f"features.{EVENTS_TABLE} has no shard {shard}: materialise features/{EVENTS_TABLE} first")
    events = pl.read_parquet(parquet_glob(folder), hive_partitioning=False)
    modes = events["mode"].unique().to_list()
    if len(modes) > 1:
        raise ClinfuseError(f"features.{EVENTS_TABLE} shard {shard} mixes cleaning modes {sorted(modes)}")
    return events.drop("mode"), modes[0] if modes else None


def load_diagnoses(con: duckdb.DuckDBPyConnection, stays: pl.DataFrame, phenotype_mode: PhenotypeMode) -> pl.DataFrame:
    """Diagnoses of the stays' admissions (subject_id, hadm_id, icd_code, icd_version).

    Faithful mode keeps only codes present in d_icd_diagnoses (the reference inner-joins the dictionary
    on icd_code alone)."""
    con.register("_build_admissions", stays.select("subject_id", "hadm_id").unique().to_arrow())
    try:
        known = ("AND d.icd_code IN (SELECT icd_code FROM raw.hosp_d_icd_diagnoses)"
                 if phenotype_mode == "faithful" else "")
        return con.sql(
            "SELECT d.subject_id, d.hadm_id, d.icd_code, d.icd_version FROM raw.hosp_diagnoses_icd AS d "
            "JOIN _build_admissions AS a ON a.subject_id = d.subject_id AND a.hadm_id = d.hadm_id "
            f"WHERE d.icd_code IS NOT NULL {known}"
        ).pl()
    finally:
        con.unregister("_build_admissions")


# ---------------------------------------------------------------- frames


def _with_keys(disc: Discretized, stays: pl.DataFrame, shards: int) -> pl.DataFrame:
    """subject_id, hadm_id, stay_id, step, asof_time (intime + hours of the latest event used, null while
    only normal values are in the row), the 76 columns, shard."""
    keys = stays.select("stay_id", "subject_id", "hadm_id", "intime")
    asof = pl.col("intime") + pl.duration(microseconds=(pl.col("asof_hours") * 3.6e9).round(0).cast(pl.Int64))
    return (
        disc.frame.join(keys, on="stay_id", how="left")
        .select("subject_id", "hadm_id", "stay_id", pl.col("step").cast(pl.Int32), asof.alias("asof_time"),
                *COLUMNS, (pl.col("subject_id") % shards).cast(pl.Int32).alias("shard"))
        .sort("subject_id", "stay_id", "step")
    )


def ihm_frames(
    stays: pl.DataFrame,
    events: pl.DataFrame,
    timestep: float = 2.0,
    shards: int = DEFAULT_SHARDS,
    dtype: pl.DataType | type[pl.DataType] = pl.Float32,
) -> tuple[pl.DataFrame, pl.DataFrame, Discretized]:
    """(cohort ihm_48h, timeseries_ihm, the raw Discretized) for the given stays and cleaned events."""
    disc = timeseries_ihm(events, stays, timestep=timestep, dtype=dtype)
    ts = _with_keys(disc, stays, shards)
    chosen = disc.frame.select("stay_id").unique()
    cohort = (
        stays.join(chosen, on="stay_id", how="semi")
        .select("subject_id", "hadm_id", "stay_id", "intime",
                (pl.col("intime") + pl.duration(hours=IHM_HOURS)).alias("prediction_time"),
                pl.col("mortality_inhospital").cast(pl.Int8).alias("y_true"),
                (pl.col("subject_id") % shards).cast(pl.Int32).alias("shard"))
        .sort("subject_id", "stay_id")
    )
    return cohort, ts, disc


def pheno_frames(
    stays: pl.DataFrame,
    events: pl.DataFrame,
    diagnoses: pl.DataFrame,
    timestep: float = 2.0,
    phenotype_mode: PhenotypeMode = "fixed",
    shards: int = DEFAULT_SHARDS,
    dtype: pl.DataType | type[pl.DataType] = pl.Float32,
) -> tuple[pl.DataFrame, pl.DataFrame, Discretized]:
    """(cohort phenotyping with the 25 labels, timeseries_pheno, the raw Discretized)."""
    disc = timeseries_pheno(events, stays, timestep=timestep, dtype=dtype)
    ts = _with_keys(disc, stays, shards)
    chosen = stays.join(disc.frame.select("stay_id").unique(), on="stay_id", how="semi")
    labels = phenotype_labels(chosen, diagnoses, mode=phenotype_mode).drop("subject_id", "hadm_id")
    cohort = (
        chosen.select("subject_id", "hadm_id", "stay_id", "intime", "outtime",
                      pl.col("outtime").alias("prediction_time"),
                      (pl.col("los").cast(pl.Float64) * 24.0).round(6).alias("period_length"))
        .join(labels, on="stay_id", how="left")
        .with_columns((pl.col("subject_id") % shards).cast(pl.Int32).alias("shard"))
        .sort("subject_id", "stay_id")
    )
    return cohort, ts, disc


def _unseen(*discs: Discretized) -> list[dict]:
    frames = [d.unseen for d in discs if d.unseen.height]
    if not frames:
        return []
    merged = pl.concat(frames).group_by("variable", "value_str").agg(pl.col("n").max()).sort("variable", "value_str")
    return merged.to_dicts()


def build_task_frames(
    home: Home,
    shard: int | None = None,
    shards: int = DEFAULT_SHARDS,
    mode: CleaningMode = "fixed",
    timestep: float = 2.0,
    phenotype_mode: PhenotypeMode | None = None,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    dtype: pl.DataType | type[pl.DataType] = pl.Float32,
    events: pl.DataFrame | None = None,
) -> TaskFrames:
    """Both task cohorts and both time-series tables for one shard (`subject_id % shards == shard`) or,
    with `shard=None`, for every stay. `phenotype_mode` defaults to `mode`. `events`: the shard's cleaned
    events already made (`read_shard_events`, cleaned in `mode`); default: extracted and cleaned here."""
    phenotype_mode = phenotype_mode or mode
    own = con is None
    con = con or open_lake(home)
    try:
        t0 = time.perf_counter()
        stays = load_stays(con, shard, shards)
        events = cleaned_events(con, stays, mode) if events is None else events
        diagnoses = load_diagnoses(con, stays, phenotype_mode)
        t1 = time.perf_counter()
    finally:
        if own:
            con.close()
    ihm, ts_ihm, d_ihm = ihm_frames(stays, events, timestep, shards, dtype)
    pheno, ts_pheno, d_pheno = pheno_frames(stays, events, diagnoses, timestep, phenotype_mode, shards, dtype)
    stats = {
        "shard": shard, "stays": stays.height, "events": events.height,
        "ihm_48h": ihm.height, "ihm_positives": int(ihm["y_true"].sum() or 0), "timeseries_ihm": ts_ihm.height,
        "phenotyping": pheno.height, "timeseries_pheno": ts_pheno.height,
        "unseen_categories": _unseen(d_ihm, d_pheno),
        "n_unseen_ihm": d_ihm.n_unseen, "n_unseen_pheno": d_pheno.n_unseen,
        "seconds_events": round(t1 - t0, 3), "seconds_total": round(time.perf_counter() - t0, 3),
    }
    return TaskFrames(ihm, pheno, ts_ihm, ts_pheno, stats)


# ---------------------------------------------------------------- writing


EVENTS_TABLE = "timeseries_events"
ORDER_BY = {
    EVENTS_TABLE: "subject_id, stay_id, charttime, variable",
    "ihm_48h": "subject_id, stay_id",
    "phenotyping": "subject_id, stay_id",
    "timeseries_ihm": "subject_id, stay_id, step",
    "timeseries_pheno": "subject_id, stay_id, step",
}
SCHEMA_OF = {EVENTS_TABLE: "features", "ihm_48h": "cohorts", "phenotyping": "cohorts",
             "timeseries_ihm": "features", "timeseries_pheno": "features"}
