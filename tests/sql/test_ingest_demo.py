"""Ingest of the real MIMIC-IV demo: the counts of its release notes, the one rebuilt file, the schema."""

from __future__ import annotations

import json

import pytest

from clinfuse.cli import main
from warehouse.ingest import ingest, schema_problems
from warehouse.lake import Home, catalog
from warehouse.sources import Sources, detect_mimic_iv
from warehouse.tables import TABLES


@pytest.fixture(scope="module")
def demo_home(demo_dir, tmp_path_factory):
    home = Home.open(tmp_path_factory.mktemp("demo") / "home")
    report = ingest(home, Sources(mimic_iv=demo_dir))
    return home, report


def _count(home, table):
    with catalog(home, write=False) as con:
        return con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]


@pytest.mark.parametrize("table,rows", [
    ("hosp_admissions", 275), ("icu_icustays", 140), ("hosp_labevents", 107_727),
    ("hosp_diagnoses_icd", 4_506), ("icu_chartevents", 668_862), ("hosp_patients", 100),
    ("hosp_transfers", 1_190), ("hosp_d_icd_diagnoses", 109_775),
])
def test_row_counts_equal_the_release(demo_home, table, rows):
    assert _count(demo_home[0], table) == rows


def test_layout_detected_as_the_demo(demo_dir):
    layout = detect_mimic_iv(demo_dir)
    assert layout.version == "2.2" and layout.is_demo and layout.release == "mimic-iv-demo-2.2"


def test_exactly_one_checksum_mismatch_the_rebuilt_chartevents(demo_home):
    home, report = demo_home
    assert [r.path.split("mimic-iv-demo-2.2/")[1] for r in report.checksum_mismatches] == ["icu/chartevents.csv.gz"]
    with catalog(home, write=False) as con:
        rows = con.execute("SELECT \"table\", checksum FROM raw.sources WHERE checksum IS NOT NULL").fetchall()
    assert dict(rows)["icu_chartevents"] == "mismatch"
    assert sum(1 for _, c in rows if c == "mismatch") == 1
    assert sum(1 for _, c in rows if c == "ok") == len(rows) - 1 >= 25


def test_manifest_rows_all_match(demo_home):
    assert demo_home[1].manifest_mismatches == []
    checked = [r for r in demo_home[1].results if r.expected_rows is not None]
    assert len(checked) == 20


def test_raw_schema_is_the_registry_schema(demo_home):
    home = demo_home[0]
    for table in TABLES.values():
        assert schema_problems(home, table) == [], table.name


def test_typed_columns(demo_home):
    with catalog(demo_home[0], write=False) as con:
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_schema = 'raw' AND table_name = 'hosp_admissions'").fetchall())
        codes = con.execute("SELECT icd_code FROM raw.hosp_d_icd_diagnoses WHERE icd_code LIKE '0%' LIMIT 1").fetchall()
        gcs = con.execute("SELECT DISTINCT value FROM raw.icu_chartevents WHERE itemid = 220739 AND value IS NOT NULL").fetchall()
    assert types["admittime"] == "TIMESTAMP" and types["hadm_id"] == "BIGINT" and types["race"] == "VARCHAR"
    assert codes, "ICD codes with a leading zero must stay text"
    assert {"Spontaneously"} <= {g for (g,) in gcs}


def test_per_patient_tables_are_sharded_and_sorted(demo_home):
    home = demo_home[0]
    shard_dirs = sorted(p.name for p in home.table_dir("raw", "icu_chartevents").iterdir())
    assert shard_dirs == [f"shard={i}" for i in range(8)]
    with catalog(home, write=False) as con:
        wrong = con.execute("SELECT count(*) FROM raw.icu_chartevents WHERE shard <> subject_id % 8").fetchone()[0]
    assert wrong == 0


def test_reingest_of_unchanged_files_is_skipped_and_byte_identical(demo_dir, tmp_path):
    home = Home.open(tmp_path / "h")
    ingest(home, Sources(mimic_iv=demo_dir))
    before = {p.relative_to(home.lake): p.read_bytes() for p in home.lake.rglob("*.parquet")}
    report = ingest(home, Sources(mimic_iv=demo_dir))
    assert {r.status for r in report.results if r.path and r.table != "cxr_images"} == {"unchanged"}
    report = ingest(home, Sources(mimic_iv=demo_dir), force=True)
    after = {p.relative_to(home.lake): p.read_bytes() for p in home.lake.rglob("*.parquet")}
    assert before.keys() == after.keys()
    assert all(before[k] == after[k] for k in before if "sources" not in str(k)), "same input must give same bytes"


def test_cli_ingest_then_sql(demo_dir, tmp_path, capsys):
    home = tmp_path / "cli-home"
    assert main(["ingest", "--home", str(home), "--mimic-iv", str(demo_dir)]) == 0
    out = capsys.readouterr().out
    assert "1 mismatch" in out and "icu/chartevents.csv.gz" in out
    assert main(["sql", "--home", str(home), "--format", "json", "select count(*) as n from raw.hosp_admissions"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 275}]
    assert (home.stat().st_mode & 0o777) == 0o700
