"""The feature-store guards: no feature time after the prediction time, no subject in two splits.

They must fail on deliberately leaking frames, pass on clean ones, make `get_training_frame` raise on a
leaking input, and hold on the project's own training frames (the materialised synthetic store)."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pyarrow as pa
import pytest

from features.store import (
    audit_store,
    check_frame,
    cohort_entities,
    frame_report,
    get_training_frame,
    leakage_rows,
    subjects_crossing_splits,
)
from features.store.registry import FeatureGroup, FeatureView, Registry
from warehouse.lake import ClinfuseError, write_arrow

T = datetime(2150, 1, 1, 12)


def _frame(asof, pred, subjects=(1, 2, 3), splits=("train", "train", "test")) -> pa.Table:
    return pa.table({
        "subject_id": pa.array(subjects, pa.int64()),
        "prediction_time": pa.array(pred, pa.timestamp("us")),
        "v__asof_time": pa.array(asof, pa.timestamp("us")),
        "split": list(splits),
    })


def test_leakage_rows_counts_feature_times_after_the_prediction_time():
    pred = [T, T, T]
    assert leakage_rows(_frame([T, T - timedelta(hours=1), None], pred)) == 0  # equal, earlier, no feature
    leaking = _frame([T + timedelta(microseconds=1), T, T + timedelta(days=1)], pred)
    assert leakage_rows(leaking) == 2
    assert leakage_rows(leaking, ["v__asof_time"], "prediction_time") == 2
    assert leakage_rows(_frame([T, T, T], [None, T, T])) == 0  # no prediction time: nothing can be late
    # several as-of columns: a row leaks when any of them is late; Polars and pandas frames work too
    two = leaking.append_column("w__asof_time", pa.array([T + timedelta(hours=1), None, None], pa.timestamp("us")))
    assert leakage_rows(two) == 2
    assert leakage_rows(pl.from_arrow(two)) == 2
    assert leakage_rows(two.to_pandas()) == 2


def test_leakage_rows_on_sequence_times_uses_the_latest_element():
    seq = pa.table({"prediction_time": pa.array([T, T], pa.timestamp("us")),
                    "s__asof_time": pa.array([[T - timedelta(hours=2), T], [T, T + timedelta(hours=1)]],
                                             pa.list_(pa.timestamp("us")))})
    assert leakage_rows(seq) == 1


def test_leakage_rows_needs_its_columns():
    with pytest.raises(ClinfuseError, match="no column"):
        leakage_rows(_frame([T] * 3, [T] * 3), ["other__asof_time"])


def test_subjects_crossing_splits_on_frames():
    assert subjects_crossing_splits(_frame([T] * 3, [T] * 3)) == 0
    crossing = _frame([T] * 4, [T] * 4, subjects=(1, 1, 2, 2), splits=("train", "test", "val", "val"))
    assert subjects_crossing_splits(crossing) == 1
    assert subjects_crossing_splits(crossing.drop(["split"])) == 0  # no split column, nothing to cross
    report = check_frame(crossing)
    assert (report.leakage_rows, report.crossing_subjects, report.ok) == (0, 1, False)
    with pytest.raises(ClinfuseError, match="split leakage"):
        report.raise_on_violation()


def test_subjects_crossing_splits_on_a_home(home):
    with pytest.raises(ClinfuseError, match="not materialised"):
        subjects_crossing_splits(home)
    write_arrow(home, "features", "splits", pa.table({"subject_id": [1, 2], "split": ["train", "test"]}))
    assert subjects_crossing_splits(home) == 0
    write_arrow(home, "features", "splits", pa.table({"subject_id": [1, 2, 2], "split": ["train", "test", "val"]}))
    assert subjects_crossing_splits(home) == 1


# ---------------------------------------------------------------- get_training_frame refuses leaking input

REG = Registry([FeatureView(
    name="obs", kind="latest", source="features/obs", entity_keys=("stay_id",), asof="t",
    groups=(FeatureGroup("x", "a value", "DOUBLE", columns=("x",)),), description="toy")])


@pytest.fixture
def obs_home(home):
    write_arrow(home, "features", "obs", pa.table({"stay_id": pa.array([1, 1, 2], pa.int64()),
                                                   "t": pa.array([T, T + timedelta(hours=5), T], pa.timestamp("us")),
                                                   "x": [1.0, 2.0, 3.0]}))
    return home


def _entities(**extra) -> pa.Table:
    base = {"stay_id": pa.array([1, 2], pa.int64()), "subject_id": pa.array([7, 8], pa.int64()),
            "prediction_time": pa.array([T + timedelta(hours=1), T + timedelta(hours=1)], pa.timestamp("us"))}
    return pa.table({**base, **extra})


def test_a_clean_frame_passes_and_reports_zero(obs_home):
    frame = get_training_frame(_entities(), ["obs"], home=obs_home, registry=REG)
    assert frame["obs__x"].to_pylist() == [1.0, 3.0]  # the 5-hours-later row never comes back
    guards = frame_report(frame)["guards"]
    assert guards["leakage_rows"] == 0 and guards["crossing_subjects"] == 0 and guards["ok"]


def test_a_feature_time_after_the_prediction_time_raises(obs_home):
    # features brought in with the entities are guarded too: `<name>__asof_time` after the prediction time
    late = pa.array([T + timedelta(hours=2), T], pa.timestamp("us"))
    with pytest.raises(ClinfuseError, match="temporal leakage: 1 of 2 rows"):
        get_training_frame(_entities(ext__asof_time=late), ["obs"], home=obs_home, registry=REG)
    report = frame_report(get_training_frame(_entities(ext__asof_time=late), ["obs"], home=obs_home, registry=REG,
                                             enforce_guards=False))
    assert report["guards"]["leakage_rows"] == 1 and not report["guards"]["ok"]


def test_a_subject_in_two_splits_raises(obs_home):
    entities = pa.concat_tables([_entities(split=["train", "test"]),
                                 _entities(split=["test", "test"])])  # subject 7 in train and test
    with pytest.raises(ClinfuseError, match="split leakage: 1 subjects"):
        get_training_frame(entities, ["obs"], home=obs_home, registry=REG)


# ---------------------------------------------------------------- the project's frames


@pytest.mark.parametrize(("cohort", "views"), [
    ("cohorts/ihm_48h", ["timeseries_ihm", "labels_ihm"]),
    ("cohorts/phenotyping", ["timeseries_pheno", "labels_pheno", "labels_los"]),
])
def test_training_frames_of_the_synthetic_store_are_clean(materialised, cohort, views):
    home, _ = materialised
    entities = cohort_entities(home, cohort, ["subject_id", "hadm_id", "stay_id", "prediction_time"])
    frame = get_training_frame(entities, views, home=home)
    guards = frame_report(frame)["guards"]
    assert frame.num_rows == entities.num_rows > 0
    assert guards["leakage_rows"] == 0 and guards["crossing_subjects"] == 0
    assert min(frame[f"{views[0]}__length"].to_pylist()) > 0  # every cohort stay has steps by its prediction time
    # moved 12 h earlier, the same stays get shorter sequences and still no later feature
    earlier = entities.set_column(3, "prediction_time", pa.compute.subtract(
        entities["prediction_time"], pa.scalar(12 * 3600 * 10**6, pa.duration("us"))))
    shorter = get_training_frame(earlier, views, home=home)
    assert sum(shorter[f"{views[0]}__length"].to_pylist()) < sum(frame[f"{views[0]}__length"].to_pylist())
    assert frame_report(shorter)["guards"]["leakage_rows"] == 0


def test_audit_store_on_the_synthetic_store(materialised):
    home, _ = materialised
    audit = audit_store(home)
    assert audit["leakage_rows"] == 0 and audit["crossing_subjects"] == 0
    assert {"ihm", "pheno"} <= set(audit["frames"])
