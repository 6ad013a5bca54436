"""The graph cannot drift from the SQL: every shipped .sql file is run by known assets, and each of them declares
every lake table the file reads (a missing edge once let cohorts/haim_samples run before raw/cxr_split existed)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.definitions import defs
from warehouse.sqldeps import tables_read

REPO = Path(__file__).resolve().parents[2]
# shipped SQL file -> the assets that run it (a new SQL file must be added here, with its runners)
RUNNERS: dict[str, tuple[str, ...]] = {
    "warehouse/sql/cohorts/icu_stays.sql": ("cohorts/icu_stays",),
    "warehouse/sql/cohorts/los.sql": ("cohorts/los",),
    "warehouse/sql/cohorts/haim_samples.sql": ("cohorts/haim_samples",),
    "warehouse/sql/time_rules.sql": (),  # macros: read no table
    "features/haim/events.sql": ("features/haim", "features/haim_faithful"),
    "features/haim/images.sql": ("features/haim", "features/haim_faithful"),
    "features/haim/notes.sql": ("features/haim", "features/haim_faithful"),
    "features/timeseries/events.sql": ("features/timeseries_events",),
    "warehouse/sql/cohorts/m3h_tasks.sql": ("cohorts/m3h_tasks",),
    "features/m3h/frame.sql": ("frames/m3h",),
    "features/m3tlm/frame.sql": ("frames/m3tlm",),
}


def test_tables_read_ignores_comments_and_strings_and_sees_placeholders():
    sql = ("-- reads raw.not_this\nSELECT 'raw.nor_this', x FROM raw.icu_stays JOIN {embeddings.notes_x} n "
           "ON n.a = raw.icu_stays.a JOIN cohorts.los USING (stay_id)")
    assert tables_read(sql) == [("cohorts", "los"), ("embeddings", "notes_x"), ("raw", "icu_stays")]


def test_every_shipped_sql_file_is_run_by_assets_that_declare_what_it_reads():
    shipped = sorted(str(p.relative_to(REPO)) for pkg in ("features", "warehouse", "models", "pipelines")
                     for p in (REPO / pkg).rglob("*.sql"))
    assert shipped == sorted(RUNNERS), "a shipped SQL file is missing from RUNNERS (or RUNNERS names a gone file)"
    graph = defs.resolve_asset_graph()
    missing = []
    for path, runners in RUNNERS.items():
        read = {dg.AssetKey(list(t)) for t in tables_read((REPO / path).read_text())}
        for runner in runners:
            key = dg.AssetKey(runner.split("/"))
            missing += [f"{runner} reads {k.to_user_string()} ({path}) without declaring it"
                        for k in sorted(read - graph.get(key).parent_keys - {key}, key=lambda k: k.path)]
    assert missing == []
