"""Time weights and weighted averages of embeddings over earlier images / notes (reference §4.6, §4.7).

HAIM (faithful): w_i = (t_i − t_min) / (t_max − t_min) over the images kept for a sample; the earliest image
gets weight 0 (it never contributes), and a single image — or images that share one time — gives 0/0 = NaN,
so np.average returns NaN and HAIM's NaN check replaces the vector by zeros. Notes: w = hours since
admittime (raw, may be <= 0), one weight per chunk; weights summing to 0 give zeros.

fixed (default): w_i = 1 + (t_i − t_min) / (t_max − t_min) (1 for every item when t_max = t_min), then
normalised to sum 1: weights grow linearly with time from 1 (earliest) to 2 (latest), every earlier item
contributes, and a single earlier item gets weight 1. The same scheme is used for images and notes (one
weight per note, not per chunk). No earlier item -> zeros, flagged by the caller.

`weighted_average` is one sparse matrix product for all samples: no loop over samples.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import sparse


def _seconds(time: str) -> pl.Expr:
    return pl.col(time).dt.epoch("us").cast(pl.Float64) / 1e6


def fixed_time_weights(group: str | list[str], time: str) -> pl.Expr:
    """1 + (t − t_min)/(t_max − t_min) per group (1 when all times are equal), normalised to sum 1."""
    t = _seconds(time)
    t_min, t_max = t.min().over(group), t.max().over(group)
    raw = pl.when(t_max > t_min).then(1.0 + (t - t_min) / (t_max - t_min)).otherwise(pl.lit(1.0))
    return raw / raw.sum().over(group)


def haim_time_weights(group: str | list[str], time: str) -> pl.Expr:
    """HAIM's (t − t_min)/(t_max − t_min) per group; NaN (0/0) when all times of the group are equal."""
    t = _seconds(time)
    t_min, t_max = t.min().over(group), t.max().over(group)
    return (t - t_min) / (t_max - t_min)


def weighted_average(
    rows: np.ndarray,
    items: np.ndarray,
    weights: np.ndarray,
    matrix: np.ndarray,
    n_rows: int,
    *,
    nan_rows_to_zero: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Σ_i w_i·matrix[item_i] / Σ_i w_i for each output row; returns (averages float32 (n_rows, dim), valid mask).

    A row is invalid (zeros) when it has no item, when its weights sum to 0 or contain NaN (np.average's
    ZeroDivisionError / NaN result in HAIM), or — with `nan_rows_to_zero` (HAIM's NaN check) — when any of
    its items' vectors has a NaN. Without it, NaN entries of `matrix` count as 0.
    """
    dim = matrix.shape[1]
    out = np.zeros((n_rows, dim), dtype=np.float32)
    if len(rows) == 0:
        return out, np.zeros(n_rows, dtype=bool)
    rows = np.asarray(rows, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    bad_weight = np.zeros(n_rows, dtype=bool)
    np.logical_or.at(bad_weight, rows, ~np.isfinite(weights))
    item_nan = np.isnan(matrix).any(axis=1)
    bad_vector = np.zeros(n_rows, dtype=bool)
    if nan_rows_to_zero:
        np.logical_or.at(bad_vector, rows, item_nan[items])
    w = np.where(np.isfinite(weights), weights, 0.0)
    clean = np.nan_to_num(matrix.astype(np.float64, copy=False), nan=0.0)
    num = sparse.csr_matrix((w, (rows, items)), shape=(n_rows, matrix.shape[0])) @ clean
    den = np.bincount(rows, weights=w, minlength=n_rows)
    present = np.bincount(rows, minlength=n_rows) > 0
    valid = present & ~bad_weight & ~bad_vector & (den != 0)
    out[valid] = (num[valid] / den[valid, None]).astype(np.float32)
    return out, valid
