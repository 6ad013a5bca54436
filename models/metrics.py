"""Evaluation metrics, bootstrap confidence intervals, calibration and subgroup analyses.

Every point estimate comes from a scikit-learn function (`roc_auc_score`, `average_precision_score`,
`f1_score`, `precision_recall_fscore_support`, `hamming_loss`, `accuracy_score`, `brier_score_loss`,
`calibration_curve`, `confusion_matrix`, `log_loss`, `mean_absolute_error`, ...); this module only chooses
the inputs, skips undefined values and averages per-label values the way sklearn's `average="macro"` does.
Bootstrap resamples are scored with the same definitions on rows weighted by their draw counts, many
resamples at once (`models.resample_scores`; tests assert equality with sklearn on every resample).

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

Kinds (`EvalRun.kind`; the document records it as `doc["kind"]`):
- "binary" (default): the conventions above; calibration, confusion [[tn, fp], [fn, tp]], subgroups by AUROC.
- "multiclass": `y_true` [N] class index in [0, K), `y_prob` [N, K] class probabilities (rows sum to 1),
  `label_names` = the K class names. Metrics `auroc` (macro one-vs-rest; a class absent from the subset is
  skipped), `accuracy` and `f1_macro` of the most probable class, `nll` (sklearn `log_loss`); per class
  one-vs-rest AUROC (with CI), precision, recall, F1; a K x K confusion matrix. The redraw rule applies to
  the one-vs-rest columns. No calibration or subgroups.
- "regression": `y_true` [N] float, `y_prob` [N] the predicted value, `label_names` = [target name]. Metrics
  `mae`, `rmse`, `r2`, `explained_variance` (sklearn; the bootstrap scores all resamples at once with
  sklearn's multioutput form); a summary of truth / prediction / residual; subgroups by MAE. No redraws.
Rows without a label (NaN) must be dropped by the caller; a NaN label is an error here.

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
    explained_variance_score,
    f1_score,
    hamming_loss,
    log_loss,
    mean_absolute_error,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)

from models import resample_scores
from warehouse.lake import ClinfuseError

METRICS: tuple[str, ...] = ("auroc", "auprc", "f1_macro", "f1_binary", "accuracy", "precision", "recall")
RANKING_METRICS: tuple[str, ...] = ("auroc", "auprc")
KINDS: tuple[str, ...] = ("binary", "multiclass", "regression")
MULTICLASS_METRICS: tuple[str, ...] = ("auroc", "accuracy", "f1_macro", "nll")
REGRESSION_METRICS: tuple[str, ...] = ("mae", "rmse", "r2", "explained_variance")
METRICS_BY_KIND: dict[str, tuple[str, ...]] = {
    "binary": METRICS, "multiclass": MULTICLASS_METRICS, "regression": REGRESSION_METRICS}
# The one order every table (leaderboard, multi-head report) lists metrics in; a metric not named here
# (e.g. a clustering silhouette) follows, by name.
METRIC_ORDER: tuple[str, ...] = ("auroc", "auprc", "f1_macro", "f1_binary", "accuracy", "precision", "recall",
                                 "nll", "mae", "rmse", "r2", "explained_variance", "silhouette")
LOWER_IS_BETTER: frozenset[str] = frozenset({"nll", "mae", "rmse"})
# The metric a head is summarised by (its CI goes into the multi-head headline).
PRIMARY_METRIC: dict[str, str] = {"binary": "auroc", "multiclass": "auroc", "regression": "mae"}
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
    """Every resample's metrics, vectorised over blocks of resamples (models.resample_scores: the same
    definitions as sklearn's, on rows weighted by their draw counts)."""
    values = {m: np.empty(len(idx)) for m in names}
    per_label = {m: np.empty((len(idx), y.shape[1])) for m in RANKING_METRICS if m in names}
    both = _both_classes(y)
    columns = [resample_scores.RankingColumn(y[:, j], p[:, j]) if both[j] else None for j in range(y.shape[1])] \
        if per_label else []
    for start, weights in resample_scores.count_blocks(idx):
        v, pl = resample_scores.binary_block(weights, y, p, columns, names, threshold, RANKING_METRICS)
        stop = start + weights.shape[0]
        for m in names:
            values[m][start:stop] = v[m]
        for m in per_label:
            per_label[m][start:stop] = pl[m]
    return values, per_label


