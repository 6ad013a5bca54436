"""Evaluation metrics, bootstrap confidence intervals, calibration and subgroup analyses.

Every metric value comes from a scikit-learn function (`roc_auc_score`, `average_precision_score`,
`f1_score`, `precision_recall_fscore_support`, `hamming_loss`, `accuracy_score`, `brier_score_loss`,
`calibration_curve`, `confusion_matrix`); this module only chooses the inputs, skips undefined values and
averages per-label values the way sklearn's `average="macro"` does.

Conventions (stated again in every report):
- Predictions are `y_true` [N, C] in {0, 1} and `y_prob` [N, C] in [0, 1]; a 1-D array is one label.
- AUROC / AUPRC are macro means over the labels that have both classes; a label with one class is skipped
  (never scored 0) and counted in `labels_skipped`.
- A prediction is positive when `y_prob >= threshold` (0.5).
- C = 1: `f1_binary` = F1 of the positive class, `f1_macro` = mean F1 of the two classes.
  C > 1: `f1_macro` = mean of per-label F1, `f1_binary` = micro F1 (all label decisions pooled; the TSF
  paper's "binary F1" is undefined for 25 labels, models-reference B6 #10), `accuracy` = mean per-label
  accuracy, `precision` / `recall` = macro over labels.
- Confidence intervals: percentile interval of a seeded row-level (ICU stay) bootstrap; a resample in which
  a label that has both classes in the evaluated set lacks a positive or a negative is redrawn
  (TSImageFusion's rule), up to a cap; redraws are counted. The macro mean is recomputed in every resample
  (not MedFuse's mean of per-label bounds, reference-pipelines §7 #13).

`EvalRun.provenance` keys the reports know: `data_source`, `synthetic` (bool), `split_sizes` (dict),
`code_version`, `build_settings` (dict: mode, timestep, shards, ...), `weights_sources` (dict name ->
weights_source), `mode` (fixed | faithful), `mode_description`, `checkpoint_fingerprint`; any other key is
listed as is. String values that are absolute paths are reduced to their last component (no machine paths
in metrics.json).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath, PureWindowsPath

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    hamming_loss,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

from warehouse.lake import ClinfuseError

METRICS: tuple[str, ...] = ("auroc", "auprc", "f1_macro", "f1_binary", "accuracy", "precision", "recall")
RANKING_METRICS: tuple[str, ...] = ("auroc", "auprc")
AGE_BANDS: tuple[str, ...] = ("18-44", "45-64", "65-79", "80+")
RACE_GROUPS: tuple[str, ...] = ("WHITE", "BLACK", "HISPANIC", "ASIAN", "OTHER/UNKNOWN")
UNKNOWN = "unknown"
DECIMALS = 6
REDRAW_RULE = (
    "a resample in which a label that has both classes in the evaluated set lacks a positive or a negative "
    "is redrawn (TSImageFusion's rule), at most max_redraws times in all; resamples still lacking a class "
    "after the cap are kept and that label is skipped in them (counted as unresolved)"
)


# --------------------------------------------------------------------------------------------------------
# inputs


def as_label_matrix(y_true, y_prob) -> tuple[np.ndarray, np.ndarray]:
    """(y_true int64 [N, C], y_prob float64 [N, C]) from 1-D or 2-D arrays, checked."""
    y = np.asarray(y_true)
    p = np.asarray(y_prob, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if p.ndim == 1:
        p = p[:, None]
    if y.ndim != 2 or y.shape != p.shape:
        raise ClinfuseError(f"y_true {y.shape} and y_prob {p.shape} must both be [N, C] of the same shape")
    if y.size and not np.isin(y, (0, 1)).all():
        raise ClinfuseError("y_true must hold only 0 and 1")
    if not np.isfinite(p).all() or (p.size and (p.min() < 0 or p.max() > 1)):
        raise ClinfuseError("y_prob must be finite probabilities in [0, 1]")
    return y.astype(np.int64), p  # int64: sklearn's label checks are fastest on it


def _both_classes(y: np.ndarray) -> np.ndarray:
    """Per label: has at least one positive and one negative."""
    positives = y.sum(axis=0)
    return (positives > 0) & (positives < y.shape[0])


def _per_label_ranking(y: np.ndarray, p: np.ndarray, metric: str) -> np.ndarray:
    """sklearn's roc_auc_score / average_precision_score per label; NaN where a label has one class."""
    score = roc_auc_score if metric == "auroc" else average_precision_score
    out = np.full(y.shape[1], np.nan)
    cols = np.flatnonzero(_both_classes(y))
    if len(cols) == 1:
        out[cols[0]] = score(y[:, cols[0]], p[:, cols[0]])
    elif len(cols) > 1:
        out[cols] = score(y[:, cols], p[:, cols], average=None)
    return out


