"""SQL cohorts over the `raw.*` tables: `cohorts.icu_stays` (MedFuse root rules) and `cohorts.los`.

Each cohort is one SQL file in `warehouse/sql/cohorts/`, run by DuckDB over views of the lake's Parquet
files and written as Parquet sharded by `subject_id % shards` (column `shard`), then published as the
catalog view `cohorts.<name>`. The header comment of each file is its documentation: `describe_cohort`
returns it, for the Dagster metadata.

The task cohorts `cohorts.ihm_48h` and `cohorts.phenotyping` are not here: their inclusion rule needs
the *cleaned* events of the 17 variables (at least one event inside the window), and the cleaning lives
in `features.timeseries` — which may import `warehouse`, never the reverse. They are built, together
with the time series they must agree with exactly, by `features.timeseries.build`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from warehouse.lake import (
    DEFAULT_SHARDS,
    ClinfuseError,
    Home,
    claim_shards,
    engine,
    lake_views,
    publish,
    write_parquet,
)

SQL_DIR = Path(__file__).parent / "sql" / "cohorts"
# Build order: a cohort may read the ones before it.
COHORTS: list[str] = ["icu_stays", "los"]
DEPENDS_ON: dict[str, tuple[str, ...]] = {"icu_stays": (), "los": ("icu_stays",)}
ORDER_BY = "subject_id, stay_id"


def cohort_sql_path(name: str) -> Path:
    """`warehouse/sql/cohorts/<name>.sql`. COHORTS lists the ones `build_cohorts` builds; other SQL cohorts
    (haim_samples, which may be empty) are built by their own callers through `build_cohort`."""
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        known = sorted(p.stem for p in SQL_DIR.glob("*.sql"))
        raise ValueError(f"unknown SQL cohort {name!r}; known: {', '.join(known)}")
    return path


def cohort_sql(name: str, shards: int = DEFAULT_SHARDS) -> str:
    """The cohort's SELECT with the shard count filled in."""
    if int(shards) < 1:
        raise ValueError(f"shards must be >= 1, got {shards}")
    return cohort_sql_path(name).read_text().replace("{shards}", str(int(shards)))


def describe_cohort(name: str) -> str:
    """The inclusion rules of a cohort: the header comment of its SQL file, without the comment marks."""
    lines = []
    for line in cohort_sql_path(name).read_text().splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[3:] if line.startswith("-- ") else line[2:])
    return "\n".join(lines).strip()




def build_cohort(
    home: Home,
    name: str,
    shards: int = DEFAULT_SHARDS,
    *,
    allow_empty: bool = False,
    threads: int | None = None,
    order_by: str = ORDER_BY,
) -> int:
    """Materialise `lake/cohorts/<name>/` (sharded, atomic) and publish `cohorts.<name>`; return its rows.

    An empty cohort is an error (nothing is written) unless `allow_empty`.
    """
    sql = cohort_sql(name, shards)
    claim_shards(home, shards)
    missing = [dep for dep in DEPENDS_ON.get(name, ()) if not home.table_dir("cohorts", dep).is_dir()]
    if missing:
        raise ClinfuseError(f"cohorts.{name} needs cohorts.{missing[0]}: build it first")
    if not home.table_dir("raw", "icu_icustays").is_dir():
        raise ClinfuseError(f"{home.root}: no raw tables; run `clinfuse ingest` first")
    con = engine(home, threads=threads)
    try:
        lake_views(con, home)
        n = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
        if n == 0 and not allow_empty:
            raise ClinfuseError(_why_empty(con, name))
        rows = write_parquet(con, sql, home.table_dir("cohorts", name), partition_by_shard=True, order_by=order_by)
    finally:
        con.close()
    publish(home, "cohorts", name)
    return rows


def build_cohorts(home: Home, shards: int = DEFAULT_SHARDS, **kwargs) -> dict[str, int]:
    """Every SQL cohort in dependency order: name -> rows."""
    return {name: build_cohort(home, name, shards, **kwargs) for name in COHORTS}


def _why_empty(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """One line on why a cohort has no row: no stays at all, no adult patient, or the other rules."""
    stays = _count(con, "raw.icu_icustays")
    if stays == 0:
        return f"cohorts.{name} is empty: raw.icu_icustays has no rows"
    adults = con.execute("SELECT count(*) FROM raw.icu_icustays s JOIN raw.hosp_patients p USING (subject_id) "
                         "WHERE CASE WHEN p.anchor_age < 0 THEN 90 ELSE p.anchor_age END >= 18").fetchone()[0]
    if adults == 0:
        return (f"cohorts.{name} is empty: none of the {stays:,} ICU stays is of an adult patient (anchor_age >= 18), "
                f"and the MedFuse cohorts are adults only, so no cohort, time series or model can be built")
    return (f"cohorts.{name} is empty: no ICU stay passes its rules (raw.icu_icustays has {stays:,} rows, "
            f"{adults:,} of adults; see warehouse/sql/cohorts/{name}.sql)")


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
