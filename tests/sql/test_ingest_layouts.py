"""Synthetic v1.0, v2.2 and v3.1 sources, .csv and .csv.gz, all land in one raw schema."""

from __future__ import annotations

import pytest

from warehouse.ingest import ingest
from warehouse.lake import Home, catalog
from warehouse.sources import detect_mimic_iv, synthetic_sources
from warehouse.synth import generate


def _schemas(home: Home) -> dict[str, list[tuple[str, str]]]:
    with catalog(home, write=False) as con:
        rows = con.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                           "WHERE table_schema = 'raw' ORDER BY table_name, ordinal_position").fetchall()
    out: dict[str, list] = {}
    for table, column, dtype in rows:
        out.setdefault(table, []).append((column, dtype))
    return out


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    homes = {}
    for layout, compress in (("v1.0", False), ("v2.2", True), ("v3.1", True)):
        root = tmp_path_factory.mktemp(layout)
        generate(root, patients=25, seed=11, layout=layout, images=False, notes=True, compress=compress)
        home = Home.open(root / "home")
        ingest(home, synthetic_sources(root))
        homes[layout] = (root, home)
    return homes


def test_layout_and_version_detected(ingested):
    versions = {layout: detect_mimic_iv(root / "mimic-iv").version for layout, (root, _) in ingested.items()}
    assert versions == {"v1.0": "1.0", "v2.2": "2.2", "v3.1": "3.1"}
    v1 = detect_mimic_iv(ingested["v1.0"][0] / "mimic-iv")
    assert v1.files["hosp_admissions"].as_posix().endswith("core/admissions.csv")


def test_identical_raw_schemas_across_versions(ingested):
    schemas = {layout: _schemas(home) for layout, (_, home) in ingested.items()}
    assert schemas["v1.0"] == schemas["v2.2"] == schemas["v3.1"]
    assert ("race", "VARCHAR") in schemas["v1.0"]["hosp_admissions"]


def test_v1_renamings_absorbed(ingested):
    home = ingested["v1.0"][1]
    with catalog(home, write=False) as con:
        race, provider = con.execute("SELECT count(race), count(admit_provider_id) FROM raw.hosp_admissions").fetchone()
        n = con.execute("SELECT count(*) FROM raw.hosp_admissions").fetchone()[0]
    assert race == n > 0, "v1.0 `ethnicity` must arrive as `race`"
    assert provider == 0, "a column v1.0 lacks arrives as NULLs"


def test_same_patients_in_every_layout(ingested):
    counts = set()
    for _, home in ingested.values():
        with catalog(home, write=False) as con:
            counts.add(con.execute("SELECT count(*), sum(subject_id) FROM raw.hosp_patients").fetchone())
    assert len(counts) == 1