def _nanmean(values: np.ndarray) -> float:
    """Mean over the defined values (sklearn's macro average with zero_division=nan); NaN when none is."""
    values = np.asarray(values, dtype=np.float64)
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else math.nan


def _scores(y: np.ndarray, p: np.ndarray, names, threshold: float) -> tuple[dict, dict]:
    """({metric: float}, {ranking metric: per-label array}) for the requested metric names."""
    unknown = set(names) - set(METRICS)
    if unknown:
        raise ClinfuseError(f"unknown metric(s) {sorted(unknown)}; known: {', '.join(METRICS)}")
    values: dict[str, float] = {}
    per_label: dict[str, np.ndarray] = {}
    for metric in RANKING_METRICS:
        if metric in names:
            per_label[metric] = _per_label_ranking(y, p, metric)
            values[metric] = _nanmean(per_label[metric])
    threshold_names = [n for n in names if n not in RANKING_METRICS]
    if not threshold_names:
        return values, per_label
    pred = (p >= threshold).astype(np.int64)
    with warnings.catch_warnings():
        # zero_division=nan makes undefined precision/recall/F1 NaN (skipped), sklearn warns about them
        warnings.simplefilter("ignore")
        if y.shape[1] == 1:
            yt, yp = y[:, 0], pred[:, 0]
            if {"f1_macro", "f1_binary", "precision", "recall"} & set(threshold_names):
                # one call, per class [negative, positive]: the positive class's values are sklearn's
                # average="binary" ones, the NaN-skipping mean of F1 is its average="macro"
                prec, rec, f1, _ = precision_recall_fscore_support(yt, yp, labels=[0, 1], average=None,
                                                                   zero_division=np.nan)
                binary = {"f1_macro": _nanmean(f1), "f1_binary": float(f1[1]), "precision": float(prec[1]),
                          "recall": float(rec[1])}
                values.update({name: binary[name] for name in threshold_names if name in binary})
            if "accuracy" in threshold_names:
                values["accuracy"] = float(accuracy_score(yt, yp))
        else:
            if {"f1_macro", "precision", "recall"} & set(threshold_names):
                # one call for the per-label values; their NaN-skipping mean is sklearn's average="macro"
                prec, rec, f1, _ = precision_recall_fscore_support(y, pred, average=None,
                                                                   zero_division=np.nan)
                macro = {"f1_macro": f1, "precision": prec, "recall": rec}
                for name in ("f1_macro", "precision", "recall"):
                    if name in threshold_names:
                        values[name] = _nanmean(macro[name])
            if "f1_binary" in threshold_names:
                values["f1_binary"] = float(f1_score(y, pred, average="micro", zero_division=np.nan))
            if "accuracy" in threshold_names:
                # every label has N decisions, so 1 - Hamming loss is the mean per-label accuracy
                values["accuracy"] = 1.0 - float(hamming_loss(y, pred))
    return values, per_label


# --------------------------------------------------------------------------------------------------------
# point estimates


def classification_metrics(y_true, y_prob, threshold: float = 0.5) -> dict[str, float]:
    """auroc, auprc, f1_macro, f1_binary, accuracy, precision, recall (+ labels_evaluated, labels_skipped).

    Undefined values are NaN (skipped in macro means, never zeros); see the module docstring for the
    C = 1 / C > 1 definitions."""
    y, p = as_label_matrix(y_true, y_prob)
    values, _ = _scores(y, p, METRICS, threshold)
    evaluated = int(_both_classes(y).sum())
    values["labels_evaluated"] = float(evaluated)
    values["labels_skipped"] = float(y.shape[1] - evaluated)
    return values


