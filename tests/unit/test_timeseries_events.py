"""Event extraction SQL (reference §1.4 validation, §1.7 episode rule) on hand-made raw tables."""

from datetime import datetime

import duckdb
import polars as pl
import pytest

from features.mimic3_benchmarks import mimic_iv_itemids
from features.timeseries import clean_events, extract_events, timeseries_ihm
from warehouse.tables import TABLES


def make_raw(con, chart_rows, lab_rows):
    con.sql("CREATE SCHEMA IF NOT EXISTS raw")
    for name, rows, cols in [
        ("icu_chartevents", chart_rows, ["subject_id", "hadm_id", "stay_id", "charttime", "itemid", "value", "valuenum"]),
        ("hosp_labevents", lab_rows, ["subject_id", "hadm_id", "charttime", "itemid", "value", "valuenum"]),
    ]:
        spec = ", ".join(f'"{c.name}" {c.dtype}' for c in TABLES[name].columns)
        con.sql(f"CREATE TABLE raw.{name} ({spec})")
        for row in rows:
            con.execute(f"INSERT INTO raw.{name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", row)


def dt(day, hour):
    return datetime(2150, 1, day, hour)


COHORT = pl.DataFrame({
    "subject_id": [1, 1, 2], "hadm_id": [10, 12, 20], "stay_id": [100, 120, 200],
    "intime": [dt(1, 8), dt(20, 8), dt(1, 8)], "outtime": [dt(3, 8), dt(21, 8), dt(2, 8)],
})
HR, GLU = 220045, 50931


@pytest.fixture
def extracted():
    con = duckdb.connect()
    make_raw(con, chart_rows=[
        (1, 10, 100, dt(1, 10), HR, "80", 80.0),      # kept, 2 h
        (1, 10, 101, dt(1, 11), HR, "81", 81.0),      # another stay of the admission: dropped
        (1, 10, 100, dt(1, 12), 220046, "1", 1.0),    # not one of the 44 ids: dropped
        (1, 10, 100, dt(1, 13), HR, None, None),      # no value at all: dropped
        (2, 20, 200, dt(1, 9), HR, "70", 70.0),       # subject 2, never in subject 1's episodes
    ], lab_rows=[
        (1, 10, datetime(2149, 12, 31, 20), GLU, "120", 120.0),  # pre-ICU lab of the admission: kept, −12 h
        (1, None, dt(1, 9), GLU, "121", 121.0),                 # no hadm_id: dropped
        (1, 11, dt(1, 9), GLU, "122", 122.0),                   # admission not in the cohort: dropped
        (1, 12, dt(2, 8), GLU, "123", 123.0),                   # admission 12's lab inside stay 100's window
    ])
    rel = extract_events(con, COHORT)
    return rel.pl().sort("stay_id", "charttime")


def test_validation_and_episode_rule(extracted):
    got = extracted.select("stay_id", "event_stay_id", "itemid", "value", "hours").rows()
    assert got == [
        (100, 100, GLU, "120", -12.0),
        (100, 100, HR, "80", 2.0),
        (100, 120, GLU, "123", 24.0),   # charttime within [intime, outtime] of stay 100
        (120, 120, GLU, "123", -18 * 24.0),  # and its own stay's episode (stay_id match)
        (200, 200, HR, "70", 1.0),
    ]


def test_columns_and_variable(extracted):
    assert extracted.columns == ["subject_id", "hadm_id", "stay_id", "event_stay_id", "charttime", "hours",
                                 "itemid", "variable", "mimic_label", "value", "valuenum", "valueuom", "source"]
    assert set(extracted["variable"]) == {"Heart Rate", "Glucose"}
    assert set(extracted["source"]) == {"chartevents", "labevents"}


def test_cohort_as_relation_or_name():
    con = duckdb.connect()
    make_raw(con, [(2, 20, 200, dt(1, 9), HR, "70", 70.0)], [])
    con.register("cohort_frame", COHORT.to_arrow())
    con.sql("CREATE VIEW my_cohort AS SELECT * FROM cohort_frame")
    assert extract_events(con, "my_cohort").pl().height == 1
    assert extract_events(con, con.sql("SELECT * FROM my_cohort")).pl().height == 1
    with pytest.raises(ValueError):
        extract_events(con, "my_cohort; DROP TABLE x")


def test_demo_end_to_end(demo_dir):
    """The real demo read straight from its CSVs (the `demo_dir` fixture skips when ../shared is absent)."""
    con = duckdb.connect()
    con.sql("CREATE SCHEMA raw")
    text = "types={'value': 'VARCHAR', 'valueuom': 'VARCHAR'}"
    con.sql(f"CREATE VIEW raw.icu_chartevents AS SELECT * FROM read_csv('{demo_dir}/icu/chartevents.csv.gz', {text})")
    con.sql(f"CREATE VIEW raw.hosp_labevents AS SELECT * FROM read_csv('{demo_dir}/hosp/labevents.csv.gz', {text})")
    cohort = con.sql(f"""SELECT * FROM read_csv('{demo_dir}/icu/icustays.csv.gz')
        WHERE first_careunit = last_careunit QUALIFY count(*) OVER (PARTITION BY hadm_id) = 1""")
    stays = cohort.pl()
    events = extract_events(con, cohort).pl()
    assert events.height > 10_000
    assert set(events["itemid"]) <= set(mimic_iv_itemids())
    assert set(events["stay_id"]) <= set(stays["stay_id"])
    for mode in ("faithful", "fixed"):
        res = timeseries_ihm(clean_events(events, mode), stays, timestep=2.0)
        assert res.n_unseen == 0
        assert res.frame.height == 24 * res.frame["stay_id"].n_unique() > 0
        # Reference §5 item 13: CRR and GCS-total masks are all zero on MIMIC-IV.
        assert res.frame["mask->Capillary refill rate"].sum() == 0
        assert res.frame["mask->Glascow coma scale total"].sum() == 0
        assert res.frame["mask->Heart Rate"].mean() > 0.5
