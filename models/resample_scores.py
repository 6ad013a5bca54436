"""The metrics of many bootstrap resamples at once, from row counts.

A bootstrap resample is the evaluated rows drawn with replacement; scoring it equals scoring the original
rows each weighted by how often it was drawn (its count). With the counts of a block of resamples as a
matrix W [b, N], every metric of `models.metrics` becomes a few matrix products and cumulative sums over
rows sorted once, instead of one set of scikit-learn calls per resample (whose input checks dominate at
evaluation sizes: ~20-45 ms per resample, i.e. minutes for a multi-head model).

The definitions are scikit-learn's, computed on the weighted rows (tests assert equality with sklearn on
every resample, ties and one-class resamples included):
- AUROC: sklearn's trapezoidal ROC area = the Mann-Whitney probability with ties counted 1/2.
- AUPRC: sklearn's average_precision_score = sum over distinct thresholds (descending) of
  (recall_k - recall_{k-1}) * precision_k.
- precision / recall / F1: sklearn's zero_division=nan forms, F1 = 2 tp / (2 tp + fp + fn).
- log loss: probabilities clipped to [eps, 1 - eps] (float64 eps), mean of -log p(true class).
A metric that is undefined on a resample (a label without both classes, a zero denominator) is NaN.
"""

from __future__ import annotations

import numpy as np

# rows x resamples per block: bounds the [b, N] matrices to ~16 MB each
BLOCK_ELEMENTS = 2_000_000


