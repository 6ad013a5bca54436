"""Small PNG plots for the evaluation reports (matplotlib's object API, Agg; pyplot is never imported, so
no global backend or figure state is touched).

Every figure is ~5 x 4 in at 100 dpi, drawn under matplotlib's default style (a user's matplotlibrc does not
change the bytes) and saved without the Software/date metadata, so the same inputs give the same PNG.
For multi-label tasks the ROC and PR plots show the macro-average curve: every label with both classes is
interpolated on a common grid (FPR for ROC, recall for PR) and the curves are averaged; the legend gives the
macro AUROC / AUPRC of the metrics document (the area under the averaged curve is close to, not equal to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib import style
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

FIGSIZE = (5.0, 4.0)
DPI = 100
GRID = np.linspace(0.0, 1.0, 201)
SUBSET_STYLES = ("-", "--", ":", "-.")


def _figure(nrows: int = 1, ncols: int = 1, **kwargs):
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


def _save(fig: Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    return path


def _styled(draw):
    """Run a drawing function under matplotlib's default rcParams."""
    def wrapper(*args, **kwargs):
        with style.context("default"):
            return draw(*args, **kwargs)
    wrapper.__name__ = draw.__name__
    wrapper.__doc__ = draw.__doc__
    return wrapper


def _fmt(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and not np.isfinite(value)) else f"{value:.3f}"


# ----------------------------------------------------------------------------------------------------------
# curve points (sklearn's roc_curve / precision_recall_curve)


def _as_2d(y_true, y_prob) -> tuple[np.ndarray, np.ndarray]:
    y, p = np.asarray(y_true), np.asarray(y_prob, dtype=np.float64)
    return (y[:, None], p[:, None]) if y.ndim == 1 else (y, p)


def roc_points(y_true, y_prob) -> tuple[np.ndarray, np.ndarray] | None:
    """(fpr, tpr): sklearn's curve for one label, the macro-average curve for several; None if undefined."""
    y, p = _as_2d(y_true, y_prob)
    curves = []
    for j in range(y.shape[1]):
        if 0 < y[:, j].sum() < len(y):
            fpr, tpr, _ = roc_curve(y[:, j], p[:, j])
            curves.append((fpr, tpr))
    if not curves:
        return None
    if len(curves) == 1 and y.shape[1] == 1:
        return curves[0]
    mean_tpr = np.mean([np.interp(GRID, fpr, tpr) for fpr, tpr in curves], axis=0)
    mean_tpr[0] = 0.0
    return GRID, mean_tpr


def pr_points(y_true, y_prob) -> tuple[np.ndarray, np.ndarray] | None:
    """(recall, precision): sklearn's curve for one label, the macro average on a recall grid for several."""
    y, p = _as_2d(y_true, y_prob)
    curves = []
    for j in range(y.shape[1]):
        if 0 < y[:, j].sum() < len(y):
            precision, recall, _ = precision_recall_curve(y[:, j], p[:, j])
            curves.append((recall, precision))
    if not curves:
        return None
    if len(curves) == 1 and y.shape[1] == 1:
        return curves[0]
    # precision_recall_curve returns recall decreasing; np.interp wants it increasing
    mean_precision = np.mean([np.interp(GRID, r[::-1], pr[::-1]) for r, pr in curves], axis=0)
    return GRID, mean_precision


# ----------------------------------------------------------------------------------------------------------
# plots


@_styled
def placeholder(path: Path, title: str, text: str) -> Path:
    """A plot slot with a message (e.g. no robustness runs), so every report has the same files."""
    fig, axes = _figure()
    ax = axes[0, 0]
    ax.set_title(title)
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    ax.set_axis_off()
    return _save(fig, path)


