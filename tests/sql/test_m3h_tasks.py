"""cohorts.m3h_tasks on hand-made rows: ICD-9 and ICD-10 prefix matching within icd_version and at prefix
boundaries, admissions without codes, thorax8's exactly-one rule, remaining LoS and the 48-h mortality boundary;
and the code table against the MIMIC-IV ICD dictionary."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from features.m3h.tasks import CODE_TABLE, THORAX_CLASSES, all_tasks, build_m3h_tasks, code_table
from warehouse.lake import ClinfuseError, engine, lake_views, publish, write_arrow

T0 = datetime(2150, 1, 1, 12, 0, 0)
H48 = timedelta(hours=48)
# sample -> (diagnosis codes [(code, version)], chexpert {label: value}, death time, discharge location, dischtime)
SAMPLES = {
    "icd10": ([("I5023", 10), ("E119", 10), ("T80211A", 10), ("D649", 10)], {}, None, "HOME", T0 + 100 * H48),
    "icd9": ([("4280", 9), ("25000", 9), ("99931", 9), ("2851", 9)], {}, None, "HOME", T0 + 100 * H48),
    # boundaries: I119 is hypertensive heart disease WITHOUT heart failure (I110 is with); 40290 likewise (40291 with)
    "boundary10": ([("I119", 10), ("E669", 10), ("V0900XA", 10)], {}, None, "HOME", T0 + 100 * H48),
    "boundary9": ([("40290", 9), ("99590", 9), ("E8889", 9), ("V090", 9)], {}, None, "HOME", T0 + 100 * H48),
    "uncoded": ([], {}, None, "HOME", T0 + 100 * H48),
    # thorax8
    "one_positive": ([("Z000", 10)], {"Edema": 1.0, "Atelectasis": -1.0, "Cardiomegaly": 0.0}, None, "HOME", T0 + H48),
    "two_positive": ([("Z000", 10)], {"Edema": 1.0, "Pneumothorax": 1.0}, None, "HOME", T0 + H48),
    "no_positive": ([("Z000", 10)], {"Edema": -1.0, "Pneumonia": 0.0}, None, "HOME", T0 + H48),
    # 48-h mortality and LoS
    "died_47h59": ([("Z000", 10)], {}, T0 + H48 - timedelta(minutes=1), "DIED", T0 + H48 - timedelta(minutes=1)),
    "died_48h": ([("Z000", 10)], {}, T0 + H48, "DIED", T0 + H48),
    "died_no_deathtime": ([("Z000", 10)], {}, None, "DIED", T0 + timedelta(hours=10)),
    "alive_out_47h": ([("Z000", 10)], {}, None, "HOME", T0 + timedelta(hours=47)),
    "alive_out_48h": ([("Z000", 10)], {}, None, "HOME", T0 + H48),
    "alive_36h": ([("Z000", 10)], {}, None, "HOME", T0 + timedelta(hours=36)),
}


def _write(home, schema: str, name: str, rows: list[dict], types: dict) -> None:
    table = pa.table({c: pa.array([r[c] for r in rows], t) for c, t in types.items()})
    write_arrow(home, schema, name, table)
    publish(home, schema, name)


@pytest.fixture(scope="module")
def labels(tmp_path_factory) -> dict[str, dict]:
    from warehouse.lake import Home

    home = Home.open(tmp_path_factory.mktemp("m3h") / "home")
    samples, admissions, diagnoses = [], [], []
    for i, (name, (codes, chexpert, death, location, disch)) in enumerate(SAMPLES.items()):
        subject, hadm = 100 + i, 1000 + i
        samples.append({"sample_id": name, "subject_id": subject, "hadm_id": hadm, "stay_id": 5000 + i,
                        "dicom_id": f"d{i}", "prediction_time": T0, "dischtime": disch,
                        **{c: chexpert.get(c) for c in THORAX_CLASSES}})
        admissions.append({"subject_id": subject, "hadm_id": hadm, "dischtime": disch, "deathtime": death,
                           "discharge_location": location})
        diagnoses += [{"subject_id": subject, "hadm_id": hadm, "icd_code": c, "icd_version": v} for c, v in codes]
    ts = pa.timestamp("us")
    _write(home, "cohorts", "haim_samples", samples,
           {"sample_id": pa.string(), "subject_id": pa.int64(), "hadm_id": pa.int64(), "stay_id": pa.int64(),
            "dicom_id": pa.string(), "prediction_time": ts, "dischtime": ts, **{c: pa.float64() for c in THORAX_CLASSES}})
    _write(home, "raw", "hosp_admissions", admissions,
           {"subject_id": pa.int64(), "hadm_id": pa.int64(), "dischtime": ts, "deathtime": ts,
            "discharge_location": pa.string()})
    _write(home, "raw", "hosp_diagnoses_icd", diagnoses,
           {"subject_id": pa.int64(), "hadm_id": pa.int64(), "icd_code": pa.string(), "icd_version": pa.int64()})
    assert build_m3h_tasks(home, shards=2) == len(SAMPLES)
    con = engine(home)
    try:
        lake_views(con, home, schemas=("cohorts",))
        cur = con.execute("SELECT * FROM cohorts.m3h_tasks")
        columns = [d[0] for d in cur.description]
        return {row[0]: dict(zip(columns, row, strict=True)) for row in cur.fetchall()}
    finally:
        con.close()


def _positive(row: dict) -> set[str]:
    return {t.name for t in code_table() if row[t.name] == 1}


def test_icd10_and_icd9_codes_give_the_same_tasks(labels):
    expected = {"heart_failure", "diabetes", "hai", "anaemia"}
    assert _positive(labels["icd10"]) == expected
    assert _positive(labels["icd9"]) == expected
    assert all(labels["icd10"][t.name] == 0 for t in code_table() if t.name not in expected)


def test_prefixes_stop_at_their_boundary_and_stay_within_their_icd_version(labels):
    # I119 / 40290: hypertension without heart failure; E669 obesity; V0900XA (ICD-10 pedestrian injury) is not
    # V09 (ICD-9 drug resistance); 99590 is not sepsis (99591/99592 are); E8889 (ICD-9 E-code) is not E66..
    assert _positive(labels["boundary10"]) == {"hypertension", "obesity"}
    assert _positive(labels["boundary9"]) == {"hypertension", "antimicrobial_resistance"}


def test_an_admission_without_any_code_has_no_diagnosis_label(labels):
    assert all(labels["uncoded"][t.name] is None for t in code_table())
    assert labels["one_positive"]["heart_failure"] == 0


def test_thorax8_needs_exactly_one_positive_of_the_eight(labels):
    assert labels["one_positive"]["thorax8"] == THORAX_CLASSES.index("Edema")
    assert labels["two_positive"]["thorax8"] is None
    assert labels["no_positive"]["thorax8"] is None
    assert labels["icd10"]["thorax8"] is None  # no CheXpert labels at all


def test_mortality_48h_boundary_and_remaining_los(labels):
    mortality = {name: labels[name]["mortality_48h"] for name in SAMPLES}
    assert mortality["died_47h59"] == 1 and mortality["died_no_deathtime"] == 1
    assert mortality["died_48h"] == 0  # [prediction time, +48 h): a death at exactly 48 h is after the window
    assert mortality["alive_out_48h"] == 0 and mortality["icd10"] == 0
    assert mortality["alive_out_47h"] is None and mortality["alive_36h"] is None  # survival to 48 h unobserved
    assert labels["alive_36h"]["los"] == pytest.approx(1.5)
    assert labels["died_no_deathtime"]["los"] == pytest.approx(10 / 24)


def test_every_task_of_the_code_table_is_a_label_column(labels):
    row = labels["icd10"]
    assert {t.name for t in all_tasks()} <= set(row)
    assert len(code_table()) == 40  # the 39 diagnoses of Fig. 4 + hospital-acquired infection


def test_the_cohort_refuses_to_run_before_its_inputs(home):
    with pytest.raises(ClinfuseError, match="materialise cohorts/haim_samples first"):
        build_m3h_tasks(home)


def test_every_prefix_matches_a_code_of_the_mimic_iv_dictionary(demo_dir):
    """The vendored dictionary of the MIMIC-IV demo (hosp/d_icd_diagnoses: the full ICD-9-CM and ICD-10-CM list)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"CREATE TABLE d AS SELECT * FROM read_csv('{demo_dir / 'hosp' / 'd_icd_diagnoses.csv.gz'}', "
                f"all_varchar = true)")
    unmatched = []
    with open(CODE_TABLE, newline="") as handle:
        for row in csv.DictReader(handle):
            for version, column in (("10", "icd10_prefixes"), ("9", "icd9_prefixes")):
                for prefix in row[column].split():
                    n = con.execute("SELECT count(*) FROM d WHERE icd_version = ? AND starts_with(icd_code, ?)",
                                    [version, prefix]).fetchone()[0]
                    if n == 0:
                        unmatched.append((row["task"], version, prefix))
    assert unmatched == []
