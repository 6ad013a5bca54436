"""Extraction of the 17 variables' raw events for a cohort of ICU stays, in DuckDB (reference §1.4, §1.7).

The SQL lives in `events.sql`; this module only binds its two inputs (the cohort and the item map) to
names on the connection and returns the lazy relation.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from features.mimic3_benchmarks import mimic_iv_item_map

SQL_PATH = Path(__file__).with_name("events.sql")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")

CohortLike = duckdb.DuckDBPyRelation | pl.DataFrame | pl.LazyFrame | pa.Table | str


def extract_events(
    con: duckdb.DuckDBPyConnection,
    cohort: CohortLike,
    items: pl.DataFrame | None = None,
) -> duckdb.DuckDBPyRelation:
    """Events of the cohort's episodes, one row per (episode stay, event).

    `con` must have the views `raw.icu_chartevents` and `raw.hosp_labevents`. `cohort` holds
    subject_id, hadm_id, stay_id, intime, outtime (a relation, a Polars/Arrow frame, or the name of a
    table/view such as "cohorts.icu_stays"). `items` defaults to the 44 MIMIC-IV item ids of the map.

    Columns: subject_id, hadm_id, stay_id (the episode), event_stay_id (the stay the event was validated
    against), charttime, hours (since the episode's intime, may be negative), itemid, variable,
    mimic_label, value, valuenum, valueuom, source ('chartevents' | 'labevents').
    """
    item_frame = (items if items is not None else mimic_iv_item_map()).select("itemid", "variable", "mimic_label")
    sql = SQL_PATH.read_text().format(
        cohort=_bind(con, cohort, "cohort"),
        items=_bind(con, item_frame, "items"),
    )
    return con.sql(sql)


def _bind(con: duckdb.DuckDBPyConnection, obj: CohortLike, role: str) -> str:
    """Make `obj` reachable from SQL and return the name to use there.

    A string is taken as an existing table/view name. Anything else is registered as an Arrow table under
    a fresh name (left registered: the returned relation is lazy and reads it when executed). Works on
    a read-only catalog connection.
    """
    if isinstance(obj, str):
        if not _IDENTIFIER.match(obj):
            raise ValueError(f"extract_events: {role} name {obj!r} is not a plain [schema.]table name")
        return obj
    name = f"_clinfuse_events_{role}_{uuid.uuid4().hex[:12]}"
    if isinstance(obj, duckdb.DuckDBPyRelation):
        # Materialised (a cohort is small): a view would need a writable catalog, and the relation may
        # belong to another connection.
        con.register(name, obj.to_arrow_table())
    elif isinstance(obj, pl.LazyFrame):
        con.register(name, obj.collect().to_arrow())
    elif isinstance(obj, pl.DataFrame):
        con.register(name, obj.to_arrow())
    elif isinstance(obj, pa.Table):
        con.register(name, obj)
    else:
        raise TypeError(f"extract_events: unsupported {role} type {type(obj).__name__}")
    return name