def per_label_metrics(y_true, y_prob, label_names: list[str] | None = None) -> dict[str, dict[str, float]]:
    """{label: {auroc, auprc, prevalence, n_pos}}; auroc/auprc NaN for a label with one class."""
    y, p = as_label_matrix(y_true, y_prob)
    names = _label_names(label_names, y.shape[1])
    auroc = _per_label_ranking(y, p, "auroc")
    auprc = _per_label_ranking(y, p, "auprc")
    n_pos = y.sum(axis=0)
    prevalence = n_pos / y.shape[0] if y.shape[0] else np.full(y.shape[1], np.nan)
    return {
        name: {"auroc": float(auroc[j]), "auprc": float(auprc[j]), "prevalence": float(prevalence[j]),
               "n_pos": int(n_pos[j])}
        for j, name in enumerate(names)
    }


def group_means(per_label: dict[str, dict[str, float]], label_groups: dict[str, str],
                metrics=RANKING_METRICS) -> dict[str, dict[str, float]]:
    """Mean of per-label values by group (acute / mixed / chronic for phenotyping), NaN values skipped."""
    out: dict[str, dict[str, float]] = {}
    for group in sorted(set(label_groups.values())):
        labels = [name for name in per_label if label_groups.get(name) == group]
        out[group] = {m: _nanmean(np.array([per_label[name][m] for name in labels])) for m in metrics}
        out[group]["n_labels"] = len(labels)
    return out


def _label_names(label_names, n_labels: int) -> list[str]:
    if label_names is None:
        return [f"label_{j}" for j in range(n_labels)]
    if len(label_names) != n_labels:
        raise ClinfuseError(f"{len(label_names)} label names for {n_labels} label columns")
    return list(label_names)


# --------------------------------------------------------------------------------------------------------
# bootstrap


@dataclass
class BootstrapSamples:
    """The metric of every resample: values[metric] [R]; per_label[auroc|auprc] [R, C]."""

    values: dict[str, np.ndarray]
    per_label: dict[str, np.ndarray]
    n_resamples: int
    seed: int
    redraws: int
    unresolved: int
    max_redraws: int


class BootstrapCI(dict):
    """{metric: (low, high)}, with the resampling facts as attributes (redraws, unresolved, samples)."""

    samples: BootstrapSamples

    @property
    def redraws(self) -> int:
        return self.samples.redraws

    @property
    def unresolved(self) -> int:
        return self.samples.unresolved


def _lacking_a_class(idx: np.ndarray, y_needed: np.ndarray) -> np.ndarray:
    """Per resample row of idx [k, n]: some needed label has no positive or no negative in it."""
    k, n = idx.shape
    lacking = np.zeros(k, dtype=bool)
    chunk = max(1, 2_000_000 // max(n, 1))  # bounds the [chunk, n] count matrix
    for start in range(0, k, chunk):
        rows = idx[start:start + chunk]
        m = rows.shape[0]
        counts = np.bincount((rows + n * np.arange(m)[:, None]).ravel(), minlength=m * n).reshape(m, n)
        positives = counts @ y_needed
        lacking[start:start + m] = ((positives == 0) | (positives == n)).any(axis=1)
    return lacking


def draw_resamples(y: np.ndarray, n_resamples: int, seed: int,
                   max_redraws: int | None = None) -> tuple[np.ndarray, int, int]:
    """(index array [R, N], redraws, unresolved): all resamples drawn at once from default_rng(seed), the
    ones lacking a class of a label that has both classes in y redrawn in batches (same generator)."""
    n = y.shape[0]
    if n == 0:
        raise ClinfuseError("cannot bootstrap an empty set")
    if n_resamples < 1:
        raise ClinfuseError(f"n_resamples must be >= 1, got {n_resamples}")
    cap = 10 * n_resamples if max_redraws is None else max_redraws
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_resamples, n))
    needed = _both_classes(y)
    if not needed.any():
        return idx, 0, 0
    y_needed = y[:, needed]
    bad = np.flatnonzero(_lacking_a_class(idx, y_needed))
    redraws = 0
    while bad.size and redraws < cap:
        todo, waiting = bad[: cap - redraws], bad[cap - redraws:]
        idx[todo] = rng.integers(0, n, size=(todo.size, n))
        redraws += todo.size
        bad = np.sort(np.concatenate([todo[_lacking_a_class(idx[todo], y_needed)], waiting]))
    return idx, redraws, int(bad.size)


