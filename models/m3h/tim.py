"""The task-interaction (TIM) score of M3H (models-reference.md C4, §6.1), over sampled task subsets.

    δ_ij = mean over S of [ f_i(S ∪ {i, j}) − f_i(S ∪ {i}) ]

f_i(set) = the score of task i (AUROC, macro AUROC, R²) of a model trained jointly on `set`, read on the
SELECTION rows (validation by default; never test unless the faithful mode asks for it). S runs over the empty
set plus `n_subsets` subsets of size 1..max_subset drawn (seeded) from the tasks other than i and j — a sampled,
uniform (Banzhaf-type) average, as C4 suggests; max_subset = 0 gives Fig. 6's pairs. Each task set is trained once
and cached, so f({i, j}) serves both δ_ij and δ_ji.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations

import numpy as np


def sample_subsets(others: list[str], max_subset: int, n_subsets: int, rng: np.random.Generator) -> list[tuple]:
    """The empty set, then up to `n_subsets` distinct subsets of `others` of size 1..max_subset."""
    subsets: list[tuple] = [()]
    if max_subset <= 0 or not others:
        return subsets
    pool = [c for k in range(1, min(max_subset, len(others)) + 1) for c in combinations(sorted(others), k)]
    for i in rng.permutation(len(pool))[:n_subsets]:
        subsets.append(pool[int(i)])
    return subsets


def tim_matrix(tasks: list[str], score_of: Callable[[frozenset], dict[str, float]], *, max_subset: int = 0,
               n_subsets: int = 1, seed: int = 0) -> dict:
    """{"tasks", "delta" [T, T] (NaN on the diagonal or where undefined), "sets_trained", "subsets"}.
    `score_of(task_set)` trains (or recalls) a model on the set and returns its selection score per task."""
    cache: dict[frozenset, dict[str, float]] = {}

    def f(task_set) -> dict[str, float]:
        key = frozenset(task_set)
        if key not in cache:
            cache[key] = score_of(key)
        return cache[key]

    rng = np.random.default_rng(seed)
    n = len(tasks)
    delta = np.full((n, n), np.nan)
    used: dict[str, list[list[str]]] = {}
    for a, i in enumerate(tasks):
        for b, j in enumerate(tasks):
            if a == b:
                continue
            others = [t for t in tasks if t not in (i, j)]
            subsets = sample_subsets(others, max_subset, n_subsets, rng)
            gains = [f({*s, i, j})[i] - f({*s, i})[i] for s in subsets]
            gains = [g for g in gains if np.isfinite(g)]
            delta[a, b] = float(np.mean(gains)) if gains else np.nan
            used[f"{i}|{j}"] = [list(s) for s in subsets]
    return {"tasks": list(tasks), "delta": delta, "sets_trained": len(cache), "subsets": used,
            "scores": {"+".join(sorted(k)): v for k, v in cache.items()}}


def rank_matrix(delta: np.ndarray) -> np.ndarray:
    """Fig. 6's cells: per source row, the rank of δ_ij among the row's positive (1 = largest) or negative
    (−1 = most negative) values; 0 where δ is NaN or 0."""
    ranks = np.zeros_like(delta)
    for r, row in enumerate(delta):
        pos = [(v, c) for c, v in enumerate(row) if np.isfinite(v) and v > 0]
        neg = [(v, c) for c, v in enumerate(row) if np.isfinite(v) and v < 0]
        for k, (_, c) in enumerate(sorted(pos, reverse=True), start=1):
            ranks[r, c] = k
        for k, (_, c) in enumerate(sorted(neg), start=1):
            ranks[r, c] = -k
    return ranks


def heatmap_png(tasks: list[str], delta: np.ndarray, title: str) -> bytes:
    """The TIM matrix as a PNG: colour = δ_ij (diverging, 0 = white), text = Fig. 6's signed rank."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ranks = rank_matrix(delta)
    size = max(4.0, 0.45 * len(tasks) + 2.5)
    fig, ax = plt.subplots(figsize=(size, size * 0.85), dpi=100)
    bound = float(np.nanmax(np.abs(delta))) if np.isfinite(delta).any() else 1.0
    image = ax.imshow(np.ma.masked_invalid(delta), cmap="RdBu_r", vmin=-bound or -1, vmax=bound or 1)
    ax.set_xticks(range(len(tasks)), tasks, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(tasks)), tasks, fontsize=7)
    ax.set_xlabel("added task j")
    ax.set_ylabel("source task i")
    for r in range(len(tasks)):
        for c in range(len(tasks)):
            if np.isfinite(delta[r, c]):
                ax.text(c, r, f"{int(ranks[r, c])}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, label="δ_ij (score of i with j − without j)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
