"""No leakage: subject-level splits, normalisers from training subjects only, nothing after prediction time."""

from __future__ import annotations

import polars as pl
import pytest

from features.timeseries.layout import CONTINUOUS_COLUMNS
from warehouse.lake import parquet_glob


def _scan(home, schema, table):
    return pl.scan_parquet(parquet_glob(home.table_dir(schema, table)), hive_partitioning=True)


def test_no_subject_in_two_splits_and_all_three_used(materialised):
    home, _ = materialised
    splits = _scan(home, "features", "splits").collect()
    assert splits["subject_id"].n_unique() == splits.height
    assert set(splits["split"]) == {"train", "val", "test"}
    stays = _scan(home, "cohorts", "icu_stays").select("subject_id").unique().collect()
    assert stays.join(splits, on="subject_id", how="anti").height == 0, "every cohort subject has a split"


@pytest.mark.parametrize("task", ["ihm", "pheno"])
def test_normaliser_sees_the_training_split_only(materialised, task):
    home, _ = materialised
    state = _scan(home, "features", f"normalizer_{task}").collect()
    series = _scan(home, "features", f"timeseries_{task}").join(_scan(home, "features", "splits"), on="subject_id")
    train = series.filter(pl.col("split") == "train").select(CONTINUOUS_COLUMNS).collect()
    everyone = series.select(CONTINUOUS_COLUMNS).collect()
    assert state["column"].to_list() == list(CONTINUOUS_COLUMNS)
    assert state["n_rows"][0] == train.height < everyone.height
    for column, mean in zip(state["column"], state["mean"], strict=True):
        assert mean == pytest.approx(train[column].cast(pl.Float64).mean(), rel=1e-5), column
    differs = [c for c in CONTINUOUS_COLUMNS
               if abs(everyone[c].cast(pl.Float64).mean() - train[c].cast(pl.Float64).mean()) > 1e-9]
    assert differs, "with val/test rows the statistics would differ: the check above can fail"


@pytest.mark.parametrize("cohort,table", [("ihm_48h", "timeseries_ihm"), ("phenotyping", "timeseries_pheno")])
def test_no_feature_time_after_prediction_time(materialised, cohort, table):
    home, _ = materialised
    joined = _scan(home, "features", table).join(
        _scan(home, "cohorts", cohort).select("stay_id", "prediction_time"), on="stay_id").collect()
    assert joined.height > 0
    late = joined.filter(pl.col("asof_time") > pl.col("prediction_time"))
    assert late.height == 0


def test_every_haim_sample_has_a_split(materialised):
    """HAIM samples need not pass the MedFuse cohort rules; their subjects must still have a split."""
    home, _ = materialised
    samples = _scan(home, "cohorts", "haim_samples").select("subject_id").unique().collect()
    splits = _scan(home, "features", "splits").collect()
    assert samples.height > 0
    assert samples.join(splits, on="subject_id", how="anti").height == 0


def test_note_views_use_the_time_a_note_could_be_read(materialised):
    """A radiology report is charted at the exam minute but written later (storetime): point-in-time retrieval
    must use the later time, or it hands out reports before they existed."""
    from features.store.registry import REGISTRY

    home, _ = materialised
    notes = _scan(home, "embeddings", "notes_clinicalbert_notes").select("note_id", "available_time").collect()
    stored = pl.concat([_scan(home, "raw", t).select("note_id", "charttime", "storetime")
                        for t in ("note_radiology", "note_discharge")]).collect()
    joined = notes.join(stored, on="note_id")
    assert joined.height == notes.height > 0
    assert joined.filter(pl.col("available_time") < pl.max_horizontal("charttime", "storetime")).height == 0
    assert joined.filter(pl.col("storetime") > pl.col("charttime")).height > 0, "the check above can fail"
    for view in ("notes_clinicalbert_notes", "notes_clinicalbert", "note_chunks"):
        assert REGISTRY.get(view).asof == "available_time"