def _score_resamples(y, p, idx, names, threshold):
    values = {m: np.empty(len(idx)) for m in names}
    per_label = {m: np.empty((len(idx), y.shape[1])) for m in RANKING_METRICS if m in names}
    for r, rows in enumerate(idx):
        v, pl = _scores(y[rows], p[rows], names, threshold)
        for m in names:
            values[m][r] = v[m]
        for m in per_label:
            per_label[m][r] = pl[m]
    return values, per_label


def bootstrap_samples(y_true, y_prob, metric_names=METRICS, n_resamples: int = 1000, seed: int = 0,
                      threshold: float = 0.5, max_redraws: int | None = None,
                      n_jobs: int = 1) -> BootstrapSamples:
    """Each metric on every resample (sklearn's functions, one resample at a time; n_jobs > 1 spreads the
    resamples over joblib worker processes, with the same result)."""
    y, p = as_label_matrix(y_true, y_prob)
    names = tuple(metric_names)
    unknown = set(names) - set(METRICS)
    if unknown:
        raise ClinfuseError(f"unknown metric(s) {sorted(unknown)}; known: {', '.join(METRICS)}")
    idx, redraws, unresolved = draw_resamples(y, n_resamples, seed, max_redraws)
    cap = 10 * n_resamples if max_redraws is None else max_redraws
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if n_jobs == 1 or n_resamples < 2:
            values, per_label = _score_resamples(y, p, idx, names, threshold)
        else:
            from joblib import Parallel, delayed

            chunks = np.array_split(idx, min(abs(n_jobs) if n_jobs > 0 else 64, n_resamples))
            parts = Parallel(n_jobs=n_jobs)(
                delayed(_score_resamples)(y, p, chunk, names, threshold) for chunk in chunks)
            values = {m: np.concatenate([part[0][m] for part in parts]) for m in names}
            per_label = {m: np.concatenate([part[1][m] for part in parts]) for m in parts[0][1]}
    return BootstrapSamples(values, per_label, n_resamples, seed, redraws, unresolved, cap)


def percentile_interval(values: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    """[alpha/2, 1 - alpha/2] percentiles of the defined values; (NaN, NaN) when none is defined."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not values.size:
        return math.nan, math.nan
    low, high = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high)


def bootstrap_ci(y_true, y_prob, metric_names=METRICS, n_resamples: int = 1000, seed: int = 0,
                 alpha: float = 0.05, threshold: float = 0.5, max_redraws: int | None = None,
                 n_jobs: int = 1) -> BootstrapCI:
    """{metric: (low, high)}: percentile interval of a seeded bootstrap (see the module docstring).

    The result also carries `.redraws`, `.unresolved` and `.samples` (every resample's value)."""
    samples = bootstrap_samples(y_true, y_prob, metric_names, n_resamples, seed, threshold, max_redraws,
                                n_jobs)
    result = BootstrapCI({m: percentile_interval(v, alpha) for m, v in samples.values.items()})
    result.samples = samples
    return result


# --------------------------------------------------------------------------------------------------------
# calibration


def calibration(y_true, y_prob, n_bins: int = 10) -> dict:
    """Reliability curve (sklearn calibration_curve, uniform bins), ECE and Brier score.

    ECE = sum over non-empty bins of (bin count / N) * |observed rate - mean predicted probability|, with
    calibration_curve's own binning (np.searchsorted on the inner uniform edges). For C > 1 the labels are
    pooled: every (row, label) pair is one prediction."""
    y, p = as_label_matrix(y_true, y_prob)
    pooled = y.shape[1] > 1
    yf, pf = y.ravel(), p.ravel()
    out = {"n_bins": n_bins, "strategy": "uniform", "pooled_labels": pooled, "n_predictions": int(yf.size),
           "prob_true": [], "prob_pred": [], "bin_counts": [], "ece": math.nan, "brier": math.nan}
    if not yf.size:
        return out
    out["brier"] = float(brier_score_loss(yf, pf, labels=[0, 1]))
    prob_true, prob_pred = calibration_curve(yf, pf, n_bins=n_bins, strategy="uniform")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], pf), minlength=n_bins)
    counts = counts[counts != 0]
    if len(counts) != len(prob_true):  # sklearn changed its binning: refuse to report a wrong ECE
        raise ClinfuseError("calibration_curve's bins do not match the ECE binning")
    out["ece"] = float(np.sum(counts / yf.size * np.abs(prob_true - prob_pred)))
    out["prob_true"] = [float(v) for v in prob_true]
    out["prob_pred"] = [float(v) for v in prob_pred]
    out["bin_counts"] = [int(c) for c in counts]
    return out