def _score_resamples_sklearn(y, p, idx, names, threshold):
    """The reference: sklearn's functions on every resample, one at a time (tests compare the two)."""
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
# multiclass: y_true [N] class index in [0, K), y_prob [N, K] class probabilities


def as_multiclass(y_true, y_prob) -> tuple[np.ndarray, np.ndarray]:
    """(y int64 [N], p float64 [N, K]) checked: K >= 2, y an integer class index in [0, K), p finite
    probabilities whose rows sum to 1 (within 1e-4, then renormalised: float32 softmax rounding)."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_prob, dtype=np.float64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or p.ndim != 2 or p.shape[0] != y.shape[0]:
        raise ClinfuseError(f"multiclass: y_true {y.shape} must be [N] and y_prob {p.shape} [N, K]")
    n_classes = p.shape[1]
    if n_classes < 2:
        raise ClinfuseError(f"multiclass: y_prob has {n_classes} column(s); a multiclass task needs K >= 2")
    if not np.isfinite(y).all():
        raise ClinfuseError(f"multiclass: y_true has {int((~np.isfinite(y)).sum())} missing value(s): "
                            "drop unlabelled rows before evaluating")
    if y.size and (not (y == np.round(y)).all() or y.min() < 0 or y.max() >= n_classes):
        raise ClinfuseError(f"multiclass: y_true must hold class indices 0..{n_classes - 1}")
    if not np.isfinite(p).all() or (p.size and (p.min() < 0 or p.max() > 1)):
        raise ClinfuseError("multiclass: y_prob must be finite probabilities in [0, 1]")
    sums = p.sum(axis=1)
    if p.size and not np.allclose(sums, 1.0, atol=1e-4):
        worst = int(np.argmax(np.abs(sums - 1.0)))
        raise ClinfuseError(f"multiclass: y_prob rows must sum to 1 (row {worst} sums to {sums[worst]:.6f})")
    return y.astype(np.int64), p / sums[:, None] if p.size else p


def _one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    return (y[:, None] == np.arange(n_classes)[None, :]).astype(np.int64)


def _multiclass_scores(y: np.ndarray, p: np.ndarray, names) -> tuple[dict, dict]:
    """({metric: float}, {"auroc": per-class one-vs-rest array}) for MULTICLASS_METRICS names."""
    n_classes = p.shape[1]
    labels = np.arange(n_classes)
    values: dict[str, float] = {}
    per_label: dict[str, np.ndarray] = {}
    if "auroc" in names:
        # one-vs-rest per class (sklearn's multi_class="ovr" macro), a class absent from y skipped, not 0
        per_label["auroc"] = _per_label_ranking(_one_hot(y, n_classes), p, "auroc")
        values["auroc"] = _nanmean(per_label["auroc"])
    pred = p.argmax(axis=1)
    if "accuracy" in names:
        values["accuracy"] = float(accuracy_score(y, pred))
    if "f1_macro" in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, _, f1, _ = precision_recall_fscore_support(y, pred, labels=labels, average=None,
                                                          zero_division=np.nan)
        values["f1_macro"] = _nanmean(f1)
    if "nll" in names:
        values["nll"] = float(log_loss(y, p, labels=labels))
    return values, per_label


def multiclass_metrics(y_true, y_prob) -> dict[str, float]:
    """auroc (macro one-vs-rest), accuracy, f1_macro, nll (+ labels_evaluated / labels_skipped: classes with
    and without both a member and a non-member)."""
    y, p = as_multiclass(y_true, y_prob)
    values, _ = _multiclass_scores(y, p, MULTICLASS_METRICS)
    evaluated = int(_both_classes(_one_hot(y, p.shape[1])).sum())
    values["labels_evaluated"] = float(evaluated)
    values["labels_skipped"] = float(p.shape[1] - evaluated)
    return values


def per_class_metrics(y_true, y_prob, class_names: list[str] | None = None) -> dict[str, dict[str, float]]:
    """{class: {auroc (one-vs-rest), precision, recall, f1, prevalence, n_pos}} (sklearn, argmax decision)."""
    y, p = as_multiclass(y_true, y_prob)
    n_classes = p.shape[1]
    names = _label_names(class_names, n_classes)
    auroc = _per_label_ranking(_one_hot(y, n_classes), p, "auroc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prec, rec, f1, support = precision_recall_fscore_support(y, p.argmax(axis=1), labels=np.arange(n_classes),
                                                                 average=None, zero_division=np.nan)
    n = max(len(y), 1)
    return {name: {"auroc": float(auroc[k]), "precision": float(prec[k]), "recall": float(rec[k]),
                   "f1": float(f1[k]), "prevalence": float(support[k] / n) if len(y) else math.nan,
                   "n_pos": int(support[k])}
            for k, name in enumerate(names)}


def multiclass_confusion(y_true, y_prob) -> list[list[int]]:
    """K x K sklearn confusion matrix of the argmax class: rows = true class, columns = predicted."""
    y, p = as_multiclass(y_true, y_prob)
    matrix = confusion_matrix(y, p.argmax(axis=1), labels=np.arange(p.shape[1]))
    return [[int(v) for v in row] for row in matrix]


def _score_multiclass_resamples(y, p, idx, names):
    """Every resample's multiclass metrics, vectorised (models.resample_scores)."""
    values = {m: np.empty(len(idx)) for m in names}
    per_label = {"auroc": np.empty((len(idx), p.shape[1]))} if "auroc" in names else {}
    onehot = _one_hot(y, p.shape[1])
    both = _both_classes(onehot)
    columns = [resample_scores.RankingColumn(onehot[:, k], p[:, k]) if both[k] else None
               for k in range(p.shape[1])] if per_label else []
    for start, weights in resample_scores.count_blocks(idx):
        v, pl = resample_scores.multiclass_block(weights, y, p, columns, names)
        stop = start + weights.shape[0]
        for m in names:
            values[m][start:stop] = v[m]
        for m in per_label:
            per_label[m][start:stop] = pl[m]
    return values, per_label


