"""frames.m3tlm's point-in-time rules on hand-made rows: events, titles and images after the prediction time
never enter the clean frame; the faithful frame is the paper's whole admission."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from features.m3tlm.frame import NUMERIC_NAMES, ONEHOT_NAMES, FrameSettings, build_frame, write_frame
from warehouse.lake import ClinfuseError, write_arrow

T0 = datetime(2150, 1, 10)  # admission B of subject 1 begins


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _write(home, schema: str, name: str, rows: list[dict]) -> None:
    write_arrow(home, schema, name, pa.Table.from_pylist(rows))


@pytest.fixture
def lake(home):
    """Subject 1 (adult): admission A (earlier, discharged before B), admission B (the one under test),
    admission D (discharged 20 h after admission); subject 2 is 10 years old."""
    adm = dict(admission_type="EW EMER.", admission_location="EMERGENCY ROOM", insurance="Medicare",
               race="BLACK/AFRICAN AMERICAN", deathtime=None, discharge_location="HOME")
    _write(home, "raw", "hosp_admissions", [
        {**adm, "subject_id": 1, "hadm_id": 100, "admittime": h(-240), "dischtime": h(-168), "hospital_expire_flag": 0},
        {**adm, "subject_id": 1, "hadm_id": 200, "admittime": h(0), "dischtime": h(120), "hospital_expire_flag": 1},
        {**adm, "subject_id": 1, "hadm_id": 300, "admittime": h(500), "dischtime": h(520), "hospital_expire_flag": 0},
        {**adm, "subject_id": 2, "hadm_id": 400, "admittime": h(0), "dischtime": h(100), "hospital_expire_flag": 0},
    ])
    _write(home, "raw", "hosp_patients", [
        {"subject_id": 1, "gender": "F", "anchor_age": 60, "anchor_year": 2150, "dod": T0.date()},
        {"subject_id": 2, "gender": "M", "anchor_age": 10, "anchor_year": 2150, "dod": None},
    ])
    _write(home, "raw", "hosp_labevents", [  # WBC of admission B: 5 before the prediction time, 50 after
        {"subject_id": 1, "hadm_id": 200, "itemid": 51301, "charttime": h(2), "valuenum": 5.0},
        {"subject_id": 1, "hadm_id": 200, "itemid": 51301, "charttime": h(30), "valuenum": 50.0},
    ])
    _write(home, "raw", "icu_chartevents", [  # heart rate 80 before, 200 after; a Celsius temperature
        {"subject_id": 1, "hadm_id": 200, "stay_id": 1, "itemid": 220045, "charttime": h(1), "valuenum": 80.0},
        {"subject_id": 1, "hadm_id": 200, "stay_id": 1, "itemid": 220045, "charttime": h(30), "valuenum": 200.0},
        {"subject_id": 1, "hadm_id": 200, "stay_id": 1, "itemid": 223762, "charttime": h(3), "valuenum": 40.0},
    ])
    _write(home, "raw", "hosp_diagnoses_icd", [
        {"subject_id": 1, "hadm_id": 100, "seq_num": 1, "icd_code": "A1", "icd_version": 10},
        {"subject_id": 1, "hadm_id": 200, "seq_num": 1, "icd_code": "B1", "icd_version": 10},
    ])
    _write(home, "raw", "hosp_d_icd_diagnoses", [
        {"icd_code": "A1", "icd_version": 10, "long_title": "Alpha fever, unspecified"},
        {"icd_code": "B1", "icd_version": 10, "long_title": "Cardiac arrest"},
    ])
    _write(home, "raw", "hosp_procedures_icd", [
        {"subject_id": 1, "hadm_id": 100, "seq_num": 1, "chartdate": h(-200).date(), "icd_code": "P1", "icd_version": 10},
        {"subject_id": 1, "hadm_id": 200, "seq_num": 1, "chartdate": h(5).date(), "icd_code": "P2", "icd_version": 10},
    ])
    _write(home, "raw", "hosp_d_icd_procedures", [
        {"icd_code": "P1", "icd_version": 10, "long_title": "Beta repair"},
        {"icd_code": "P2", "icd_version": 10, "long_title": "Intubation"},
    ])
    image = {"subject_id": 1, "study_id": 9}
    _write(home, "features", "cxr_tensors", [
        {**image, "dicom_id": "early_pa", "study_datetime": h(3), "view_position": "PA"},
        {**image, "dicom_id": "early_lateral", "study_datetime": h(5), "view_position": "LATERAL"},
        {**image, "dicom_id": "late_ap", "study_datetime": h(30), "view_position": "AP"},
    ])
    _write(home, "features", "splits", [{"subject_id": 1, "split": "train"}, {"subject_id": 2, "split": "train"}])
    return home


def _row(table: pa.Table, hadm_id: int) -> dict:
    return next(r for r in table.to_pylist() if r["hadm_id"] == hadm_id)


def test_the_clean_frame_sees_only_what_was_known_at_the_prediction_time(lake):
    table = build_frame(lake, FrameSettings(mode="fixed", window_hours=24))
    # D left hospital 20 h after admission (before its prediction time); subject 2 is a child
    assert sorted(table["hadm_id"].to_pylist()) == [100, 200]
    row = _row(table, 200)
    assert row["prediction_time"] == h(24)
    numeric = dict(zip(NUMERIC_NAMES, row["numeric"], strict=True))
    assert numeric["wbc"] == 5.0                        # the value after the prediction time is excluded
    assert numeric["heart_rate_mean"] == numeric["heart_rate_max"] == 80.0
    assert numeric["temperature_f_max"] == pytest.approx(104.0)  # 40 °C
    assert numeric["age"] == 60.0 and numeric["prior_admissions"] == 1 and numeric["prior_diagnosis_codes"] == 1
    assert numeric["sodium"] is None                    # never measured: missing, imputed by the model
    # titles only from the earlier admission, never the same admission's discharge codes
    assert row["dx_tokens"] == ["alpha", "fever", "unspecified"] and row["px_tokens"] == ["beta", "repair"]
    # the latest FRONTAL image up to the prediction time
    assert row["dicom_id"] == "early_pa" and row["has_cxr"] and row["cxr_time"] <= row["prediction_time"]
    assert row["los_days"] == pytest.approx(4.0) and row["mortality"] == 1   # remaining LoS from +24 h
    assert row["ethnicity"] == 1 and row["frame_mode"] == "fixed" and row["window_hours"] == 24
    onehot = dict(zip(ONEHOT_NAMES, row["onehot"], strict=True))
    assert sum(row["onehot"]) == 4 and onehot["admission_type=EW EMER."] == 1 and onehot["gender=F"] == 1
    assert onehot["insurance=MEDICARE"] == 1 and onehot["admission_location=EMERGENCY ROOM"] == 1
    first = _row(table, 100)  # no earlier admission: empty sequences, no image
    assert first["dx_tokens"] == [] and first["px_tokens"] == [] and not first["has_cxr"] and first["dicom_id"] is None
    assert not {"dod", "deathtime", "dischtime", "discharge_location", "hospital_expire_flag"} & set(table.column_names)


def test_a_48_hour_window_moves_the_prediction_time(lake):
    row = _row(build_frame(lake, FrameSettings(mode="fixed", window_hours=48)), 200)
    assert row["prediction_time"] == h(48) and row["los_days"] == pytest.approx(3.0)
    assert dict(zip(NUMERIC_NAMES, row["numeric"], strict=True))["wbc"] == 50.0 and row["dicom_id"] == "late_ap"


def test_the_faithful_frame_is_the_papers_whole_admission(lake):
    table = build_frame(lake, FrameSettings(mode="faithful"))
    assert sorted(table["hadm_id"].to_pylist()) == [100, 200, 300]
    row = _row(table, 200)
    numeric = dict(zip(NUMERIC_NAMES, row["numeric"], strict=True))
    assert numeric["wbc"] == 50.0 and numeric["heart_rate_max"] == 200.0
    assert row["dx_tokens"] == ["cardiac", "arrest"] and row["px_tokens"] == ["intubation"]
    assert row["dicom_id"] == "late_ap" and row["los_days"] == pytest.approx(5.0) and row["window_hours"] is None


def test_settings_and_missing_inputs_are_refused(home, lake):
    with pytest.raises(ClinfuseError, match="window_hours"):
        FrameSettings(window_hours=12)
    with pytest.raises(ClinfuseError, match="mode"):
        FrameSettings(mode="leaky")
    import shutil

    shutil.rmtree(lake.table_dir("features", "cxr_tensors"))
    with pytest.raises(ClinfuseError, match="materialise features/cxr_tensors first"):
        write_frame(lake)