@_styled
def plot_roc(series: Mapping[str, tuple | None], path: Path, title: str = "ROC",
             aurocs: Mapping[str, float | None] | None = None) -> Path:
    """series: {subset: (fpr, tpr) or None}; aurocs: the value shown in the legend per subset."""
    fig, axes = _figure()
    ax = axes[0, 0]
    ax.plot([0, 1], [0, 1], color="0.7", linewidth=0.8, linestyle=":", label="chance")
    for i, (name, points) in enumerate(series.items()):
        if points is None:
            continue
        value = (aurocs or {}).get(name)
        ax.plot(points[0], points[1], linewidth=1.5, linestyle=SUBSET_STYLES[i % len(SUBSET_STYLES)],
                label=f"{name} (AUROC {_fmt(value)})")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate (1 - specificity)",
           ylabel="true positive rate (sensitivity)", title=title)
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


@_styled
def plot_pr(series: Mapping[str, tuple | None], path: Path, title: str = "Precision-recall",
            auprcs: Mapping[str, float | None] | None = None,
            prevalences: Mapping[str, float | None] | None = None) -> Path:
    """series: {subset: (recall, precision) or None}; a dotted line at each subset's prevalence."""
    fig, axes = _figure()
    ax = axes[0, 0]
    for i, (name, points) in enumerate(series.items()):
        if points is None:
            continue
        linestyle = SUBSET_STYLES[i % len(SUBSET_STYLES)]
        value = (auprcs or {}).get(name)
        line = ax.plot(points[0], points[1], linewidth=1.5, linestyle=linestyle, drawstyle="steps-post",
                       label=f"{name} (AUPRC {_fmt(value)})")[0]
        prevalence = (prevalences or {}).get(name)
        if prevalence is not None:
            ax.axhline(prevalence, color=line.get_color(), linewidth=0.8, linestyle=":")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="recall (sensitivity)", ylabel="precision (PPV)", title=title)
    ax.legend(loc="upper right", fontsize=8)
    return _save(fig, path)


@_styled
def plot_calibration(calibrations: Mapping[str, dict], path: Path, title: str = "Calibration") -> Path:
    """calibrations: {subset: metrics.calibration(...) dict}: observed rate vs mean predicted probability."""
    fig, axes = _figure()
    ax = axes[0, 0]
    ax.plot([0, 1], [0, 1], color="0.7", linewidth=0.8, linestyle=":", label="perfectly calibrated")
    for i, (name, cal) in enumerate(calibrations.items()):
        if not cal.get("prob_pred"):
            continue
        ax.plot(cal["prob_pred"], cal["prob_true"], marker="o", markersize=3, linewidth=1.2,
                linestyle=SUBSET_STYLES[i % len(SUBSET_STYLES)], label=f"{name} (ECE {_fmt(cal.get('ece'))})")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="mean predicted probability", ylabel="observed positive rate",
           title=title)
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)


@_styled
def plot_confusion(matrices: Mapping[str, list], path: Path, title: str = "Confusion matrix") -> Path:
    """matrices: {subset: [[tn, fp], [fn, tp]]}, one panel per subset (at most 3)."""
    items = list(matrices.items())[:3]
    fig, axes = _figure(1, max(1, len(items)))
    for ax, (name, matrix) in zip(axes[0], items, strict=False):
        m = np.asarray(matrix, dtype=np.int64)
        ax.imshow(m, cmap="Blues", vmin=0, vmax=max(int(m.max()), 1))
        for (i, j), count in np.ndenumerate(m):
            ax.text(j, i, str(count), ha="center", va="center",
                    color="white" if count > m.max() / 2 else "black", fontsize=9)
        ax.set_xticks([0, 1], ["pred 0", "pred 1"])
        ax.set_yticks([0, 1], ["true 0", "true 1"])
        ax.set_title(name, fontsize=9)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


