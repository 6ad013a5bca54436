"""models.metrics: values equal scikit-learn's, seeded bootstrap with the redraw rule, calibration, subgroups,
a deterministic metrics document."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from features.mimic3_benchmarks import PHENOTYPE_LEVELS, phenotype_names
from models import metrics as M
from warehouse.lake import ClinfuseError

RACES = ["WHITE", "WHITE - RUSSIAN", "BLACK/AFRICAN AMERICAN", "HISPANIC OR LATINO", "ASIAN - CHINESE",
         "UNKNOWN", "OTHER", "PATIENT DECLINED TO ANSWER"]


def random_predictions(n: int, n_labels: int, seed: int = 0, signal: float = 0.3):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, n_labels)) < rng.uniform(0.15, 0.4, n_labels)).astype(int)
    p = np.clip(signal * y + (1 - signal) * rng.random((n, n_labels)), 0, 1)
    return y, p


def make_subset(n: int, n_labels: int, seed: int) -> M.Subset:
    rng = np.random.default_rng(seed + 100)
    y, p = random_predictions(n, n_labels, seed)
    return M.Subset(y, p, subject_id=rng.integers(0, n // 2, n), sex=rng.choice(["F", "M"], n),
                    age=rng.uniform(18, 95, n), race=rng.choice(RACES, n))


def make_run(n_labels: int = 3, n: int = 160, n_bootstrap: int = 200, subgroup_n_bootstrap: int | None = 30,
             label_names: list[str] | None = None, seed: int = 0) -> M.EvalRun:
    """A small but complete run: two subsets, robustness, ablation, history and provenance."""
    names = label_names or ([f"label {j}" for j in range(n_labels)] if n_labels > 1 else ["y_true"])
    partial, paired = make_subset(n, n_labels, 1), make_subset(n // 2, n_labels, 2)
    rng = np.random.default_rng(3)
    robustness = [
        {"modality": modality, "fraction": fraction, "subset": "test_partial", "y_true": partial.y_true,
         "y_prob": np.clip(partial.y_prob + rng.normal(0, fraction / 2, partial.y_prob.shape), 0, 1)}
        for modality in ("ehr", "cxr", "both") for fraction in (0.1, 0.3, 0.6)
    ]
    ablation = {name: (partial.y_true, rng.random(partial.y_prob.shape))
                for name in ("full", "no_cxr", "no_ehr")}
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.1 / e + 0.02 * e,
                "val_auroc": 0.6 + 0.04 * e - 0.005 * e * e, "lr": 1e-4, "seconds": 2.0,
                "samples_per_s": 80.0} for e in range(1, 7)]
    provenance = {
        "data_source": "synthetic MIMIC-IV v2.2 (clinfuse generator)", "synthetic": True,
        "split_sizes": {"train": 560, "val": 80, "test": n}, "seed": 1002, "code_version": "0.1.0+test",
        "build_settings": {"mode": "fixed", "timestep": 2.0, "shards": 4},
        "weights_sources": {"cxr_encoder": "random-init", "ehr_encoder": "stage-1 checkpoint"},
        "mode": "fixed", "checkpoint_fingerprint": "f00dfeed", "checkpoint_path": "/tmp/run/models/best.pt",
    }
    return M.EvalRun(model="tsfusion", task="pheno" if n_labels > 1 else "ihm", label_names=names,
                     subsets={"test_partial": partial, "test_paired": paired}, robustness=robustness,
                     ablation=ablation, history=history, provenance=provenance, seed=seed,
                     n_bootstrap=n_bootstrap, subgroup_n_bootstrap=subgroup_n_bootstrap)


# ---------------------------------------------------------------------------------------------- point values


def test_binary_metrics_equal_sklearn():
    y, p = random_predictions(400, 1, seed=4)
    yt, pt = y[:, 0], p[:, 0]
    pred = (pt >= 0.5).astype(int)
    got = M.classification_metrics(y, p)
    assert got["auroc"] == pytest.approx(roc_auc_score(yt, pt), abs=1e-12)
    assert got["auprc"] == pytest.approx(average_precision_score(yt, pt), abs=1e-12)
    assert got["f1_binary"] == pytest.approx(f1_score(yt, pred), abs=1e-12)
    assert got["f1_macro"] == pytest.approx(f1_score(yt, pred, average="macro"), abs=1e-12)
    assert got["accuracy"] == pytest.approx(accuracy_score(yt, pred), abs=1e-12)
    assert got["precision"] == pytest.approx(precision_score(yt, pred), abs=1e-12)
    assert got["recall"] == pytest.approx(recall_score(yt, pred), abs=1e-12)
    assert got["labels_skipped"] == 0
    # a 1-D input is one label
    assert M.classification_metrics(yt, pt) == got


def test_multilabel_metrics_equal_sklearn():
    y, p = random_predictions(300, 3, seed=5)
    pred = (p >= 0.5).astype(int)
    got = M.classification_metrics(y, p)
    assert got["auroc"] == pytest.approx(roc_auc_score(y, p, average="macro"), abs=1e-12)
    assert got["auprc"] == pytest.approx(average_precision_score(y, p, average="macro"), abs=1e-12)
    assert got["f1_macro"] == pytest.approx(f1_score(y, pred, average="macro"), abs=1e-12)
    assert got["f1_binary"] == pytest.approx(f1_score(y, pred, average="micro"), abs=1e-12)  # micro for C > 1
    per_label_accuracy = [accuracy_score(y[:, j], pred[:, j]) for j in range(3)]
    assert got["accuracy"] == pytest.approx(np.mean(per_label_accuracy), abs=1e-12)
    assert got["precision"] == pytest.approx(precision_score(y, pred, average="macro"), abs=1e-12)
    assert got["recall"] == pytest.approx(recall_score(y, pred, average="macro"), abs=1e-12)


def test_label_with_one_class_is_skipped_not_zero():
    y, p = random_predictions(200, 3, seed=6)
    y[:, 2] = 0
    got = M.classification_metrics(y, p)
    expected = np.mean([roc_auc_score(y[:, j], p[:, j]) for j in (0, 1)])
    assert got["auroc"] == pytest.approx(expected, abs=1e-12)
    assert got["labels_skipped"] == 1 and got["labels_evaluated"] == 2
    per_label = M.per_label_metrics(y, p, ["a", "b", "c"])
    assert math.isnan(per_label["c"]["auroc"]) and per_label["c"]["n_pos"] == 0
    assert per_label["a"]["auroc"] == pytest.approx(roc_auc_score(y[:, 0], p[:, 0]))
    assert per_label["b"]["prevalence"] == pytest.approx(y[:, 1].mean())


def test_group_means_by_phenotype_level():
    names = phenotype_names()
    per_label = {name: {"auroc": 0.5 + 0.01 * j, "auprc": 0.3} for j, name in enumerate(names)}
    groups = M.group_means(per_label, PHENOTYPE_LEVELS)
    assert set(groups) == {"acute", "mixed", "chronic"}
    acute = [per_label[n]["auroc"] for n in names if PHENOTYPE_LEVELS[n] == "acute"]
    assert groups["acute"]["auroc"] == pytest.approx(np.mean(acute))
    assert sum(g["n_labels"] for g in groups.values()) == 25


def test_bad_inputs_raise_one_line_errors():
    with pytest.raises(ClinfuseError, match="same shape"):
        M.classification_metrics(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ClinfuseError, match="probabilities"):
        M.classification_metrics(np.array([0, 1]), np.array([0.2, 1.5]))
    with pytest.raises(ClinfuseError, match="0 and 1"):
        M.classification_metrics(np.array([0, 2]), np.array([0.2, 0.5]))
    with pytest.raises(ClinfuseError, match="unknown metric"):
        M.bootstrap_ci(np.array([0, 1, 1]), np.array([0.2, 0.5, 0.9]), ["auc"], n_resamples=5)


# ---------------------------------------------------------------------------------------------- bootstrap


def test_bootstrap_reproducible_for_a_seed_and_covers_the_estimate():
    y, p = random_predictions(150, 3, seed=7)
    first = M.bootstrap_ci(y, p, M.METRICS, n_resamples=200, seed=11)
    again = M.bootstrap_ci(y, p, M.METRICS, n_resamples=200, seed=11)
    other = M.bootstrap_ci(y, p, M.METRICS, n_resamples=200, seed=12)
    assert dict(first) == dict(again)
    assert dict(first) != dict(other)
    point = M.classification_metrics(y, p)
    for metric in M.METRICS:
        low, high = first[metric]
        assert low <= point[metric] <= high, metric
        assert high - low < 0.3
    assert len(first.samples.values["auroc"]) == 200


def test_bootstrap_default_is_1000_resamples():
    y, p = random_predictions(120, 1, seed=8)
    ci = M.bootstrap_ci(y, p, ["auroc"])
    assert len(ci.samples.values["auroc"]) == 1000 and ci.samples.seed == 0
    low, high = ci["auroc"]
    assert low < roc_auc_score(y[:, 0], p[:, 0]) < high


def test_redraw_rule_no_resample_without_a_positive():
    """20 rows with 2 positives: ~12 % of plain resamples have no positive; every one is redrawn."""
    y = np.zeros(20, dtype=int)
    y[[3, 11]] = 1
    p = np.linspace(0.05, 0.95, 20)
    samples = M.bootstrap_samples(y, p, ["auroc", "auprc"], n_resamples=1000, seed=3)
    assert samples.unresolved == 0
    assert 50 < samples.redraws < 400  # expected ~ 1000 * 0.12 / 0.88
    assert np.isfinite(samples.values["auroc"]).all() and np.isfinite(samples.values["auprc"]).all()
    idx, redraws, unresolved = M.draw_resamples(y[:, None], 1000, seed=3)
    assert (redraws, unresolved) == (samples.redraws, 0)
    positives = y[idx].sum(axis=1)
    assert (positives > 0).all() and (positives < 20).all()
    # without the rule the same generator would have produced resamples with no positive at all
    plain = np.random.default_rng(3).integers(0, 20, size=(1000, 20))
    assert (y[plain].sum(axis=1) == 0).any()


def test_redraw_cap_keeps_and_counts_unresolved_resamples():
    y = np.zeros(30, dtype=int)
    y[29] = 1  # one positive: ~37 % of resamples lack it
    p = np.linspace(0, 1, 30)
    samples = M.bootstrap_samples(y, p, ["auroc"], n_resamples=100, seed=0, max_redraws=5)
    assert samples.redraws == 5 and samples.unresolved > 0
    assert np.isnan(samples.values["auroc"]).sum() == samples.unresolved
    assert M.percentile_interval(samples.values["auroc"]) == pytest.approx((1.0, 1.0))  # defined ones only


def test_bootstrap_in_worker_processes_gives_the_same_result():
    y, p = random_predictions(80, 2, seed=9)
    serial = M.bootstrap_ci(y, p, ["auroc", "f1_macro"], n_resamples=40, seed=5)
    parallel = M.bootstrap_ci(y, p, ["auroc", "f1_macro"], n_resamples=40, seed=5, n_jobs=2)
    assert dict(serial) == dict(parallel)


# ---------------------------------------------------------------------------------------------- calibration


def test_ece_small_when_calibrated_and_large_when_not():
    rng = np.random.default_rng(0)
    p = rng.random(20_000)
    calibrated = (rng.random(p.size) < p).astype(int)
    overconfident = (rng.random(p.size) < p ** 3).astype(int)
    good = M.calibration(calibrated, p, n_bins=10)
    bad = M.calibration(overconfident, p, n_bins=10)
    assert good["ece"] < 0.02
    assert bad["ece"] > 0.15
    prob_true, prob_pred = calibration_curve(calibrated, p, n_bins=10, strategy="uniform")
    assert good["prob_true"] == pytest.approx(prob_true.tolist())
    assert good["prob_pred"] == pytest.approx(prob_pred.tolist())
    assert sum(good["bin_counts"]) == p.size and len(good["bin_counts"]) == 10
    assert good["brier"] == pytest.approx(brier_score_loss(calibrated, p))


def test_calibration_pools_labels():
    y, p = random_predictions(100, 3, seed=10)
    cal = M.calibration(y, p)
    assert cal["pooled_labels"] and cal["n_predictions"] == 300
    assert cal["brier"] == pytest.approx(brier_score_loss(y.ravel(), p.ravel()))


# ---------------------------------------------------------------------------------------------- subgroups


def test_age_bands_sex_and_race_groups():
    bands = M.age_band([17.9, 18, 44.99, 45, 64.5, 65, 79.99, 80, 101, np.nan])
    assert bands.tolist() == ["unknown", "18-44", "18-44", "45-64", "45-64", "65-79", "65-79", "80+", "80+",
                              "unknown"]
    races = M.race_group(["WHITE - OTHER EUROPEAN", "BLACK/CAPE VERDEAN", "HISPANIC/LATINO - DOMINICAN",
                          "SOUTH AMERICAN", "ASIAN - ASIAN INDIAN", "UNABLE TO OBTAIN",
                          "AMERICAN INDIAN/ALASKA NATIVE", None, "MULTIPLE RACE/ETHNICITY"])
    assert races.tolist() == ["WHITE", "BLACK", "HISPANIC", "HISPANIC", "ASIAN"] + ["OTHER/UNKNOWN"] * 4
    assert M.sex_group(["F", "m", None, "X"]).tolist() == ["F", "M", "unknown", "unknown"]


def test_subgroup_without_a_positive_is_not_estimable():
    rng = np.random.default_rng(1)
    n = 120
    sex = np.array(["F"] * 80 + ["M"] * 40, dtype=object)
    y = np.zeros(n, dtype=int)
    y[:80] = rng.random(80) < 0.3  # every positive is female
    p = np.clip(0.4 * y + 0.6 * rng.random(n), 0, 1)
    out = M.subgroup_metrics(y, p, {"sex": sex}, n_resamples=100, seed=0)
    female, male = out["sex"]["F"], out["sex"]["M"]
    assert male["status"] == "not estimable: no positive" and male["auroc"] is None and male["n"] == 40
    assert female["status"] == "ok" and female["n"] == 80 and female["positives"] == int(y.sum())
    assert female["auroc"]["value"] == pytest.approx(roc_auc_score(y[:80], p[:80]))
    assert female["auroc"]["ci_low"] <= female["auroc"]["value"] <= female["auroc"]["ci_high"]
    everyone_positive = M.subgroup_metrics(np.ones(10, dtype=int), np.full(10, 0.7),
                                           {"sex": np.array(["F"] * 10)}, n_resamples=10)
    assert everyone_positive["sex"]["F"]["status"] == "not estimable: no negative"


# ---------------------------------------------------------------------------------------------- the document


def test_evaluate_run_is_byte_identical_and_complete():
    run = make_run(n_labels=3, n=120, n_bootstrap=200, subgroup_n_bootstrap=10)
    first = json.dumps(M.evaluate_run(run), sort_keys=True, indent=2)
    second = json.dumps(M.evaluate_run(run), sort_keys=True, indent=2)
    assert first == second
    doc = json.loads(first)
    assert {"model", "task", "label_names", "seed", "n_bootstrap", "provenance", "subsets", "robustness",
            "ablation", "training", "definitions"} <= set(doc)
    partial = doc["subsets"]["test_partial"]
    assert {"n", "positives", "metrics", "per_label", "calibration", "subgroups", "confusion",
            "bootstrap"} <= set(partial)
    assert set(partial["metrics"]) == set(M.METRICS)
    assert set(partial["metrics"]["auroc"]) == {"value", "ci_low", "ci_high"}
    assert set(partial["subgroups"]) == {"sex", "age_band", "race"}
    assert set(partial["subgroups"]["race"]) <= set(M.RACE_GROUPS)
    assert np.asarray(partial["confusion"]).sum() == partial["n"] * 3  # summed over the 3 labels
    assert partial["positives"] == {name: int(run.subsets["test_partial"].y_true[:, j].sum())
                                    for j, name in enumerate(run.label_names)}
    assert len(doc["robustness"]) == 9 and set(doc["ablation"]) == {"full", "no_cxr", "no_ehr"}
    assert doc["training"]["epochs"] == 6 and doc["training"]["best_epoch"] == 4
    assert doc["provenance"]["checkpoint_path"] == "best.pt"  # no machine path
    assert "/tmp" not in first
    # floats rounded to 6 decimals; the point estimate is sklearn's
    assert all(len(repr(v).split(".")[-1]) <= 6 for v in _floats(doc))
    y, p = run.subsets["test_partial"].y_true, run.subsets["test_partial"].y_prob
    assert partial["metrics"]["auroc"]["value"] == pytest.approx(roc_auc_score(y, p), abs=1e-6)


def test_binary_run_confusion_and_headline():
    run = make_run(n_labels=1, n=200, n_bootstrap=200, subgroup_n_bootstrap=0)
    doc = M.evaluate_run(run)
    partial = doc["subsets"]["test_partial"]
    (tn, fp), (fn, tp) = partial["confusion"]
    y = run.subsets["test_partial"].y_true[:, 0]
    assert tp + fn == y.sum() == partial["positives"] and tn + fp + fn + tp == 200
    assert partial["subgroups"]["sex"]["F"]["auroc"]["ci_low"] is None  # no subgroup resamples asked for
    flat = M.headline(doc)
    for key in ("test_partial_auroc", "test_partial_auroc_ci_low", "test_partial_auroc_ci_high",
                "test_partial_auprc", "test_paired_auroc", "test_paired_auprc", "ece", "f1_macro", "brier",
                "epochs", "best_epoch"):
        assert isinstance(flat[key], float), key
    assert flat["test_partial_auroc"] == partial["metrics"]["auroc"]["value"]


def test_phenotyping_groups_come_from_phenotype_levels():
    names = list(phenotype_names())
    run = make_run(n_labels=25, n=120, n_bootstrap=20, subgroup_n_bootstrap=0, label_names=names)
    doc = M.evaluate_run(run)
    groups = doc["subsets"]["test_partial"]["groups"]
    assert set(groups) == {"acute", "mixed", "chronic"}
    per_label = doc["subsets"]["test_partial"]["per_label"]
    chronic = [per_label[n]["auroc"] for n in names if PHENOTYPE_LEVELS[n] == "chronic"]
    assert groups["chronic"]["auroc"]["value"] == pytest.approx(np.mean(chronic), abs=1e-5)
    expected = {"auroc_ci_low", "auroc_ci_high", "auprc_ci_low", "auprc_ci_high", "prevalence", "n_pos"}
    assert expected <= set(per_label[names[0]])


def _floats(value):
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _floats(v)
    elif isinstance(value, list):
        for v in value:
            yield from _floats(v)