def confusion(y_true, y_prob, threshold: float = 0.5) -> list[list[int]]:
    """[[tn, fp], [fn, tp]] at the threshold (sklearn); for C > 1 summed over labels."""
    y, p = as_label_matrix(y_true, y_prob)
    pred = (p >= threshold).astype(np.int64)
    if y.shape[1] == 1:
        matrix = confusion_matrix(y[:, 0], pred[:, 0], labels=[0, 1])
    else:
        matrix = multilabel_confusion_matrix(y, pred).sum(axis=0)
    return [[int(v) for v in row] for row in matrix]


# --------------------------------------------------------------------------------------------------------
# subgroups


def age_band(age) -> np.ndarray:
    """18-44, 45-64, 65-79, 80+; 'unknown' for a missing age or one under 18."""
    age = np.asarray(age, dtype=np.float64)
    out = np.full(age.shape, UNKNOWN, dtype=object)
    bounds = ((18, 45, "18-44"), (45, 65, "45-64"), (65, 80, "65-79"), (80, np.inf, "80+"))
    for low, high, name in bounds:
        out[(age >= low) & (age < high)] = name
    return out


def race_group(race) -> np.ndarray:
    """MIMIC-IV race strings grouped: WHITE*, BLACK*, HISPANIC* / *LATINO* / SOUTH AMERICAN, ASIAN*, and
    everything else (other, unknown, declined, unable to obtain, multiple, American Indian, Pacific
    Islander, Portuguese) as OTHER/UNKNOWN."""
    out = []
    for value in np.asarray(race, dtype=object):
        text = str(value).strip().upper() if value is not None else ""
        if text.startswith("WHITE"):
            out.append("WHITE")
        elif text.startswith("BLACK"):
            out.append("BLACK")
        elif text.startswith("HISPANIC") or "LATINO" in text or text == "SOUTH AMERICAN":
            out.append("HISPANIC")
        elif text.startswith("ASIAN"):
            out.append("ASIAN")
        else:
            out.append("OTHER/UNKNOWN")
    return np.array(out, dtype=object)


def sex_group(sex) -> np.ndarray:
    """MIMIC's gender column: F, M; anything else 'unknown'."""
    out = []
    for value in np.asarray(sex, dtype=object):
        text = str(value).strip().upper() if value is not None else ""
        out.append(text if text in ("F", "M") else UNKNOWN)
    return np.array(out, dtype=object)


def subgroup_arrays(sex=None, age=None, race=None) -> dict[str, np.ndarray]:
    """{"sex", "age_band", "race"} group labels per row, from the raw frame columns (None = not analysed)."""
    groups: dict[str, np.ndarray] = {}
    if sex is not None:
        groups["sex"] = sex_group(sex)
    if age is not None:
        groups["age_band"] = age_band(age)
    if race is not None:
        groups["race"] = race_group(race)
    return groups


