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
from warehouse.lake import DEFAULT_SHARDS, ClinfuseError, Home, engine, lake_views, publish, write_parquet

NAME = "haim_samples"
ORDER_BY = "subject_id, prediction_time, sample_id"  # unique: sample_id = dicom_id-hadm_id


def sql_path() -> Path:
    return Path(wc.SQL_DIR) / f"{NAME}.sql"


def haim_samples_sql(shards: int = DEFAULT_SHARDS) -> str:
    """The cohort's SELECT with the shard count filled in."""
    if int(shards) < 1:
        raise ValueError(f"shards must be >= 1, got {shards}")
    return sql_path().read_text().replace("{shards}", str(int(shards)))


def describe_haim_samples() -> str:
    """The inclusion rules: the SQL file's header comment without the comment marks."""
    lines = []
    for line in sql_path().read_text().splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[3:] if line.startswith("-- ") else line[2:])
    return "\n".join(lines).strip()


def build_haim_samples(
    home: Home,
    shards: int = DEFAULT_SHARDS,
    *,
    allow_empty: bool = True,
    threads: int | None = None,
) -> int:
    """Materialise `lake/cohorts/haim_samples/` (sharded by subject_id % shards, atomic) and publish
    `cohorts.haim_samples`; return its rows. Empty (no MIMIC-CXR source) is allowed unless `allow_empty=False`."""
    if not home.table_dir("raw", "icu_icustays").is_dir():
        raise ClinfuseError(f"{home.root}: no raw tables; run `clinfuse ingest` first")
    sql = haim_samples_sql(shards)
    con = engine(home, threads=threads)
    try:
        lake_views(con, home, ("raw",))
        n = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
        if n == 0 and not allow_empty:
            images = con.execute("SELECT count(*) FROM raw.cxr_metadata").fetchone()[0]
            raise ClinfuseError(f"cohorts.{NAME} is empty: no chest X-ray lies inside an admission with an ICU stay "
                                f"(raw.cxr_metadata has {images} rows)")
        rows = write_parquet(con, sql, home.table_dir("cohorts", NAME), partition_by_shard=True, order_by=ORDER_BY)
    finally:
        con.close()
    publish(home, "cohorts", NAME)
    return rows
