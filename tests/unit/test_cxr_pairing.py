"""CXR-to-stay pairing: window edges, latest image, tie-break, views, PARTIAL/PAIRED."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from features.cxr.pairing import (
    PAIR_COLUMNS,
    PARTIAL_COLUMNS,
    pair_counts,
    pair_cxr_to_stays,
    paired_samples,
    partial_samples,
)
from warehouse.timerules import with_study_datetime

INTIME = datetime(2180, 1, 1, 0, 0, 0)
OUTTIME = datetime(2180, 1, 5, 12, 0, 0)


def _meta(rows: list[tuple]) -> pl.DataFrame:
    """rows: (dicom_id, subject_id, StudyDate, StudyTime, ViewPosition)."""
    return pl.DataFrame(
        [(d, s, 50_000_000 + i, date, time, view) for i, (d, s, date, time, view) in enumerate(rows)],
        schema={"dicom_id": pl.String, "subject_id": pl.Int64, "study_id": pl.Int64, "StudyDate": pl.Int32,
                "StudyTime": pl.Float64, "ViewPosition": pl.String},
        orient="row",
    )


def _stays(*extra: tuple) -> pl.DataFrame:
    rows = [(1, 100, 1000, INTIME, OUTTIME), *extra]
    return pl.DataFrame(rows, schema={"subject_id": pl.Int64, "hadm_id": pl.Int64, "stay_id": pl.Int64,
                                      "intime": pl.Datetime("us"), "outtime": pl.Datetime("us")}, orient="row")


def test_ihm_window_edges_inclusive():
    meta = _meta([
        ("a-intime", 1, 21800101, 0.0, "AP"),  # exactly intime
        ("b-before", 1, 21791231, 235959.999, "AP"),  # 1 s before intime
    ])
    pairs = pair_cxr_to_stays(meta, _stays(), "ihm")
    assert pairs["dicom_id"].to_list() == ["a-intime"]
    meta = _meta([("c-48h", 1, 21800103, 0.0, "AP"), ("a-intime", 1, 21800101, 0.0, "AP")])
    assert pair_cxr_to_stays(meta, _stays(), "ihm")["dicom_id"].to_list() == ["c-48h"]  # intime + 48 h: in
    meta = _meta([("d-48h+1s", 1, 21800103, 1.0, "AP")])
    assert pair_cxr_to_stays(meta, _stays(), "ihm").height == 0  # 1 s after: out
    meta = _meta([("b-before", 1, 21791231, 235959.999, "AP")])
    assert pair_cxr_to_stays(meta, _stays(), "ihm").height == 0


def test_pheno_window_runs_to_outtime():
    meta = _meta([
        ("c-48h+1s", 1, 21800103, 1.0, "AP"),
        ("e-outtime", 1, 21800105, 120000.0, "AP"),  # exactly outtime: in
        ("f-after", 1, 21800105, 120001.0, "AP"),  # 1 s after outtime: out
    ])
    assert pair_cxr_to_stays(meta, _stays(), "pheno")["dicom_id"].to_list() == ["e-outtime"]
    assert pair_cxr_to_stays(meta, _stays(), "ihm").height == 0


def test_latest_image_wins():
    meta = _meta([
        ("x-early", 1, 21800101, 10000.0, "AP"),
        ("y-late", 1, 21800102, 235959.0, "AP"),
        ("z-mid", 1, 21800102, 10000.0, "AP"),
    ])
    pairs = pair_cxr_to_stays(meta, _stays(), "ihm")
    assert pairs.columns == list(PAIR_COLUMNS)
    assert pairs.row(0, named=True) == {
        "subject_id": 1, "hadm_id": 100, "stay_id": 1000, "dicom_id": "y-late", "study_id": 50_000_001,
        "study_datetime": datetime(2180, 1, 2, 23, 59, 59), "view_position": "AP",
    }


def test_tie_break_greatest_dicom_id_whatever_the_order():
    rows = [
        ("bbb", 1, 21800102, 80556.875, "AP"),
        ("aaa", 1, 21800102, 80556.0, "AP"),  # same second once truncated
        ("ccc", 1, 21800102, 80556.5, "AP"),
        ("zzz", 1, 21800102, 80555.0, "AP"),  # greater id but earlier
    ]
    meta = _meta(rows)
    for seed in range(5):
        shuffled = meta.sample(fraction=1.0, shuffle=True, seed=seed)
        assert pair_cxr_to_stays(shuffled, _stays(), "ihm")["dicom_id"].to_list() == ["ccc"]


def test_view_filter():
    meta = _meta([
        ("ap", 1, 21800101, 100000.0, "AP"),
        ("pa", 1, 21800101, 110000.0, "PA"),
        ("lat", 1, 21800101, 120000.0, "LATERAL"),
        ("none", 1, 21800101, 130000.0, None),
    ])
    assert pair_cxr_to_stays(meta, _stays(), "ihm")["dicom_id"].to_list() == ["ap"]
    assert pair_cxr_to_stays(meta, _stays(), "ihm", views=("AP", "PA"))["dicom_id"].to_list() == ["pa"]
    assert pair_cxr_to_stays(meta, _stays(), "ihm", views="LATERAL")["dicom_id"].to_list() == ["lat"]
    assert pair_cxr_to_stays(meta, _stays(), "ihm", views=None)["dicom_id"].to_list() == ["none"]
    assert pair_cxr_to_stays(meta, _stays(), "ihm", views=("LL",)).height == 0


def test_only_the_stays_subject():
    stays = _stays((2, 200, 2000, INTIME, OUTTIME), (3, 300, 3000, INTIME, OUTTIME))
    meta = _meta([("s1", 1, 21800101, 100000.0, "AP"), ("s2", 2, 21800102, 100000.0, "AP"),
                  ("s9", 9, 21800102, 110000.0, "AP")])
    pairs = pair_cxr_to_stays(meta, stays, "ihm")
    assert dict(zip(pairs["stay_id"], pairs["dicom_id"], strict=True)) == {1000: "s1", 2000: "s2"}


def test_two_stays_of_one_subject_each_get_their_own_window():
    later = (1, 101, 1001, datetime(2180, 3, 1), datetime(2180, 3, 4))
    meta = _meta([("first", 1, 21800101, 100000.0, "AP"), ("second", 1, 21800302, 100000.0, "AP")])
    pairs = pair_cxr_to_stays(meta, _stays(later), "pheno")
    assert dict(zip(pairs["stay_id"], pairs["dicom_id"], strict=True)) == {1000: "first", 1001: "second"}


def test_partial_and_paired():
    stays = _stays((2, 200, 2000, INTIME, OUTTIME), (3, 300, 3000, INTIME, OUTTIME)).with_columns(
        (pl.col("intime") + pl.duration(hours=48)).alias("prediction_time"))
    meta = _meta([("s1", 1, 21800101, 100000.0, "AP"), ("s3-pa", 3, 21800101, 100000.0, "PA")])
    partial = partial_samples(stays, pair_cxr_to_stays(meta, stays, "ihm"))
    assert partial.columns == list(PARTIAL_COLUMNS)
    assert partial["stay_id"].to_list() == [1000, 2000, 3000]
    assert partial["has_cxr"].to_list() == [True, False, False]
    assert partial["dicom_id"].to_list() == ["s1", None, None]
    assert paired_samples(partial)["stay_id"].to_list() == [1000]
    assert pair_counts(partial) == {"partial": 3, "paired": 1, "paired_fraction": 0.3333}


def test_precomputed_study_datetime_and_lazy_inputs():
    meta = with_study_datetime(_meta([("a", 1, 21800101, 80556.875, "AP")])).select(
        "dicom_id", "subject_id", "study_id", "study_datetime", pl.col("ViewPosition").alias("view_position"))
    pairs = pair_cxr_to_stays(meta.lazy(), _stays().lazy(), "ihm")
    assert pairs["study_datetime"].to_list() == [datetime(2180, 1, 1, 8, 5, 56)]


def test_unknown_task():
    with pytest.raises(ValueError, match="task"):
        pair_cxr_to_stays(_meta([]), _stays(), "los")