def subgroup_metrics(y_true, y_prob, groups: dict[str, np.ndarray], n_resamples: int = 1000, seed: int = 0,
                     alpha: float = 0.05, max_redraws: int | None = None,
                     n_jobs: int = 1) -> dict[str, dict[str, dict]]:
    """{attribute: {group: {n, positives, status, auroc: {value, ci_low, ci_high}, auprc: {...}}}}.

    A group in which no label has both a positive and a negative is "not estimable" (no metric, no CI).
    n_resamples = 0 gives point estimates without CIs."""
    y, p = as_label_matrix(y_true, y_prob)
    out: dict[str, dict[str, dict]] = {}
    for attribute, values in groups.items():
        values = np.asarray(values, dtype=object)
        if values.shape != (y.shape[0],):
            raise ClinfuseError(f"subgroup {attribute!r}: {values.shape[0]} values for {y.shape[0]} rows")
        out[attribute] = {}
        for group in sorted({str(v) for v in values}):
            rows = np.flatnonzero(values.astype(str) == group)
            gy, gp = y[rows], p[rows]
            positives = int(gy.sum())
            entry: dict = {"n": int(len(rows)), "positives": positives}
            evaluable = _both_classes(gy)
            if not evaluable.any():
                if positives == 0:
                    reason = "no positive"
                elif (gy == 1).all():
                    reason = "no negative"
                else:
                    reason = "no label has both classes"
                entry.update(status=f"not estimable: {reason}", auroc=None, auprc=None, labels_skipped=None)
            else:
                point, _ = _scores(gy, gp, RANKING_METRICS, 0.5)
                entry["status"] = "ok"
                entry["labels_skipped"] = int(gy.shape[1] - evaluable.sum())
                if n_resamples > 0:
                    ci = bootstrap_ci(gy, gp, RANKING_METRICS, n_resamples, seed, alpha,
                                      max_redraws=max_redraws, n_jobs=n_jobs)
                    entry["redraws"], entry["unresolved"] = ci.redraws, ci.unresolved
                else:  # point estimates only
                    ci = {m: (math.nan, math.nan) for m in RANKING_METRICS}
                for m in RANKING_METRICS:
                    entry[m] = {"value": point[m], "ci_low": ci[m][0], "ci_high": ci[m][1]}
            out[attribute][group] = entry
    return out


# --------------------------------------------------------------------------------------------------------
# the metrics document


@dataclass
class Subset:
    """Predictions of one evaluated subset (test_partial, test_paired, val_*) with the rows' demographics."""

    y_true: np.ndarray
    y_prob: np.ndarray
    subject_id: np.ndarray | None = None
    sex: np.ndarray | None = None
    age: np.ndarray | None = None
    race: np.ndarray | None = None


@dataclass
class EvalRun:
    """Everything one report is built from (see models/CONTRACT.md, "Evaluation input")."""

    model: str
    task: str
    label_names: list[str]
    subsets: dict[str, Subset]
    label_groups: dict[str, str] | None = None
    robustness: list[dict] = field(default_factory=list)
    ablation: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    seed: int = 0
    n_bootstrap: int = 1000
    threshold: float = 0.5
    n_bins: int = 10
    # subgroup CIs cost groups x labels x resamples sklearn calls: 200 by default; None = n_bootstrap
    subgroup_n_bootstrap: int | None = 200
    n_jobs: int = 1  # joblib processes for the bootstrap (results do not depend on it)


def _label_groups(run: EvalRun) -> dict[str, str] | None:
    if run.label_groups is not None:
        return run.label_groups
    from features.mimic3_benchmarks import PHENOTYPE_LEVELS

    if len(run.label_names) > 1 and all(name in PHENOTYPE_LEVELS for name in run.label_names):
        return {name: PHENOTYPE_LEVELS[name] for name in run.label_names}
    return None


def _ci(point: float, interval: tuple[float, float]) -> dict[str, float]:
    return {"value": point, "ci_low": interval[0], "ci_high": interval[1]}


def _evaluate_subset(run: EvalRun, subset: Subset, groups_of_labels: dict[str, str] | None) -> dict:
    y, p = as_label_matrix(subset.y_true, subset.y_prob)
    names = _label_names(run.label_names, y.shape[1])
    point = classification_metrics(y, p, run.threshold)
    samples = bootstrap_samples(y, p, METRICS, run.n_bootstrap, run.seed, run.threshold, n_jobs=run.n_jobs)
    metrics = {m: _ci(point[m], percentile_interval(samples.values[m])) for m in METRICS}

    per_label = per_label_metrics(y, p, names)
    for m in RANKING_METRICS:
        for j, name in enumerate(names):
            low, high = percentile_interval(samples.per_label[m][:, j])
            per_label[name][f"{m}_ci_low"], per_label[name][f"{m}_ci_high"] = low, high

    doc: dict = {
        "n": int(y.shape[0]),
        "n_subjects": int(len(np.unique(subset.subject_id))) if subset.subject_id is not None else None,
        "positives": int(y.sum()) if y.shape[1] == 1 else {name: int(y[:, j].sum()) for j, name in
                                                           enumerate(names)},
        "labels_evaluated": int(point["labels_evaluated"]),
        "labels_skipped": int(point["labels_skipped"]),
        "metrics": metrics,
        "per_label": per_label,
        "calibration": calibration(y, p, run.n_bins),
        "confusion": confusion(y, p, run.threshold),
        "bootstrap": {"n_resamples": run.n_bootstrap, "seed": run.seed, "alpha": 0.05, "method": "percentile",
                      "unit": "row (an ICU stay; an image for the image-only model)", "redraws": samples.redraws, "unresolved": samples.unresolved,
                      "max_redraws": samples.max_redraws},
    }
    if groups_of_labels:
        groups = {}
        for group in sorted(set(groups_of_labels.values())):
            cols = [j for j, name in enumerate(names) if groups_of_labels.get(name) == group]
            groups[group] = {"n_labels": len(cols)}
            for m in RANKING_METRICS:
                value = _nanmean(np.array([per_label[names[j]][m] for j in cols]))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    per_resample = np.nanmean(samples.per_label[m][:, cols], axis=1)
                groups[group][m] = _ci(value, percentile_interval(per_resample))
        doc["groups"] = groups
    demographics = subgroup_arrays(subset.sex, subset.age, subset.race)
    n_sub = run.n_bootstrap if run.subgroup_n_bootstrap is None else run.subgroup_n_bootstrap
    doc["subgroups"] = subgroup_metrics(y, p, demographics, n_sub, run.seed, n_jobs=run.n_jobs)
    doc["subgroup_bootstrap"] = {"n_resamples": n_sub, "seed": run.seed}
    return doc


