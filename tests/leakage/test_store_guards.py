"""The feature-store guards: no feature time after the prediction time, no subject in two splits.

They must fail on deliberately leaking frames, pass on clean ones, make `get_training_frame` raise on a
leaking input, and hold on the project's own training frames (the materialised synthetic store)."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pyarrow as pa
import pytest

from features.store import (
    REGISTRY,
    audit_store,
    check_frame,
    cohort_entities,
    frame_report,
    get_training_frame,
    leakage_rows,
    subjects_crossing_splits,
)
from features.store.model import FeatureGroup, FeatureView, Registry
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


# ---------------------------------------------------------------- the as-of audit of the feature tables


def test_the_store_audit_passes_on_the_synthetic_store(materialised):
    home, _ = materialised
    audit = audit_store(home)
    assert audit["violations"] == 0 and audit["crossing_subjects"] == 0, audit
    feature_views = [v.name for v in REGISTRY if not v.is_label]
    assert sorted(audit["views"]) == sorted(feature_views) and audit["skipped"] == []
    for name, result in audit["views"].items():  # not vacuous: rows were checked, their inputs found
        assert result["rows_checked"] > 0 and result["missing_inputs"] == 0, (name, result)


@pytest.fixture(scope="module")
def leaking_home(materialised, tmp_path_factory):
    """A copy of the synthetic store whose as-of columns were made earlier than the data the rows use."""
    import shutil

    from warehouse.lake import Home, parquet_glob

    home = Home.open(tmp_path_factory.mktemp("leaking") / "home")
    shutil.rmtree(home.lake)
    shutil.copytree(materialised[0].lake, home.lake)

    def rewrite(schema, table, **columns):
        frame = pl.read_parquet(parquet_glob(home.table_dir(schema, table)), hive_partitioning=True)
        write_arrow(home, schema, table, frame.with_columns(**columns).to_arrow(), partition_by_shard=True)

    intime = pl.read_parquet(parquet_glob(home.table_dir("cohorts", "ihm_48h")), hive_partitioning=True) \
        .select("stay_id", "intime")
    ts = pl.read_parquet(parquet_glob(home.table_dir("features", "timeseries_ihm")), hive_partitioning=True)
    # as-of = the start of the step, as if the latest event of the step were forgotten
    ts = ts.join(intime, on="stay_id").with_columns(
        pl.when(pl.col("asof_time").is_not_null()).then(pl.col("intime") + pl.duration(hours=2 * pl.col("step")))
        .alias("asof_time")).drop("intime")
    write_arrow(home, "features", "timeseries_ihm", ts.to_arrow(), partition_by_shard=True)
    rewrite("embeddings", "cxr_densenet121_chex", study_datetime=pl.col("study_datetime") - pl.duration(hours=1))
    rewrite("embeddings", "notes_clinicalbert_notes", available_time=pl.col("charttime"))  # storetime ignored
    return home


def test_the_store_audit_fails_on_deliberately_leaking_tables(leaking_home):
    audit = audit_store(leaking_home)
    views = audit["views"]
    leaking = {"timeseries_ihm", "cxr_densenet121_chex", "cxr_densenet121_chex_by_image", "notes_clinicalbert_notes"}
    assert {name for name, result in views.items() if result["violations"]} == leaking
    assert audit["violations"] == sum(views[name]["violations"] for name in leaking)
    example = views["cxr_densenet121_chex"]["example"]
    assert pl.Series([example["input_time"]]).str.to_datetime()[0] - pl.Series([example["asof"]]).str.to_datetime()[0] \
        == timedelta(hours=1)
    assert views["cxr_densenet121_chex"]["violations"] == views["cxr_densenet121_chex"]["rows_checked"]


def test_audit_store_reports_what_it_skipped(home):
    audit = audit_store(home)
    assert audit["views"] == {} and audit["violations"] == 0
    assert "timeseries_ihm" in audit["skipped"] and "labels_ihm" not in audit["skipped"]
