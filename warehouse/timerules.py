"""The lake's time rules (study time of an image, when a note became readable), defined once as DuckDB macros in
`warehouse/sql/time_rules.sql`. `engine()` defines them on every connection; Polars frames go through the same
macros (`with_study_datetime`, `with_note_available_time`), so no second definition exists in Python."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

MACROS_SQL = Path(__file__).parent / "sql" / "time_rules.sql"


def define_time_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the study_datetime and note_available_time macros on `con` (temporary: never stored in a file)."""
    con.execute(MACROS_SQL.read_text())


def _through_macros(frame: pl.DataFrame | pl.LazyFrame, select: str) -> pl.DataFrame:
    con = duckdb.connect()
    try:
        define_time_macros(con)
        con.register("_frame", frame.lazy().collect().to_arrow())
        return con.sql(f"SELECT {select} FROM _frame").pl()
    finally:
        con.close()


def with_study_datetime(frame: pl.DataFrame | pl.LazyFrame, date: str = "StudyDate",
                        time: str = "StudyTime") -> pl.DataFrame:
    """`frame` with a `study_datetime` column (Datetime[us]) from its StudyDate and StudyTime columns."""
    out = _through_macros(frame, f'*, study_datetime("{date}", "{time}") AS study_datetime')
    return out.with_columns(pl.col("study_datetime").cast(pl.Datetime("us")))


def with_note_available_time(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """`frame` (source, charttime and optionally storetime columns) with an `available_time` column."""
    names = frame.lazy().collect_schema().names()
    store = "storetime" if "storetime" in names else "NULL::TIMESTAMP"
    out = _through_macros(frame, f"*, note_available_time(source, charttime, {store}) AS available_time")
    return out.with_columns(pl.col("available_time").cast(pl.Datetime("us")))
