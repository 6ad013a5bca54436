"""Tabular views and baselines: every baseline learns a signal the dummy cannot, model selection never sees
the test split, NaN labels are left out, and the ihm view's statistics equal a hand computation."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import log_loss, mean_absolute_error, roc_auc_score
from threadpoolctl import threadpool_limits

from features.timeseries.layout import COLUMNS
from models.baselines import (
    BASELINES,
    baseline_settings,
    evaluation_rows,
    fit_target,
    make_estimator,
    param_grid,
)
from models.tabular import (
    TabularTask,
    Target,
    cxr_task_from_frame,
    read_cxr_embeddings,
    stay_task_from_frame,
    tabular_task,
    timeseries_feature_names,
)
from warehouse.lake import ClinfuseError

N = 360


def _task(seed: int = 0) -> TabularTask:
    """Binary (two labels), multiclass and regression targets that depend on X, plus one noise column."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, 6)).astype(np.float32)
    X[rng.random((N, 6)) < 0.05] = np.nan  # some missing values: imputed or taken natively
    x = np.nan_to_num(X)
    binary = np.stack([(x[:, 0] + 0.5 * rng.standard_normal(N) > 0), (x[:, 1] - x[:, 2] > 0.3)], axis=1)
    classes = np.argmax(x[:, 2:5] + 0.3 * rng.standard_normal((N, 3)), axis=1).astype(np.float64)
    value = 3.0 * x[:, 3] - 2.0 * x[:, 4] + 0.3 * rng.standard_normal(N)
    split = np.array(["train"] * 200 + ["val"] * 80 + ["test"] * 80)
    return TabularTask(
        name="toy", X=X, feature_names=[f"x{j}" for j in range(6)],
        targets=[Target("flags", "binary", binary.astype(np.float64), ["a", "b"]),
                 Target("colour", "multiclass", classes, ["red", "green", "blue"]),
                 Target("amount", "regression", value, ["amount"])],
        split=split, subject_id=np.arange(N, dtype=np.int64), sex=np.array(["F", "M"] * (N // 2)),
        age=np.full(N, 60.0), race=np.array(["WHITE"] * N), fingerprint="toy", description="toy")


def _test_score(task: TabularTask, target: Target, fitted) -> float:
    """Higher is better: AUROC, minus log loss, minus MAE."""
    rows = evaluation_rows(task, target)
    pred = fitted.predict(task.X[rows])
    y = target.y[rows]
    if target.kind == "binary":
        return float(np.mean([roc_auc_score(y[:, j], pred[:, j]) for j in range(y.shape[1])]))
    if target.kind == "multiclass":
        return -float(log_loss(y.astype(int), pred, labels=[0, 1, 2]))
    return -float(mean_absolute_error(y, pred))


@pytest.fixture(scope="module")
def settings():
    return baseline_settings("demo")


def test_every_baseline_beats_the_dummy_on_test(settings):
    task = _task()
    for target in task.targets:
        dummy = _test_score(task, target, fit_target(task, target, "dummy", settings))
        for baseline in BASELINES[1:]:
            score = _test_score(task, target, fit_target(task, target, baseline, settings))
            assert score > dummy + 0.05, (baseline, target.name, score, dummy)
    binary = fit_target(task, task.targets[0], "xgboost", settings).predict(task.X[:5])
    assert binary.shape == (5, 2) and ((binary >= 0) & (binary <= 1)).all()
    multi = fit_target(task, task.targets[1], "linear", settings).predict(task.X[:5])
    np.testing.assert_allclose(multi.sum(axis=1), 1.0)


def test_heads_of_every_kind_evaluate_and_make_one_report(settings, tmp_path):
    import json

    from models.baselines import features_section, head_run, report_headline
    from models.metrics import evaluate_run
    from models.reports import write_multihead_report

    task = _task()
    docs, runs = [], []
    for target in task.targets:
        for baseline in ("dummy", "xgboost"):
            run = head_run(task, target, fit_target(task, target, baseline, settings), "test", {"mode": "fixed"},
                           n_bootstrap=20, subgroup_n_bootstrap=10)
            docs.append(evaluate_run(run))
            runs.append(run)
    by_head = {(d["model"], d["task"]): d["subsets"]["test"]["metrics"] for d in docs}
    assert {d["kind"] for d in docs} == {"binary", "multiclass", "regression"}
    assert by_head[("baseline_xgboost", "amount")]["mae"]["value"] < by_head[("baseline_dummy", "amount")]["mae"]["value"]
    assert by_head[("baseline_xgboost", "colour")]["auroc"]["value"] > 0.7
    assert by_head[("baseline_dummy", "flags")]["auroc"]["value"] == 0.5
    headline = report_headline(docs)
    assert {"xgboost_amount_mae", "xgboost_colour_auroc", "dummy_flags_auroc_ci_low"} <= set(headline)
    record = {"description": "toy", "split_sizes": task.split_sizes(), "notes": {}}
    written = write_multihead_report(tmp_path, "baselines_toy", docs, runs,
                                     [features_section(record, task.feature_names)], {"mode": "fixed"})
    document = json.loads(written["json"].read_text())
    assert len(document["heads"]) == 6 and document["sections"][0]["data"]["feature_names"] == task.feature_names


def test_selection_never_sees_the_test_split(settings):
    clean, flipped = _task(), _task()
    test = flipped.split == "test"
    flipped.X[test] = np.random.default_rng(9).standard_normal((int(test.sum()), 6)) * 100
    flipped.targets[0].y[test] = 1 - flipped.targets[0].y[test]
    flipped.targets[1].y[test] = (flipped.targets[1].y[test] + 1) % 3
    flipped.targets[2].y[test] = -flipped.targets[2].y[test]
    grid_settings = {**settings, "grids": {**settings["grids"],
                                           "random_forest": {"fixed": {"n_estimators": 10, "max_features": "sqrt"},
                                                             "grid": {"min_samples_leaf": [1, 10, 40]}}}}
    for baseline in ("linear", "random_forest"):
        for a, b in zip(clean.targets, flipped.targets, strict=True):
            first, second = fit_target(clean, a, baseline, grid_settings), fit_target(flipped, b, baseline, grid_settings)
            assert len(first.selection["grid"]) > 1
            assert first.params == second.params
            assert first.selection["grid"] == second.selection["grid"]  # every validation score identical


def test_nan_labels_are_left_out_per_label_and_per_target(settings):
    task = _task()
    flags, amount = task.targets[0], task.targets[2]
    flags.y[:30, 0] = np.nan   # training rows without label a (label b still known)
    flags.y[300:310, 1] = np.nan  # test rows without label b
    amount.y[:50] = np.nan
    fitted = fit_target(task, flags, "dummy", settings)
    # label a's estimator learnt from its 170 labelled training rows, label b's from all 200
    assert fitted.priors[0] == pytest.approx(flags.y[30:200, 0].mean())
    assert fitted.priors[1] == pytest.approx(flags.y[:200, 1].mean())
    assert fitted.estimators[0][-1].class_prior_[1] == pytest.approx(flags.y[30:200, 0].mean())
    assert fitted.n_train == 170 and fit_target(task, flags, "linear", settings).n_train == 170
    rows = evaluation_rows(task, flags)
    assert len(rows) == 70 and not np.isnan(flags.y[rows]).any()
    assert fit_target(task, amount, "xgboost", settings).n_train == 150


def test_a_label_with_one_class_in_training_is_skipped_and_predicted_by_its_prior(settings):
    task = _task()
    flags = task.targets[0]
    flags.y[task.split == "train", 1] = 0.0
    fitted = fit_target(task, flags, "hist_gbm", settings)
    assert fitted.labels_skipped == ["b"] and fitted.estimators[1] is None
    pred = fitted.predict(task.X)
    assert np.all(pred[:, 1] == 0.0) and pred[:, 0].std() > 0


def test_profiles_and_settings():
    demo, paper = baseline_settings("demo"), baseline_settings("paper")
    assert paper["grids"]["random_forest"]["fixed"]["n_estimators"] == 500
    assert demo["grids"]["xgboost"]["fixed"]["n_estimators"] < 100
    assert len(param_grid("linear", "binary", paper)) == 5 and len(param_grid("linear", "regression", paper)) == 5
    assert all("ridge_alpha" not in p for p in param_grid("linear", "binary", paper))
    assert baseline_settings("demo", {"baselines": ["xgboost", "dummy"]})["baselines"] == ["dummy", "xgboost"]
    with pytest.raises(ClinfuseError, match="unknown baseline setting"):
        baseline_settings("demo", {"trees": 3})
    with pytest.raises(ClinfuseError, match="baselines"):
        baseline_settings("demo", {"baselines": ["svm"]})


def test_every_paper_grid_entry_builds_and_fits():
    """The paper profile's parameter names and values are valid for every estimator (iterations shrunk)."""
    settings = baseline_settings("paper")
    for spec in settings["grids"].values():
        for key in ("n_estimators", "max_iter"):
            if key in spec["fixed"]:
                spec["fixed"][key] = 3 if key == "n_estimators" else 20
    task = _task()
    train = task.rows("train")[:80]
    with threadpool_limits(limits=1):  # as the library fits: one thread (shared cores)
        for target in task.targets:
            for baseline in BASELINES:
                for params in param_grid(baseline, target.kind, settings):
                    y = target.y[train][:, 0] if target.kind == "binary" else target.y[train]
                    make_estimator(baseline, target.kind, params, seed=0).fit(task.X[train], y)


def _steps(rows: list[dict]) -> list[list[float]]:
    """76-wide discretiser rows from {column: value} dicts (everything else 0)."""
    out = []
    for row in rows:
        step = [0.0] * len(COLUMNS)
        for name, value in row.items():
            step[COLUMNS.index(name)] = value
        out.append(step)
    return out


def test_ihm_view_equals_a_hand_computation():
    hr, mask, gcs = "Heart Rate", "mask->Heart Rate", "Glascow coma scale total"
    stay1 = _steps([
        {hr: 80.0, mask: 1.0, f"{gcs}->15": 1.0, f"mask->{gcs}": 1.0},
        {hr: 80.0, mask: 0.0, f"{gcs}->15": 1.0},  # carried forward, not observed
        {hr: 110.0, mask: 1.0, f"{gcs}->9": 1.0, f"mask->{gcs}": 1.0},
        {hr: 95.0, mask: 1.0, f"{gcs}->9": 1.0},
    ])
    step_type = pa.list_(pa.list_(pa.float32(), 76))
    table = pa.table({
        "stay_id": pa.array([1, 2], pa.int64()), "subject_id": pa.array([10, 20], pa.int64()),
        "split": ["train", "test"], "ts_length": pa.array([4, 0], pa.int32()),
        "ts_values": pa.array([stay1, None], step_type), "has_cxr": [False, False], "dicom_id": [None, None],
        "sex": ["F", "M"], "age": [70.0, 50.0], "race": ["WHITE", "ASIAN"], "y_true": pa.array([1, 0], pa.int8())})
    task = stay_task_from_frame(table, "ihm", "fp")
    names = task.feature_names
    assert names == timeseries_feature_names() and len(names) == 12 * 4 + 17 + 47 + 1
    first = dict(zip(names, task.X[0].tolist(), strict=True))
    assert (first[f"{hr}:last"], first[f"{hr}:min"], first[f"{hr}:max"], first[f"{hr}:count"]) == (95, 80, 110, 3)
    assert first[f"{hr}:mean"] == pytest.approx((80 + 110 + 95) / 3)
    assert first[f"{gcs}->9:last"] == 1.0 and first[f"{gcs}->15:last"] == 0.0 and first[f"{gcs}:count"] == 2
    assert np.isnan(first["Glucose:mean"]) and first["Glucose:count"] == 0  # never observed
    assert first["n_steps"] == 4
    second = dict(zip(names, task.X[1].tolist(), strict=True))
    assert second["n_steps"] == 0 and second[f"{hr}:count"] == 0 and np.isnan(second[f"{hr}:last"])
    assert task.targets[0].name == "ihm" and task.targets[0].y.tolist() == [[1.0], [0.0]]
    assert task.split.tolist() == ["train", "test"] and task.subject_id.tolist() == [10, 20]


def test_cxr_view_joins_the_embedding_by_image(tmp_path):
    from warehouse.lake import Home
    from warehouse.tables import CHEXPERT_LABELS

    labels = {name: pa.array([1, 0, 0], pa.int8()) for name in CHEXPERT_LABELS}
    table = pa.table({"dicom_id": ["a", "b", "c"], "subject_id": pa.array([1, 2, 3], pa.int64()),
                      "split": ["train", "val", "test"], "sex": ["F", "M", "F"], "age": [1.0, 2.0, 3.0],
                      "race": ["x", "y", "z"], **labels})
    dense = pa.FixedSizeListArray.from_arrays(pa.array(np.arange(8, dtype=np.float32)), 4)
    embeddings = pa.table({"dicom_id": ["c", "a"], "dense": dense})
    task = cxr_task_from_frame(table, embeddings, "fp")
    assert task.X.tolist() == [[4, 5, 6, 7], [0, 1, 2, 3]]  # a, c (b has no embedding)
    assert task.notes["images_without_embedding"] == 1 and task.subject_id.tolist() == [1, 3]
    assert task.targets[0].y.shape == (2, 14)
    with pytest.raises(ClinfuseError, match="materialise embeddings/cxr_densenet121_chex first"):
        read_cxr_embeddings(Home.open(tmp_path / "home"))
    with pytest.raises(ClinfuseError, match="no tabular view"):
        tabular_task(Home.open(tmp_path / "home"), "nope")


def test_bad_targets_are_refused():
    with pytest.raises(ClinfuseError, match="binary labels"):
        Target("t", "binary", np.array([[0.0], [2.0]]), ["t"])
    with pytest.raises(ClinfuseError, match="class indices"):
        Target("t", "multiclass", np.array([0.0, 3.0]), ["a", "b", "c"])
    with pytest.raises(ClinfuseError, match="kind"):
        Target("t", "ordinal", np.array([0.0]), ["t"])