def _ranking_point(y_true, y_prob) -> dict:
    y, p = as_label_matrix(y_true, y_prob)
    values, _ = _scores(y, p, RANKING_METRICS, 0.5)
    return {"auroc": values["auroc"], "auprc": values["auprc"], "n": int(y.shape[0])}


def _best_epoch(history: list[dict]) -> int | None:
    """The epoch the trainer kept (its last improvement, whatever it selected on), else the best val AUROC."""
    improved = [row.get("epoch") for row in history if row.get("improved")]
    if improved:
        return improved[-1]
    best, best_value = None, -math.inf
    for row in history:
        value = row.get("val_auroc")
        if value is not None and not (isinstance(value, float) and math.isnan(value)) and value > best_value:
            best, best_value = row.get("epoch"), value
    return best


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", "~", "\\\\")) or (len(text) > 2 and text[1] == ":" and text[2] in "\\/")


def scrub_paths(value):
    """Absolute paths in string values reduced to their last component (recursively)."""
    if isinstance(value, dict):
        return {str(k): scrub_paths(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_paths(v) for v in value]
    if isinstance(value, PurePath):
        return value.name
    if isinstance(value, str) and _looks_like_path(value):
        pure = PureWindowsPath(value) if ":" in value[:3] or value.startswith("\\") else PurePosixPath(value)
        return pure.name or value
    return value


def clean(value):
    """JSON-ready and deterministic: floats rounded to 6 decimals, NaN/inf -> None, numpy -> Python."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [clean(v) for v in value.tolist()]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        if not math.isfinite(value):
            return None
        value = round(value, DECIMALS)
        return 0.0 if value == 0 else value
    if value is None or isinstance(value, str):
        return value
    return str(value)


def definitions(n_labels: int, threshold: float, n_bins: int) -> dict[str, str]:
    """What each reported number means, for this label count (written into the document)."""
    multi = n_labels > 1
    return {
        "auroc": "sklearn roc_auc_score" + (", macro mean over labels with both classes" if multi else ""),
        "auprc": "sklearn average_precision_score" + (", macro mean over labels with both classes"
                                                      if multi else ""),
        "threshold": f"a prediction is positive when the probability is >= {threshold}",
        "f1_macro": "mean of per-label F1 (sklearn average='macro')" if multi
        else "mean F1 of the negative and positive classes (sklearn average='macro')",
        "f1_binary": "micro F1: every (stay, label) decision pooled (sklearn average='micro'); the TSF "
                     "paper's 'binary F1' is not defined for several labels" if multi
        else "F1 of the positive class (sklearn average='binary')",
        "accuracy": "mean per-label accuracy (1 - sklearn hamming_loss)" if multi
        else "sklearn accuracy_score",
        "precision": "macro precision over labels (sklearn)" if multi else "precision of the positive class",
        "recall": "macro recall over labels (sklearn)" if multi
        else "recall (sensitivity) of the positive class",
        "undefined": "values that are undefined (a label with one class, no predicted positive) are skipped, "
                     "never counted as 0",
        "ci": "95% percentile interval of a seeded bootstrap over rows (ICU stays) of the evaluated subset; "
              + REDRAW_RULE,
        "calibration": f"sklearn calibration_curve with {n_bins} uniform bins; ECE = bin-weighted "
                       "|observed - predicted|; Brier = sklearn brier_score_loss"
                       + ("; labels pooled" if multi else ""),
        "confusion": "[[tn, fp], [fn, tp]] at the threshold" + ("; summed over labels" if multi else ""),
        "subgroups": "sex; age band 18-44 / 45-64 / 65-79 / 80+ at prediction time; race grouped as WHITE, "
                     "BLACK, HISPANIC, ASIAN, OTHER/UNKNOWN from MIMIC's race strings; a group without a "
                     "positive or a negative is not estimable",
    }


def evaluate_run(run: EvalRun) -> dict:
    """The whole metrics document (deterministic for the same inputs and seed; floats to 6 decimals)."""
    if not run.subsets:
        raise ClinfuseError("nothing to evaluate: the run has no subsets")
    groups_of_labels = _label_groups(run)
    subsets = {name: _evaluate_subset(run, subset, groups_of_labels) for name, subset in run.subsets.items()}
    robustness = []
    for entry in run.robustness:
        point = _ranking_point(entry["y_true"], entry["y_prob"])
        robustness.append({"modality": str(entry["modality"]), "fraction": float(entry["fraction"]),
                           "subset": str(entry["subset"]), "auroc": point["auroc"], "auprc": point["auprc"],
                           "n": point["n"]})
    robustness.sort(key=lambda e: (e["subset"], e["modality"], e["fraction"]))
    ablation = {name: _ranking_point(y, p) for name, (y, p) in run.ablation.items()}
    history = [dict(row) for row in run.history]
    doc = {
        "model": run.model,
        "task": run.task,
        "label_names": list(run.label_names),
        "label_groups": groups_of_labels,
        "seed": run.seed,
        "n_bootstrap": run.n_bootstrap,
        "threshold": run.threshold,
        "definitions": definitions(len(run.label_names), run.threshold, run.n_bins),
        "provenance": scrub_paths(run.provenance),
        "subsets": subsets,
        "robustness": robustness,
        "ablation": ablation,
        "training": {"history": history, "best_epoch": _best_epoch(history), "epochs": len(history)},
    }
    return clean(doc)


def primary_subset(doc: dict) -> str:
    """The subset the single-number summaries use: test_partial, else test_paired, else the first by name."""
    for name in ("test_partial", "test_paired"):
        if name in doc["subsets"]:
            return name
    return sorted(doc["subsets"])[0]


def headline(doc: dict) -> dict[str, float]:
    """Flat, stably named numbers for Dagster metadata (undefined values left out)."""
    out: dict[str, float] = {}
    for subset, body in sorted(doc["subsets"].items()):
        out[f"{subset}_n"] = body["n"]
        for m, v in body["metrics"].items():
            out[f"{subset}_{m}"] = v["value"]
            if m in RANKING_METRICS:
                out[f"{subset}_{m}_ci_low"] = v["ci_low"]
                out[f"{subset}_{m}_ci_high"] = v["ci_high"]
        out[f"{subset}_ece"] = body["calibration"]["ece"]
        out[f"{subset}_brier"] = body["calibration"]["brier"]
    main = doc["subsets"][primary_subset(doc)]
    out["auroc"] = main["metrics"]["auroc"]["value"]
    out["auprc"] = main["metrics"]["auprc"]["value"]
    out["f1_macro"] = main["metrics"]["f1_macro"]["value"]
    out["f1_binary"] = main["metrics"]["f1_binary"]["value"]
    out["ece"] = main["calibration"]["ece"]
    out["brier"] = main["calibration"]["brier"]
    for name, v in sorted(doc.get("ablation", {}).items()):
        out[f"ablation_{name}_auroc"] = v["auroc"]
    training = doc.get("training", {})
    if training.get("best_epoch") is not None:
        out["best_epoch"] = training["best_epoch"]
    out["epochs"] = training.get("epochs", 0)
    return {k: float(v) for k, v in out.items() if v is not None}
