"""models.metrics for multiclass and regression runs: values equal scikit-learn's on hand data, seeded
bootstrap intervals that contain the point estimate, the document and its headline for every kind."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    explained_variance_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)

from models import metrics as M
from warehouse.lake import ClinfuseError

# 8 rows, 3 classes, every class present and each one mis-ranked somewhere
HAND_Y = np.array([0, 1, 2, 0, 1, 2, 0, 2])
HAND_P = np.array([
    [0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6], [0.4, 0.4, 0.2],
    [0.5, 0.3, 0.2], [0.3, 0.3, 0.4], [0.2, 0.6, 0.2], [0.6, 0.1, 0.3],
])
HAND_TRUE = np.array([2.0, 5.5, 1.0, 12.0, 3.25, 7.0, 0.5, 4.0])
HAND_PRED = np.array([3.0, 4.0, 1.5, 8.0, 3.0, 9.5, 2.0, 4.5])
CLASSES = ["atelectasis", "cardiomegaly", "edema"]


def multiclass_subset(n: int, k: int, seed: int) -> M.Subset:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(0, 1, (n, k)) + 1.5 * np.eye(k)[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return M.Subset(y, p.astype(np.float32), subject_id=np.arange(n), sex=rng.choice(["F", "M"], n),
                    age=rng.uniform(18, 95, n), race=rng.choice(["WHITE", "BLACK"], n))


def regression_subset(n: int, seed: int) -> M.Subset:
    rng = np.random.default_rng(seed)
    y = rng.gamma(2.0, 2.5, n)
    return M.Subset(y, y + rng.normal(0, 1.5, n), subject_id=np.arange(n), sex=rng.choice(["F", "M"], n),
                    age=rng.uniform(18, 95, n), race=rng.choice(["WHITE", "ASIAN", "OTHER"], n))


def multiclass_run(n: int = 90, n_bootstrap: int = 100, seed: int = 0) -> M.EvalRun:
    return M.EvalRun(model="m3h", task="thorax8", label_names=CLASSES, kind="multiclass",
                     subsets={"test": multiclass_subset(n, 3, 5)}, seed=seed, n_bootstrap=n_bootstrap,
                     provenance={"data_source": "synthetic-test", "synthetic": True})


def regression_run(n: int = 120, n_bootstrap: int = 200, seed: int = 0) -> M.EvalRun:
    return M.EvalRun(model="m3tlm", task="los", label_names=["los_days"], kind="regression",
                     subsets={"test": regression_subset(n, 7)}, seed=seed, n_bootstrap=n_bootstrap,
                     subgroup_n_bootstrap=50, provenance={"data_source": "synthetic-test", "synthetic": True})


def test_multiclass_metrics_equal_sklearn_on_hand_data():
    values = M.multiclass_metrics(HAND_Y, HAND_P)
    assert values["auroc"] == pytest.approx(roc_auc_score(HAND_Y, HAND_P, multi_class="ovr", average="macro"))
    pred = HAND_P.argmax(axis=1)
    assert values["accuracy"] == pytest.approx(accuracy_score(HAND_Y, pred)) == 5 / 8
    assert values["f1_macro"] == pytest.approx(f1_score(HAND_Y, pred, average="macro"))
    assert values["nll"] == pytest.approx(log_loss(HAND_Y, HAND_P))
    assert values["labels_skipped"] == 0
    assert M.multiclass_confusion(HAND_Y, HAND_P) == confusion_matrix(HAND_Y, pred).tolist()
    per_class = M.per_class_metrics(HAND_Y, HAND_P, CLASSES)
    assert per_class["edema"]["auroc"] == pytest.approx(roc_auc_score(HAND_Y == 2, HAND_P[:, 2]))
    assert per_class["atelectasis"]["n_pos"] == 3


def test_a_class_absent_from_the_subset_is_skipped_not_zero():
    y, p = HAND_Y[HAND_Y != 1], HAND_P[HAND_Y != 1]
    values = M.multiclass_metrics(y, p)
    assert values["labels_skipped"] == 1
    expected = np.mean([roc_auc_score(y == k, p[:, k]) for k in (0, 2)])
    assert values["auroc"] == pytest.approx(expected)


def test_regression_metrics_equal_sklearn_on_hand_data():
    values = M.regression_metrics(HAND_TRUE, HAND_PRED)
    assert values["mae"] == pytest.approx(mean_absolute_error(HAND_TRUE, HAND_PRED)) == pytest.approx(11.75 / 8)
    assert values["rmse"] == pytest.approx(root_mean_squared_error(HAND_TRUE, HAND_PRED))
    assert values["r2"] == pytest.approx(r2_score(HAND_TRUE, HAND_PRED))
    assert values["explained_variance"] == pytest.approx(explained_variance_score(HAND_TRUE, HAND_PRED))
    # the block-wise bootstrap scores every resample exactly as one sklearn call on that resample would
    samples = M.regression_bootstrap_samples(HAND_TRUE, HAND_PRED, n_resamples=7, seed=3)
    idx, _, _ = M.draw_resamples(np.zeros((8, 0)), 7, 3, 0)
    assert samples.values["mae"][4] == pytest.approx(mean_absolute_error(HAND_TRUE[idx[4]], HAND_PRED[idx[4]]))


def test_constant_truth_leaves_r2_undefined_not_a_number_made_up():
    values = M.regression_metrics(np.full(5, 3.0), np.array([2.0, 3.0, 4.0, 3.0, 3.5]))
    assert np.isnan(values["r2"]) and np.isnan(values["explained_variance"])
    assert values["mae"] == pytest.approx(0.5)


@pytest.mark.parametrize("kind, y, p, message", [
    ("multiclass", [0, 1, 3], np.full((3, 3), 1 / 3), "class indices 0..2"),
    ("multiclass", [0, 1, 0.5], np.full((3, 3), 1 / 3), "class indices"),
    ("multiclass", [0, 1, 2], np.full((3, 3), 0.5), "sum to 1"),
    ("multiclass", [0, np.nan, 2], np.full((3, 3), 1 / 3), "missing"),
    ("regression", [1.0, np.nan], [1.0, 2.0], "drop unlabelled rows"),
    ("regression", [1.0, 2.0], [1.0, 2.0, 3.0], "must both be"),
])
def test_bad_inputs_are_one_line_errors(kind, y, p, message):
    check = M.as_multiclass if kind == "multiclass" else M.as_regression
    with pytest.raises(ClinfuseError, match=message):
        check(np.asarray(y), np.asarray(p))


def test_multiclass_document_with_seeded_intervals_around_the_point():
    run = multiclass_run()
    first = json.dumps(M.evaluate_run(run), sort_keys=True)
    assert first == json.dumps(M.evaluate_run(run), sort_keys=True)  # same seed, same bytes
    doc = json.loads(first)
    assert doc["kind"] == "multiclass"
    body = doc["subsets"]["test"]
    assert set(body["metrics"]) == set(M.MULTICLASS_METRICS)
    for entry in body["metrics"].values():
        assert entry["ci_low"] <= entry["value"] <= entry["ci_high"] and entry["ci_low"] < entry["ci_high"]
    subset = run.subsets["test"]
    assert body["metrics"]["auroc"]["value"] == pytest.approx(
        roc_auc_score(subset.y_true, subset.y_prob / subset.y_prob.sum(1, keepdims=True), multi_class="ovr"),
        abs=1e-6)
    assert np.asarray(body["confusion"]).shape == (3, 3) and np.asarray(body["confusion"]).sum() == 90
    assert set(body["per_label"]) == set(CLASSES) and "auroc_ci_low" in body["per_label"]["edema"]
    assert "calibration" not in body and "subgroups" not in body
    other_seed = M.evaluate_run(multiclass_run(seed=1))["subsets"]["test"]["metrics"]["auroc"]
    assert other_seed["value"] == body["metrics"]["auroc"]["value"]
    assert (other_seed["ci_low"], other_seed["ci_high"]) != (body["metrics"]["auroc"]["ci_low"],
                                                             body["metrics"]["auroc"]["ci_high"])
    flat = M.headline(doc)
    assert flat["auroc"] == body["metrics"]["auroc"]["value"] and "test_nll_ci_high" in flat


def test_regression_document_subgroups_and_headline():
    run = regression_run()
    doc = M.evaluate_run(run)
    assert doc["kind"] == "regression" and "los_days" in doc["definitions"]["mae"]
    body = doc["subsets"]["test"]
    assert set(body["metrics"]) == set(M.REGRESSION_METRICS)
    subset = run.subsets["test"]
    assert body["metrics"]["mae"]["value"] == pytest.approx(mean_absolute_error(subset.y_true, subset.y_prob),
                                                            abs=1e-6)
    for entry in body["metrics"].values():
        assert entry["ci_low"] <= entry["value"] <= entry["ci_high"]
    assert body["summary"]["residual"]["mean"] == pytest.approx(np.mean(subset.y_prob - subset.y_true), abs=1e-6)
    female = subset.sex == "F"
    assert body["subgroups"]["sex"]["F"]["mae"]["value"] == pytest.approx(
        mean_absolute_error(subset.y_true[female], subset.y_prob[female]), abs=1e-6)
    assert body["subgroups"]["sex"]["F"]["n"] == int(female.sum())
    assert M.evaluate_run(run) == doc
    flat = M.headline(doc)
    assert flat["mae"] == body["metrics"]["mae"]["value"] and flat["test_r2_ci_low"] <= flat["r2"]
    heads = M.multihead_headline([doc, M.evaluate_run(multiclass_run(n_bootstrap=20))])
    assert heads["los_mae"] == flat["mae"] and "los_mae_ci_low" in heads and "thorax8_auroc_ci_high" in heads


def test_unknown_kind_and_regression_with_two_names_are_refused():
    run = regression_run(n=20, n_bootstrap=5)
    run.kind = "ordinal"
    with pytest.raises(ClinfuseError, match="kind 'ordinal'"):
        M.evaluate_run(run)
    run.kind, run.label_names = "regression", ["a", "b"]
    with pytest.raises(ClinfuseError, match="one label name"):
        M.evaluate_run(run)


def test_metric_order_is_fixed_and_open_ended():
    assert M.ordered_metrics({"silhouette", "mae", "auroc", "zeta", "accuracy"}) == \
        ["auroc", "accuracy", "mae", "silhouette", "zeta"]