@_styled
def plot_robustness(entries: list[dict], path: Path, metric: str = "auroc",
                    baseline: Mapping[str, float | None] | None = None,
                    title: str = "Robustness to test-time noise") -> Path:
    """entries: [{modality, fraction, subset, auroc, auprc}]; one line per (modality, subset); baseline
    {subset: clean value} is drawn at fraction 0 when the entries do not have it."""
    fig, axes = _figure()
    ax = axes[0, 0]
    subsets = sorted({e["subset"] for e in entries})
    for modality in sorted({e["modality"] for e in entries}):
        for k, subset in enumerate(subsets):
            rows = sorted((e for e in entries if e["modality"] == modality and e["subset"] == subset),
                          key=lambda e: e["fraction"])
            if not rows:
                continue
            xs = [e["fraction"] for e in rows]
            ys = [np.nan if e[metric] is None else e[metric] for e in rows]
            clean = (baseline or {}).get(subset)
            if clean is not None and 0.0 not in xs:
                xs, ys = [0.0, *xs], [clean, *ys]
            ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.2,
                    linestyle=SUBSET_STYLES[k % len(SUBSET_STYLES)], label=f"{modality} noise, {subset}")
    ax.set(xlabel="fraction of time steps / pixels with noise", ylabel=metric.upper(), title=title)
    ax.legend(fontsize=8)
    return _save(fig, path)


@_styled
def plot_training(history: list[dict], path: Path, title: str = "Training",
                  val_metrics: list[str] | None = None) -> Path:
    """Loss (train, validation) and, below, validation metrics per epoch (`val_metrics`: history keys,
    default ["val_auroc"])."""
    fig, axes = _figure(2, 1, sharex=True)
    epochs = [row.get("epoch") for row in history]

    def column(key):
        return [np.nan if row.get(key) is None else row[key] for row in history]

    top, bottom = axes[0, 0], axes[1, 0]
    top.plot(epochs, column("train_loss"), marker="o", markersize=2, label="train loss")
    top.plot(epochs, column("val_loss"), marker="o", markersize=2, label="validation loss")
    top.set(ylabel="loss", title=title)
    top.legend(fontsize=8)
    if val_metrics is None:
        bottom.plot(epochs, column("val_auroc"), marker="o", markersize=2, color="C2", label="validation AUROC")
        bottom.set(xlabel="epoch", ylabel="val AUROC")
    else:
        for i, key in enumerate(val_metrics):
            bottom.plot(epochs, column(key), marker="o", markersize=2, color=f"C{2 + i}", label=key)
        bottom.set(xlabel="epoch", ylabel="validation")
    bottom.legend(fontsize=8)
    return _save(fig, path)


@_styled
def plot_regression(y_true, y_pred, path: Path, title: str = "Predicted vs observed",
                    unit: str = "") -> Path:
    """Scatter of predictions against observed values with the identity line (regression tasks)."""
    y, yhat = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    fig, axes = _figure()
    ax = axes[0, 0]
    ax.scatter(y, yhat, s=6, alpha=0.5)
    if y.size:
        low, high = float(min(y.min(), yhat.min())), float(max(y.max(), yhat.max()))
        ax.plot([low, high], [low, high], color="0.5", linewidth=0.8, linestyle=":")
    suffix = f" ({unit})" if unit else ""
    ax.set(xlabel=f"observed{suffix}", ylabel=f"predicted{suffix}", title=title)
    return _save(fig, path)


@_styled
def plot_residuals(y_true, y_pred, path: Path, title: str = "Residuals", unit: str = "") -> Path:
    """Residual (prediction - observed) against the prediction, and the residuals' histogram."""
    y, yhat = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    residual = yhat - y
    fig, axes = _figure(1, 2)
    left, right = axes[0, 0], axes[0, 1]
    left.scatter(yhat, residual, s=6, alpha=0.5)
    left.axhline(0.0, color="0.5", linewidth=0.8, linestyle=":")
    suffix = f" ({unit})" if unit else ""
    left.set(xlabel=f"predicted{suffix}", ylabel=f"residual{suffix}")
    right.hist(residual, bins=30, color="C0", alpha=0.8)
    right.axvline(0.0, color="0.5", linewidth=0.8, linestyle=":")
    right.set(xlabel=f"residual{suffix}", ylabel="rows")
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