def count_blocks(idx: np.ndarray):
    """Yield (start, W [b, N] float64) with W[r, i] = how often row i is drawn in resample start + r."""
    n_resamples, n = idx.shape
    block = max(1, BLOCK_ELEMENTS // max(n, 1))
    for start in range(0, n_resamples, block):
        rows = idx[start:start + block]
        b = rows.shape[0]
        counts = np.bincount((rows + n * np.arange(b)[:, None]).ravel(), minlength=b * n)
        yield start, counts.reshape(b, n).astype(np.float64)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0 (sklearn's zero_division=nan)."""
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def nanmean_rows(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis of the defined values; NaN where none is (no warning)."""
    defined = ~np.isnan(values)
    total = np.where(defined, values, 0.0).sum(axis=-1)
    count = defined.sum(axis=-1)
    return _divide(total, count.astype(np.float64))


class RankingColumn:
    """One label column sorted once: score groups (distinct values) and the label of each sorted row."""

    def __init__(self, y: np.ndarray, score: np.ndarray):
        self.order = np.argsort(score, kind="mergesort")
        sorted_score = score[self.order]
        self.starts = np.flatnonzero(np.r_[True, sorted_score[1:] != sorted_score[:-1]])
        self.positive = y[self.order].astype(np.float64)

    def scores(self, weights: np.ndarray, metrics) -> dict[str, np.ndarray]:
        """{auroc, auprc} [b] for the weight rows; NaN where a resample lacks a positive or a negative."""
        w = weights[:, self.order]
        pos = np.add.reduceat(w * self.positive, self.starts, axis=1)  # [b, G], ascending score
        neg = np.add.reduceat(w * (1.0 - self.positive), self.starts, axis=1)
        n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
        defined = (n_pos > 0) & (n_neg > 0)
        out = {}
        if "auroc" in metrics:
            below = np.cumsum(neg, axis=1) - neg
            area = (pos * (below + 0.5 * neg)).sum(axis=1)
            out["auroc"] = np.where(defined, _divide(area, n_pos * n_neg), np.nan)
        if "auprc" in metrics:
            pos_desc, neg_desc = pos[:, ::-1], neg[:, ::-1]
            tps, fps = np.cumsum(pos_desc, axis=1), np.cumsum(neg_desc, axis=1)
            precision = np.zeros_like(tps)
            np.divide(tps, tps + fps, out=precision, where=(tps + fps) > 0)
            # a group without positives moves recall by 0 and adds nothing (sklearn's step sum)
            out["auprc"] = np.where(defined, _divide((pos_desc * precision).sum(axis=1), n_pos), np.nan)
        return out


def binary_block(weights: np.ndarray, y: np.ndarray, p: np.ndarray, columns: list[RankingColumn], names,
                 threshold: float, ranking: tuple[str, ...]) -> tuple[dict, dict]:
    """Every binary metric of `models.metrics` for the weight rows W [b, N]; y, p [N, C].

    Returns ({metric: [b]}, {ranking metric: [b, C]}) with the C = 1 / C > 1 definitions of models.metrics."""
    b, n_labels = weights.shape[0], y.shape[1]
    values: dict[str, np.ndarray] = {}
    per_label: dict[str, np.ndarray] = {}
    wanted = [m for m in ranking if m in names]
    if wanted:
        for m in wanted:
            per_label[m] = np.empty((b, n_labels))
        for j, column in enumerate(columns):
            if column is None:  # the label has one class in the whole subset: never defined
                for m in wanted:
                    per_label[m][:, j] = np.nan
                continue
            scores = column.scores(weights, wanted)
            for m in wanted:
                per_label[m][:, j] = scores[m]
        for m in wanted:
            values[m] = nanmean_rows(per_label[m])
    threshold_names = [m for m in names if m not in ranking]
    if not threshold_names:
        return values, per_label
    yf = y.astype(np.float64)
    pred = (p >= threshold).astype(np.float64)
    tp = weights @ (yf * pred)  # [b, C]
    fp = weights @ ((1.0 - yf) * pred)
    fn = weights @ (yf * (1.0 - pred))
    tn = weights @ ((1.0 - yf) * (1.0 - pred))
    total = weights.sum(axis=1)
    if n_labels == 1:
        tp, fp, fn, tn = tp[:, 0], fp[:, 0], fn[:, 0], tn[:, 0]
        f1_pos, f1_neg = _divide(2 * tp, 2 * tp + fp + fn), _divide(2 * tn, 2 * tn + fn + fp)
        table = {"f1_binary": f1_pos, "f1_macro": nanmean_rows(np.stack([f1_neg, f1_pos], axis=1)),
                 "precision": _divide(tp, tp + fp), "recall": _divide(tp, tp + fn),
                 "accuracy": _divide(tp + tn, total)}
    else:
        table = {"f1_macro": nanmean_rows(_divide(2 * tp, 2 * tp + fp + fn)),
                 "precision": nanmean_rows(_divide(tp, tp + fp)), "recall": nanmean_rows(_divide(tp, tp + fn)),
                 "f1_binary": _divide(2 * tp.sum(axis=1), (2 * tp + fp + fn).sum(axis=1)),
                 "accuracy": _divide((tp + tn).sum(axis=1), total * n_labels)}
    values.update({m: table[m] for m in threshold_names})
    return values, per_label


def multiclass_block(weights: np.ndarray, y: np.ndarray, p: np.ndarray, columns: list[RankingColumn | None],
                     names) -> tuple[dict, dict]:
    """auroc (macro one-vs-rest), accuracy, f1_macro (argmax), nll for the weight rows; y [N], p [N, K]."""
    b, n_classes = weights.shape[0], p.shape[1]
    values: dict[str, np.ndarray] = {}
    per_label: dict[str, np.ndarray] = {}
    if "auroc" in names:
        per_class = np.full((b, n_classes), np.nan)
        for k, column in enumerate(columns):
            if column is not None:
                per_class[:, k] = column.scores(weights, ("auroc",))["auroc"]
        per_label["auroc"] = per_class
        values["auroc"] = nanmean_rows(per_class)
    total = weights.sum(axis=1)
    pred = p.argmax(axis=1)
    if "accuracy" in names:
        values["accuracy"] = _divide(weights @ (pred == y).astype(np.float64), total)
    if "f1_macro" in names:
        truth = (y[:, None] == np.arange(n_classes)).astype(np.float64)
        predicted = (pred[:, None] == np.arange(n_classes)).astype(np.float64)
        tp = weights @ (truth * predicted)
        values["f1_macro"] = nanmean_rows(_divide(2 * tp, weights @ truth + weights @ predicted))
    if "nll" in names:
        eps = np.finfo(np.float64).eps
        loss = -np.log(np.clip(p[np.arange(len(y)), y], eps, 1 - eps))
        values["nll"] = _divide(weights @ loss, total)
    return values, per_label
