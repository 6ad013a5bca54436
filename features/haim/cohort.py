"""Build `cohorts.haim_samples` from `warehouse/sql/cohorts/haim_samples.sql` (its header comment = its rules).

Why not `warehouse.cohorts.build_cohort(home, "haim_samples")`: registering the file in `warehouse.cohorts.COHORTS`
makes `build_cohorts` (and the Dagster cohort assets generated from that list) build it on every source, and a
source without MIMIC-CXR gives an empty haim_samples, which `build_cohort` treats as an error — it would break
every MIMIC-IV-only build (the demo, the MedFuse flows). Until `warehouse.cohorts` can mark a cohort as allowed to
be empty (and order it by its own key: `subject_id, stay_id` is not unique here), this function runs the same SQL
file through the same lake machinery: engine + lake views, `write_parquet` (sharded, atomic), `publish`.
"""

from __future__ import annotations

from pathlib import Path

import warehouse.cohorts as wc
from warehouse.lake import DEFAULT_SHARDS, Home

NAME = "haim_samples"
ORDER_BY = "subject_id, prediction_time, sample_id"  # unique: sample_id = dicom_id-hadm_id


def sql_path() -> Path:
    return wc.cohort_sql_path(NAME)


def haim_samples_sql(shards: int = DEFAULT_SHARDS) -> str:
    """The cohort's SELECT with the shard count filled in."""
    return wc.cohort_sql(NAME, shards)


def describe_haim_samples() -> str:
    """The inclusion rules: the SQL file's header comment."""
    return wc.describe_cohort(NAME)


def build_haim_samples(
    home: Home,
    shards: int = DEFAULT_SHARDS,
    *,
    allow_empty: bool = True,
    threads: int | None = None,
) -> int:
    """Materialise `lake/cohorts/haim_samples/` (sharded, atomic) and publish `cohorts.haim_samples`; return its
    rows. Empty (a source without MIMIC-CXR) is allowed unless `allow_empty=False`."""
    return wc.build_cohort(home, NAME, shards, allow_empty=allow_empty, threads=threads, order_by=ORDER_BY)