def _score_multiclass_resamples_sklearn(y, p, idx, names):
    """The reference: sklearn's functions on every resample, one at a time (tests compare the two)."""
    values = {m: np.empty(len(idx)) for m in names}
    per_label = {"auroc": np.empty((len(idx), p.shape[1]))} if "auroc" in names else {}
    for r, rows in enumerate(idx):
        v, pl = _multiclass_scores(y[rows], p[rows], names)
        for m in names:
            values[m][r] = v[m]
        for m in per_label:
            per_label[m][r] = pl[m]
    return values, per_label


def multiclass_bootstrap_samples(y_true, y_prob, metric_names=MULTICLASS_METRICS, n_resamples: int = 1000,
                                 seed: int = 0, max_redraws: int | None = None,
                                 n_jobs: int = 1) -> BootstrapSamples:
    """Each multiclass metric on every resample; the redraw rule applies to the one-vs-rest columns (a class
    present in the evaluated set is present, and not alone, in every resample, up to the cap)."""
    y, p = as_multiclass(y_true, y_prob)
    names = tuple(metric_names)
    unknown = set(names) - set(MULTICLASS_METRICS)
    if unknown:
        raise ClinfuseError(f"unknown multiclass metric(s) {sorted(unknown)}; known: {', '.join(MULTICLASS_METRICS)}")
    idx, redraws, unresolved = draw_resamples(_one_hot(y, p.shape[1]), n_resamples, seed, max_redraws)
    cap = 10 * n_resamples if max_redraws is None else max_redraws
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if n_jobs == 1 or n_resamples < 2:
            values, per_label = _score_multiclass_resamples(y, p, idx, names)
        else:
            from joblib import Parallel, delayed

            chunks = np.array_split(idx, min(abs(n_jobs) if n_jobs > 0 else 64, n_resamples))
            parts = Parallel(n_jobs=n_jobs)(
                delayed(_score_multiclass_resamples)(y, p, chunk, names) for chunk in chunks)
            values = {m: np.concatenate([part[0][m] for part in parts]) for m in names}
            per_label = {m: np.concatenate([part[1][m] for part in parts]) for m in parts[0][1]}
    return BootstrapSamples(values, per_label, n_resamples, seed, redraws, unresolved, cap)


# --------------------------------------------------------------------------------------------------------
# regression: y_true [N] float, y_prob [N] = the predicted value


