"""The feature store: point-in-time retrieval of a training frame (rows/s) against a hand-written DuckDB
ASOF join of the same tables, and online lookup latency (p50/p99) against a hand-written point query.

The tables are written directly (no pipeline run): a `latest` view of 32 float features with 20 timed
rows per subject, and a label view by stay; the entities are stays with a prediction time, so each
frame row is an as-of join (latest row at or before the prediction time) plus a key join.
"""

from __future__ import annotations

from pathlib import Path

from bench.harness import Case, Side, timed

SUBJECTS, ROWS_PER_SUBJECT, FEATURES, STAYS_PER_SUBJECT = 50_000, 20, 32, 4  # at BENCH_SCALE 1
LOOKUPS = 1000
FEATURE_COLUMNS = [f"f{j:02d}" for j in range(FEATURES)]


def registry():
    from features.store import FeatureGroup, FeatureView, Registry

    return Registry([
        FeatureView(name="bench_vitals", kind="latest", source="features/bench_vitals", entity_keys=("subject_id",),
                    row_ids=("event_id",), asof="t", order_by=("t", "event_id"),
                    groups=(FeatureGroup("values", "vitals", "FLOAT", columns=tuple(FEATURE_COLUMNS)),),
                    description="bench: timed vitals"),
        FeatureView(name="bench_outcome", kind="label", source="cohorts/bench_outcome", entity_keys=("stay_id",),
                    asof=None, groups=(FeatureGroup("y", "labels", "TINYINT", columns=("dead",)),),
                    description="bench: labels"),
    ])


def prepare(inp: Path, at_scale: float) -> dict:
    from datetime import datetime

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from warehouse.lake import Home, write_arrow

    rng = np.random.default_rng(0)
    subjects = max(100, int(SUBJECTS * at_scale))
    n = subjects * ROWS_PER_SUBJECT
    t0 = np.datetime64(datetime(2150, 1, 1), "us")
    subject = np.repeat(np.arange(subjects, dtype=np.int64), ROWS_PER_SUBJECT)
    times = t0 + rng.integers(0, 30 * 24 * 3600, n).astype("timedelta64[s]")
    home = Home.open(inp / "home")
    write_arrow(home, "features", "bench_vitals", pa.table(
        {"subject_id": subject, "event_id": np.arange(n, dtype=np.int64), "t": pa.array(times, pa.timestamp("us")),
         **{c: rng.normal(0, 1, n).astype(np.float32) for c in FEATURE_COLUMNS}}))
    stays = subjects * STAYS_PER_SUBJECT
    stay_subject = np.repeat(np.arange(subjects, dtype=np.int64), STAYS_PER_SUBJECT)
    write_arrow(home, "cohorts", "bench_outcome", pa.table(
        {"stay_id": np.arange(stays, dtype=np.int64), "dead": rng.integers(0, 2, stays).astype(np.int8)}))
    pred = t0 + rng.integers(0, 30 * 24 * 3600, stays).astype("timedelta64[s]")
    pq.write_table(pa.table({"stay_id": np.arange(stays, dtype=np.int64), "subject_id": stay_subject,
                                     "prediction_time": pa.array(pred, pa.timestamp("us"))}),
                           inp / "entities.parquet")
    return {"items": stays, "entities": stays, "feature_rows": n, "features": FEATURES}


def _home(inp: Path):
    from warehouse.lake import Home

    return Home.open(inp / "home")


def frame_ours(inp: Path, out: Path) -> dict:
    import pyarrow.parquet as pq

    from features.store import get_training_frame

    entities, reg, home = pq.read_table(inp / "entities.parquet"), registry(), _home(inp)
    table, t = timed(lambda: get_training_frame(entities, "bench_vitals,bench_outcome", home=home, registry=reg))
    pq.write_table(table.select(["stay_id", "bench_vitals__f00", "bench_outcome__dead"]), out / "frame.parquet")
    return {**t, "items": table.num_rows}