@_styled
def plot_multiclass_roc(y_true, y_prob, class_names: list[str], path: Path, title: str = "ROC (one-vs-rest)",
                        aurocs: Mapping[str, float | None] | None = None) -> Path:
    """One-vs-rest ROC curve of every class present and absent in y_true (sklearn's roc_curve)."""
    y = np.asarray(y_true).astype(np.int64)
    p = np.asarray(y_prob, dtype=np.float64)
    fig, axes = _figure()
    ax = axes[0, 0]
    ax.plot([0, 1], [0, 1], color="0.7", linewidth=0.8, linestyle=":", label="chance")
    for k, name in enumerate(class_names):
        member = (y == k).astype(np.int64)
        if not 0 < member.sum() < len(member):
            continue
        fpr, tpr, _ = roc_curve(member, p[:, k])
        ax.plot(fpr, tpr, linewidth=1.2, label=f"{name} ({_fmt((aurocs or {}).get(name))})")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate", ylabel="true positive rate", title=title)
    ax.legend(loc="lower right", fontsize=6)
    return _save(fig, path)


@_styled
def plot_confusion_matrix(matrix, class_names: list[str], path: Path, title: str = "Confusion matrix") -> Path:
    """K x K counts (rows = true class, columns = predicted), shaded by the share of each true class."""
    m = np.asarray(matrix, dtype=np.int64)
    totals = m.sum(axis=1, keepdims=True)
    share = np.divide(m, totals, out=np.zeros(m.shape, dtype=np.float64), where=totals > 0)
    fig, axes = _figure()
    ax = axes[0, 0]
    ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    size = 8 if len(m) <= 5 else 6
    for (i, j), count in np.ndenumerate(m):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=size,
                color="white" if share[i, j] > 0.5 else "black")
    ticks = np.arange(len(m))
    ax.set_xticks(ticks, class_names, rotation=60, ha="right", fontsize=6)
    ax.set_yticks(ticks, class_names, fontsize=6)
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    return _save(fig, path)


@_styled
def plot_forest(entries: list[dict], path: Path, title: str, xlabel: str, reference: float | None = None) -> Path:
    """entries: [{task, model, value, ci_low, ci_high}]: one row per task, a point with its CI per model
    (offset within the row, one colour per model); `reference` draws a dotted vertical line (e.g. chance)."""
    tasks = list(dict.fromkeys(e["task"] for e in entries))
    models = list(dict.fromkeys(e["model"] for e in entries))
    fig = Figure(figsize=(6.5, 1.2 + 0.22 * len(tasks)), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    step = 0.7 / max(len(models), 1)
    for k, model in enumerate(models):
        rows = [e for e in entries if e["model"] == model and e.get("value") is not None]
        ys = [tasks.index(e["task"]) + (k - (len(models) - 1) / 2) * step for e in rows]
        xs = [e["value"] for e in rows]
        low = [e["value"] - e["ci_low"] if e.get("ci_low") is not None else 0.0 for e in rows]
        high = [e["ci_high"] - e["value"] if e.get("ci_high") is not None else 0.0 for e in rows]
        ax.errorbar(xs, ys, xerr=[low, high], fmt="o", markersize=3, linewidth=1, capsize=2, color=f"C{k % 10}",
                    label=model)
    if reference is not None:
        ax.axvline(reference, color="0.6", linewidth=0.8, linestyle=":")
    ax.set_yticks(range(len(tasks)), tasks, fontsize=7)
    ax.set_ylim(len(tasks) - 0.5, -0.5)
    ax.set(xlabel=xlabel, title=title)
    ax.legend(fontsize=7, loc="lower left")
    return _save(fig, path)
