"""Labels: MedFuse mortality rules, LoS, phenotypes (ICD-9 / ICD-10, both modes), HAIM 48-h tasks."""

from datetime import date, datetime

import polars as pl
import pytest

from features.labels import phenotype_labels, with_haim_48h_labels, with_length_of_stay, with_mortality
from features.mimic3_benchmarks import phenotype_names


def stays_frame(**cols):
    base = dict(
        subject_id=[1], hadm_id=[10], stay_id=[100],
        admittime=[datetime(2150, 1, 1, 10)], dischtime=[datetime(2150, 1, 10, 15)],
        intime=[datetime(2150, 1, 2, 8)], outtime=[datetime(2150, 1, 5, 8)],
        deathtime=[None], dod=[None],
    )
    base.update(cols)
    return pl.DataFrame(base, schema_overrides={"deathtime": pl.Datetime("us"), "dod": pl.Date})


@pytest.mark.parametrize(("dod", "deathtime", "hosp", "unit"), [
    (None, None, 0, 0),
    (None, datetime(2150, 1, 3, 12), 1, 1),
    (None, datetime(2150, 1, 7, 12), 1, 0),
    (date(2150, 1, 10), None, 1, 0),   # dated on the discharge day (midnight <= dischtime): in-hospital
    (date(2150, 1, 11), None, 0, 0),   # after discharge
    (date(2150, 1, 1), None, 0, 0),    # dated on the admission day: midnight < admittime, reference says no
    (date(2150, 1, 3), None, 1, 1),
])
def test_mortality_rules(dod, deathtime, hosp, unit):
    out = with_mortality(stays_frame(dod=[dod], deathtime=[deathtime]))
    assert out.row(0, named=True)["mortality_inhospital"] == hosp
    assert out.row(0, named=True)["mortality_inunit"] == unit


def test_length_of_stay():
    out = with_length_of_stay(stays_frame())
    assert out["los_icu_days"][0] == pytest.approx(3.0)
    assert out["los_hospital_days"][0] == pytest.approx(9 + 5 / 24)


DX = pl.DataFrame({
    "subject_id": [1, 1, 2, 2, 3],
    "hadm_id": [10, 10, 20, 20, 30],
    "icd_code": ["4280", "5849", "I214", "N170", "I10"],
    "icd_version": [9, 9, 10, 10, 9],   # "I10" flagged ICD-9: only the string match accepts it
})
STAYS = pl.DataFrame({"subject_id": [1, 2, 3, 4], "hadm_id": [10, 20, 30, 40], "stay_id": [100, 200, 300, 400]})


def positives(labels, stay_id):
    row = labels.filter(pl.col("stay_id") == stay_id).row(0, named=True)
    return {n for n in phenotype_names() if row[n] == 1}


@pytest.mark.parametrize("mode", ["faithful", "fixed"])
def test_phenotypes_icd9_and_icd10(mode):
    labels = phenotype_labels(STAYS, DX, mode=mode)
    assert labels.columns == ["subject_id", "hadm_id", "stay_id", *phenotype_names()]
    assert labels.height == 4
    assert positives(labels, 100) == {"Congestive heart failure; nonhypertensive",
                                      "Acute and unspecified renal failure"}
    assert positives(labels, 200) == {"Acute myocardial infarction", "Acute and unspecified renal failure"}
    assert positives(labels, 400) == set()  # no diagnoses: all zeros
    assert labels.select(phenotype_names()).dtypes == [pl.Int8] * 25


def test_phenotype_version_matters_only_in_fixed():
    assert positives(phenotype_labels(STAYS, DX, mode="faithful"), 300) == {"Essential hypertension"}
    assert positives(phenotype_labels(STAYS, DX, mode="fixed"), 300) == set()


def test_haim_48h_labels():
    pred = datetime(2150, 1, 1, 0)
    samples = pl.DataFrame({
        "prediction_time": [pred] * 4,
        "dischtime": [datetime(2150, 1, 2), datetime(2150, 1, 2), datetime(2150, 1, 5), datetime(2150, 1, 5)],
        "discharge_location": ["DIED", "HOME", "DIED", "HOME"],
    })
    out = with_haim_48h_labels(samples)
    assert out["mortality_48h"].to_list() == [1, None, 0, 0]
    assert out["discharge_48h"].to_list() == [0, 1, 0, 0]