def as_regression(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """(y float64 [N], prediction float64 [N]) checked: same length, finite."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    y = y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y
    p = p[:, 0] if p.ndim == 2 and p.shape[1] == 1 else p
    if y.ndim != 1 or y.shape != p.shape:
        raise ClinfuseError(f"regression: y_true {y.shape} and the prediction {p.shape} must both be [N]")
    if not np.isfinite(y).all():
        raise ClinfuseError(f"regression: y_true has {int((~np.isfinite(y)).sum())} missing or infinite value(s): "
                            "drop unlabelled rows before evaluating")
    if not np.isfinite(p).all():
        raise ClinfuseError(f"regression: the prediction has {int((~np.isfinite(p)).sum())} non-finite value(s)")
    return y, p


def _regression_columns(y: np.ndarray, p: np.ndarray, names) -> dict[str, np.ndarray]:
    """Each metric of every column of y, p [N, R] at once (sklearn's multioutput="raw_values"); R² and
    explained variance undefined (NaN) on a column with a constant y or fewer than 2 rows."""
    out: dict[str, np.ndarray] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns that R² is undefined on < 2 samples
        if "mae" in names:
            out["mae"] = mean_absolute_error(y, p, multioutput="raw_values")
        if "rmse" in names:
            out["rmse"] = root_mean_squared_error(y, p, multioutput="raw_values")
        if "r2" in names:
            out["r2"] = r2_score(y, p, multioutput="raw_values", force_finite=False)
        if "explained_variance" in names:
            out["explained_variance"] = explained_variance_score(y, p, multioutput="raw_values",
                                                                 force_finite=False)
    for name, values in out.items():
        values = np.asarray(values, dtype=np.float64).copy()
        values[~np.isfinite(values)] = np.nan
        if y.shape[0] < 2 and name in ("r2", "explained_variance"):
            values[:] = np.nan
        out[name] = values
    return out


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """mae, rmse, r2, explained_variance (sklearn)."""
    y, p = as_regression(y_true, y_pred)
    if not y.size:
        raise ClinfuseError("regression: nothing to evaluate (0 rows)")
    return {m: float(v[0]) for m, v in _regression_columns(y[:, None], p[:, None], REGRESSION_METRICS).items()}


def regression_bootstrap_samples(y_true, y_pred, metric_names=REGRESSION_METRICS, n_resamples: int = 1000,
                                 seed: int = 0) -> BootstrapSamples:
    """Each regression metric on every resample (no redraw rule: every resample is defined); the resamples
    are scored in blocks by sklearn's multioutput metrics (one column per resample)."""
    y, p = as_regression(y_true, y_pred)
    names = tuple(metric_names)
    unknown = set(names) - set(REGRESSION_METRICS)
    if unknown:
        raise ClinfuseError(f"unknown regression metric(s) {sorted(unknown)}; known: {', '.join(REGRESSION_METRICS)}")
    idx, _, _ = draw_resamples(np.zeros((len(y), 0)), n_resamples, seed, 0)
    values = {m: np.empty(n_resamples) for m in names}
    block = max(1, 4_000_000 // max(len(y), 1))  # bounds the [N, block] matrices
    for start in range(0, n_resamples, block):
        rows = idx[start:start + block].T
        for m, v in _regression_columns(y[rows], p[rows], names).items():
            values[m][start:start + rows.shape[1]] = v
    return BootstrapSamples(values, {}, n_resamples, seed, 0, 0, 0)


def regression_summary(y_true, y_pred) -> dict:
    """Distribution of the truth, the prediction and the residual (prediction - truth)."""
    y, p = as_regression(y_true, y_pred)
    residual = p - y
    quantiles = (0.05, 0.25, 0.5, 0.75, 0.95)

    def describe(values):
        if not values.size:
            return {"mean": math.nan, "sd": math.nan, "min": math.nan, "max": math.nan}
        return {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if values.size > 1 else math.nan,
                "min": float(values.min()), "max": float(values.max()),
                **{f"q{int(q * 100):02d}": float(v) for q, v in zip(quantiles, np.quantile(values, quantiles),
                                                                    strict=True)}}
    return {"y_true": describe(y), "prediction": describe(p), "residual": describe(residual)}


def regression_subgroups(y_true, y_pred, groups: dict[str, np.ndarray], n_resamples: int = 200,
                         seed: int = 0, alpha: float = 0.05) -> dict[str, dict[str, dict]]:
    """{attribute: {group: {n, status, mae: {value, ci_low, ci_high}}}}; a group of one row gets no CI."""
    y, p = as_regression(y_true, y_pred)
    out: dict[str, dict[str, dict]] = {}
    for attribute, values in groups.items():
        values = np.asarray(values, dtype=object)
        if values.shape != (y.shape[0],):
            raise ClinfuseError(f"subgroup {attribute!r}: {values.shape[0]} values for {y.shape[0]} rows")
        out[attribute] = {}
        labels = values.astype(str)
        for group in sorted(set(labels)):
            rows = np.flatnonzero(labels == group)
            point = float(mean_absolute_error(y[rows], p[rows]))
            interval = (math.nan, math.nan)
            if n_resamples > 0 and len(rows) > 1:
                samples = regression_bootstrap_samples(y[rows], p[rows], ("mae",), n_resamples, seed)
                interval = percentile_interval(samples.values["mae"], alpha)
            out[attribute][group] = {"n": int(len(rows)), "status": "ok", "mae": _ci(point, interval)}
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
    # "binary" (0/1 labels [N, C]) | "multiclass" (class index [N], probabilities [N, K]) |
    # "regression" (value [N], prediction [N]); see the module docstring
    kind: str = "binary"


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


def _bootstrap_facts(run: EvalRun, samples: BootstrapSamples, unit: str) -> dict:
    return {"n_resamples": run.n_bootstrap, "seed": run.seed, "alpha": 0.05, "method": "percentile",
            "unit": unit, "redraws": samples.redraws, "unresolved": samples.unresolved,
            "max_redraws": samples.max_redraws}


def _evaluate_multiclass_subset(run: EvalRun, subset: Subset) -> dict:
    y, p = as_multiclass(subset.y_true, subset.y_prob)
    names = _label_names(run.label_names, p.shape[1])
    point = multiclass_metrics(y, p)
    samples = multiclass_bootstrap_samples(y, p, MULTICLASS_METRICS, run.n_bootstrap, run.seed, n_jobs=run.n_jobs)
    per_class = per_class_metrics(y, p, names)
    for k, name in enumerate(names):
        low, high = percentile_interval(samples.per_label["auroc"][:, k])
        per_class[name]["auroc_ci_low"], per_class[name]["auroc_ci_high"] = low, high
    return {
        "n": int(y.shape[0]),
        "n_subjects": int(len(np.unique(subset.subject_id))) if subset.subject_id is not None else None,
        "positives": {name: per_class[name]["n_pos"] for name in names},
        "labels_evaluated": int(point["labels_evaluated"]),
        "labels_skipped": int(point["labels_skipped"]),
        "metrics": {m: _ci(point[m], percentile_interval(samples.values[m])) for m in MULTICLASS_METRICS},
        "per_label": per_class,
        "confusion": multiclass_confusion(y, p),
        "bootstrap": _bootstrap_facts(run, samples, "row of the evaluated subset"),
    }


def _evaluate_regression_subset(run: EvalRun, subset: Subset) -> dict:
    y, p = as_regression(subset.y_true, subset.y_prob)
    if not y.size:
        raise ClinfuseError(f"{run.model} · {run.task}: a regression subset has no rows")
    point = regression_metrics(y, p)
    samples = regression_bootstrap_samples(y, p, REGRESSION_METRICS, run.n_bootstrap, run.seed)
    demographics = subgroup_arrays(subset.sex, subset.age, subset.race)
    n_sub = run.n_bootstrap if run.subgroup_n_bootstrap is None else run.subgroup_n_bootstrap
    return {
        "n": int(y.shape[0]),
        "n_subjects": int(len(np.unique(subset.subject_id))) if subset.subject_id is not None else None,
        "metrics": {m: _ci(point[m], percentile_interval(samples.values[m])) for m in REGRESSION_METRICS},
        "summary": regression_summary(y, p),
        "bootstrap": _bootstrap_facts(run, samples, "row of the evaluated subset"),
        "subgroups": regression_subgroups(y, p, demographics, n_sub, run.seed),
        "subgroup_bootstrap": {"n_resamples": n_sub, "seed": run.seed},
    }


def _kind_point(kind: str, y_true, y_prob) -> dict:
    """Point values of a kind's metrics (+ n), for robustness and ablation entries."""
    if kind == "binary":
        return _ranking_point(y_true, y_prob)
    if kind == "multiclass":
        y, p = as_multiclass(y_true, y_prob)
        values, _ = _multiclass_scores(y, p, MULTICLASS_METRICS)
    else:
        y, p = as_regression(y_true, y_prob)
        values = regression_metrics(y, p)
    return {**values, "n": int(y.shape[0])}


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


CI_TEXT = "95% percentile interval of a seeded bootstrap over rows of the evaluated subset"


def _multiclass_definitions() -> dict[str, str]:
    return {
        "auroc": "macro mean of one-vs-rest AUROCs (sklearn roc_auc_score per class, as multi_class='ovr', "
                 "average='macro'); a class absent from the subset (or the only one present) is skipped",
        "accuracy": "sklearn accuracy_score of the most probable class",
        "f1_macro": "mean of per-class F1 of the most probable class (sklearn average='macro'); a class neither "
                    "present nor predicted is skipped",
        "nll": "sklearn log_loss: mean negative log-likelihood of the true class (natural log; lower is better)",
        "confusion": "K x K sklearn confusion_matrix of the most probable class: rows = true class, "
                     "columns = predicted class",
        "per_class": "one-vs-rest AUROC with its CI; precision / recall / F1 of the most probable class",
        "ci": CI_TEXT + "; a resample in which a class present in the subset is missing (or alone) is redrawn, "
                        "as for binary labels",
        "undefined": "values that are undefined are skipped, never counted as 0",
    }


def _regression_definitions(target: str) -> dict[str, str]:
    return {
        "mae": f"sklearn mean_absolute_error of {target} (its unit; lower is better)",
        "rmse": f"sklearn root_mean_squared_error of {target} (its unit; lower is better)",
        "r2": "sklearn r2_score: 1 - residual sum of squares / total sum of squares around the subset's "
              "mean (0 = the subset-mean predictor, can be negative)",
        "explained_variance": "sklearn explained_variance_score: 1 - Var(residual) / Var(y) (ignores a "
                              "constant bias, unlike R²)",
        "residual": "prediction - observed value",
        "ci": CI_TEXT + "; every resample is kept (no redraw rule)",
        "subgroups": "MAE by sex; age band 18-44 / 45-64 / 65-79 / 80+; race grouped as WHITE, BLACK, "
                     "HISPANIC, ASIAN, OTHER/UNKNOWN, with a bootstrap CI within each group",
        "undefined": "R² and explained variance are undefined (left out) when the observed values are constant",
    }


def definitions(n_labels: int, threshold: float, n_bins: int, kind: str = "binary",
                label_names: list[str] | None = None) -> dict[str, str]:
    """What each reported number means, for this kind and label count (written into the document)."""
    if kind == "multiclass":
        return _multiclass_definitions()
    if kind == "regression":
        return _regression_definitions((label_names or ["the target"])[0])
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
    if run.kind not in KINDS:
        raise ClinfuseError(f"{run.model} · {run.task}: kind {run.kind!r} is not one of {', '.join(KINDS)}")
    if run.kind == "regression" and len(run.label_names) != 1:
        raise ClinfuseError(f"{run.model} · {run.task}: a regression run has one label name (the target), "
                            f"got {len(run.label_names)}")
    groups_of_labels = _label_groups(run) if run.kind == "binary" else None
    if run.kind == "binary":
        subsets = {name: _evaluate_subset(run, subset, groups_of_labels) for name, subset in run.subsets.items()}
    elif run.kind == "multiclass":
        subsets = {name: _evaluate_multiclass_subset(run, subset) for name, subset in run.subsets.items()}
    else:
        subsets = {name: _evaluate_regression_subset(run, subset) for name, subset in run.subsets.items()}
    robustness = []
    for entry in run.robustness:
        point = _kind_point(run.kind, entry["y_true"], entry["y_prob"])
        robustness.append({"modality": str(entry["modality"]), "fraction": float(entry["fraction"]),
                           "subset": str(entry["subset"]), **point})
    robustness.sort(key=lambda e: (e["subset"], e["modality"], e["fraction"]))
    ablation = {name: _kind_point(run.kind, y, p) for name, (y, p) in run.ablation.items()}
    history = [dict(row) for row in run.history]
    doc = {
        "model": run.model,
        "task": run.task,
        "kind": run.kind,
        "label_names": list(run.label_names),
        "label_groups": groups_of_labels,
        "seed": run.seed,
        "n_bootstrap": run.n_bootstrap,
        "threshold": run.threshold,
        "definitions": definitions(len(run.label_names), run.threshold, run.n_bins, run.kind,
                                   list(run.label_names)),
        "provenance": scrub_paths(run.provenance),
        "subsets": subsets,
        "robustness": robustness,
        "ablation": ablation,
        "training": {"history": history, "best_epoch": _best_epoch(history), "epochs": len(history)},
    }
    return clean(doc)


def primary_subset(doc: dict) -> str:
    """The subset the single-number summaries use: test_partial, else test_paired, else test, else the first
    by name."""
    for name in ("test_partial", "test_paired", "test"):
        if name in doc["subsets"]:
            return name
    return sorted(doc["subsets"])[0]


def headline(doc: dict) -> dict[str, float]:
    """Flat, stably named numbers for Dagster metadata (undefined values left out), for every kind:
    `<subset>_n`, `<subset>_<metric>` (+ `_ci_low` / `_ci_high` for AUROC / AUPRC of a binary doc and for
    every metric of the other kinds), then the primary subset's metrics unprefixed; binary docs add ECE
    and Brier score, every doc its ablation entries, best epoch and epochs."""
    kind = doc.get("kind", "binary")
    out: dict[str, float] = {}
    for subset, body in sorted(doc["subsets"].items()):
        out[f"{subset}_n"] = body["n"]
        for m, v in body["metrics"].items():
            out[f"{subset}_{m}"] = v["value"]
            if kind != "binary" or m in RANKING_METRICS:
                out[f"{subset}_{m}_ci_low"] = v["ci_low"]
                out[f"{subset}_{m}_ci_high"] = v["ci_high"]
        if "calibration" in body:
            out[f"{subset}_ece"] = body["calibration"]["ece"]
            out[f"{subset}_brier"] = body["calibration"]["brier"]
    main = doc["subsets"][primary_subset(doc)]
    if kind == "binary":
        for m in ("auroc", "auprc", "f1_macro", "f1_binary"):
            out[m] = main["metrics"][m]["value"]
        out["ece"] = main["calibration"]["ece"]
        out["brier"] = main["calibration"]["brier"]
    else:
        for m in METRICS_BY_KIND[kind]:
            out[m] = main["metrics"][m]["value"]
    for name, v in sorted(doc.get("ablation", {}).items()):
        metric = PRIMARY_METRIC.get(kind, "auroc")
        out[f"ablation_{name}_{metric}"] = v.get(metric)
    training = doc.get("training", {})
    if training.get("best_epoch") is not None:
        out["best_epoch"] = training["best_epoch"]
    out["epochs"] = training.get("epochs", 0)
    return {k: float(v) for k, v in out.items() if v is not None}


def multihead_headline(docs: list[dict]) -> dict[str, float]:
    """Flat numbers of several heads for Dagster metadata: `<task>_<metric>` of each head's primary subset,
    `<task>_<primary metric>_ci_low` / `_ci_high` (PRIMARY_METRIC: AUROC, or MAE for regression) and
    `<task>_n`; undefined values left out."""
    out: dict[str, float] = {}
    for doc in docs:
        kind = doc.get("kind", "binary")
        body = doc["subsets"][primary_subset(doc)]
        task = doc["task"]
        out[f"{task}_n"] = body["n"]
        for m in ordered_metrics(body["metrics"]):
            out[f"{task}_{m}"] = body["metrics"][m]["value"]
        primary = body["metrics"].get(PRIMARY_METRIC.get(kind, "auroc")) or {}
        out[f"{task}_{PRIMARY_METRIC.get(kind, 'auroc')}_ci_low"] = primary.get("ci_low")
        out[f"{task}_{PRIMARY_METRIC.get(kind, 'auroc')}_ci_high"] = primary.get("ci_high")
    return {k: float(v) for k, v in out.items() if v is not None}


def ordered_metrics(names) -> list[str]:
    """Metric names in METRIC_ORDER, any other name after them by name."""
    names = set(names)
    return [m for m in METRIC_ORDER if m in names] + sorted(names - set(METRIC_ORDER))
