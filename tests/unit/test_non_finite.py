"""Non-finite numbers (NaN, inf, -inf, 1e309) become NULL once, at ingest, and are counted; no feature table
may hold one."""

from __future__ import annotations

import csv
import gzip
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from features.finite import count_non_finite, non_finite_counts
from warehouse.ingest import ingest
from warehouse.lake import open_lake
from warehouse.sources import synthetic_sources

NON_FINITE = ["NaN", "inf", "-inf", "1e309"]


def _set_valuenum(path, values) -> list[tuple]:
    """Write `values` into the valuenum of the first rows of a gzipped MIMIC CSV; return their keys."""
    rows = list(csv.reader(io.StringIO(gzip.open(path, "rt", newline="").read())))
    header = rows[0]
    column, item = header.index("valuenum"), header.index("itemid")
    keys = []
    for row, value in zip(rows[1:], values, strict=False):
        row[column] = value
        keys.append((int(row[header.index("subject_id")]), row[header.index("charttime")], int(row[item])))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_bytes(gzip.compress(buffer.getvalue().encode()))
    return keys


def test_ingest_stores_non_finite_numbers_as_null_and_counts_them(home, synth_copy):
    _set_valuenum(synth_copy / "mimic-iv" / "hosp" / "labevents.csv.gz", NON_FINITE)
    _set_valuenum(synth_copy / "mimic-iv" / "icu" / "chartevents.csv.gz", ["inf", "-inf"])
    report = ingest(home, synthetic_sources(synth_copy))
    by_table = {r.table: r for r in report.results}
    assert by_table["hosp_labevents"].nonfinite_values == 4
    assert by_table["icu_chartevents"].nonfinite_values == 2
    assert json.loads((home.lake / "raw" / "_records" / "hosp_labevents.json").read_text())["nonfinite_values"] == 4
    con = open_lake(home)
    try:
        for table in ("hosp_labevents", "icu_chartevents"):
            bad = con.execute(f"SELECT count(*) FILTER (NOT isfinite(valuenum)) FROM raw.{table}").fetchone()[0]
            assert bad == 0, table
        # the rows are kept, with a NULL where the number was not finite
        nulls = con.execute("SELECT count(*) FROM raw.hosp_labevents WHERE labevent_id <= 4 AND valuenum IS NULL")
        assert nulls.fetchone()[0] == 4
    finally:
        con.close()


def test_a_finite_source_is_untouched(home, synth_root):
    report = ingest(home, synthetic_sources(synth_root))
    assert all(r.nonfinite_values == 0 for r in report.results)


def test_the_check_counts_nan_and_inf_in_scalar_list_and_array_columns(home, tmp_path):
    table = pa.table({
        "stay_id": [1, 2, 3],
        "x": pa.array([1.0, float("inf"), None], pa.float64()),
        "steps": pa.array([[1.0, float("nan")], [], None], pa.list_(pa.float32())),
        "dense": pa.array([[0.0, 1.0], [float("-inf"), 2.0], [3.0, 4.0]], pa.list_(pa.float32(), 2)),
        "nested": pa.array([[[1.0], [float("nan")]], [], None], pa.list_(pa.list_(pa.float64()))),
        "label": ["a", "b", "c"],
    })
    assert count_non_finite(table) == 4
    folder = home.table_dir("features", "bad")
    (folder / "shard=0").mkdir(parents=True)
    pq.write_table(table, folder / "shard=0" / "data.parquet")
    good = home.table_dir("embeddings", "good")
    good.mkdir(parents=True)
    pq.write_table(pa.table({"v": np.arange(5, dtype=np.float32)}), good / "data.parquet")
    assert non_finite_counts(home) == {"features.bad": 4, "embeddings.good": 0}


def test_the_materialised_feature_tables_hold_no_non_finite_value(materialised):
    home, result = materialised
    assert "store/registry:no_non_finite_value" not in result["failed_checks"]
    counts = non_finite_counts(home)
    assert "features.haim" in counts and "features.timeseries_ihm" in counts
    assert {t: n for t, n in counts.items() if n} == {}