def frame_bare(inp: Path, out: Path) -> dict:
    """The query a user writes: ASOF JOIN on subject and time, LEFT JOIN of the labels, in entity order."""
    import duckdb
    import pyarrow.parquet as pq

    from warehouse.lake import parquet_glob

    home = _home(inp)
    vitals, outcome = (parquet_glob(home.table_dir(s, n)) for s, n in
                       (("features", "bench_vitals"), ("cohorts", "bench_outcome")))
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    cols = ", ".join(f"v.{c} AS bench_vitals__{c}" for c in FEATURE_COLUMNS)
    sql = (f"SELECT e.*, v.t AS bench_vitals__asof_time, v.event_id AS bench_vitals__event_id, {cols}, "
           f"o.dead AS bench_outcome__dead "
           f"FROM (SELECT *, row_number() OVER () AS __row FROM read_parquet('{inp / 'entities.parquet'}')) e "
           f"ASOF LEFT JOIN read_parquet('{vitals}') v ON v.subject_id = e.subject_id AND e.prediction_time >= v.t "
           f"LEFT JOIN read_parquet('{outcome}') o ON o.stay_id = e.stay_id ORDER BY e.__row")
    table, t = timed(lambda: con.sql(sql).to_arrow_table())
    pq.write_table(table.select(["stay_id", "bench_vitals__f00", "bench_outcome__dead"]), out / "frame.parquet")
    return {**t, "items": table.num_rows}


def same_frame(inp: Path, outs: dict) -> str | None:
    import pyarrow.parquet as pq

    a, b = (pq.read_table(p / "frame.parquet") for p in outs.values())
    return None if a.equals(b) else "the two frames differ"


def _keys(inp: Path) -> list[int]:
    import numpy as np
    import pyarrow.parquet as pq

    subjects = pq.read_table(inp / "entities.parquet", columns=["subject_id"])["subject_id"].to_numpy()
    return [int(k) for k in np.random.default_rng(1).choice(np.unique(subjects), LOOKUPS)]


def _latencies(lookup, keys: list[int]) -> dict:
    import time

    import numpy as np

    lookup(keys[0])  # the first call builds the in-memory online table (the subject) or warms the cache
    lat = []

    def every() -> None:
        for k in keys:
            t = time.perf_counter()
            lookup(k)
            lat.append(time.perf_counter() - t)

    _, t = timed(every)
    ms = np.array(lat) * 1000
    return {**t, "items": len(keys), "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def online_ours(inp: Path, out: Path) -> dict:
    from features.store.online import OnlineStore

    store = OnlineStore(_home(inp), registry())
    return _latencies(lambda k: store.lookup("bench_vitals", k), _keys(inp))


def online_bare(inp: Path, out: Path) -> dict:
    """The same in-memory table of each subject's latest row, queried with a prepared point lookup."""
    import duckdb

    from warehouse.lake import parquet_glob

    con = duckdb.connect()
    vitals = parquet_glob(_home(inp).table_dir("features", "bench_vitals"))
    con.execute(f"CREATE TABLE latest AS SELECT * FROM read_parquet('{vitals}') "
                f"QUALIFY row_number() OVER (PARTITION BY subject_id ORDER BY t DESC, event_id DESC) = 1 "
                f"ORDER BY subject_id")
    return _latencies(lambda k: con.execute("SELECT * FROM latest WHERE subject_id = ?", [k]).to_arrow_table(),
                      _keys(inp))


CASES = [
    Case(name="store_frame", what="point-in-time training frame (latest view as of the prediction time + labels)",
         goal="near 1 (the store adds guards and lineage to the same join)", unit="rows", input_key="store",
         prepare=prepare, subject=Side("features.store.get_training_frame", frame_ours),
         baseline=Side("hand-written DuckDB ASOF join", frame_bare), check=same_frame),
    Case(name="store_online", what=f"online lookup of one entity's latest features ({LOOKUPS} lookups)",
         goal="p99 in milliseconds", unit="lookups", input_key="store", prepare=prepare,
         subject=Side("features.store.online.OnlineStore.lookup", online_ours),
         baseline=Side("hand-written DuckDB point query on the same in-memory table", online_bare)),
]
