"""Stay-by-stay comparison of time series with a reference's matrices (MedFuse's discretizer output): the
one comparison the faithful-mode test and the time-series benchmark assert with."""

from __future__ import annotations

import numpy as np
import polars as pl

from features.timeseries.layout import COLUMNS


def stay_matrices(timeseries: pl.DataFrame) -> dict[int, np.ndarray]:
    """stay_id -> its (steps x 76) float64 matrix, rows in step order (steps must be 0..n-1)."""
    out = {}
    for (stay_id,), part in timeseries.sort("stay_id", "step").group_by(["stay_id"], maintain_order=True):
        if part["step"].to_list() != list(range(part.height)):
            raise ValueError(f"stay {stay_id}: steps are not 0..{part.height - 1}")
        out[stay_id] = part.select(COLUMNS).to_numpy().astype(np.float64)
    return out


def compare_stays(got: dict[int, np.ndarray], expected: dict[int, np.ndarray], atol: float = 1e-5) -> dict:
    """What differs between two {stay_id: matrix} maps: stays missing or extra, shapes, and cells further
    apart than `atol` (+ 1e-7 relative, numpy's allclose). `equal` is True when nothing does."""
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    shapes, cells, worst = [], [], 0.0
    for stay_id in sorted(set(got) & set(expected)):
        a, b = got[stay_id], expected[stay_id]
        if a.shape != b.shape:
            shapes.append(stay_id)
            continue
        if a.size:
            worst = max(worst, float(np.abs(a - b).max()))
        if not np.allclose(a, b, rtol=1e-7, atol=atol):
            cells.append(stay_id)
    return {"equal": not (missing or extra or shapes or cells), "stays": len(expected),
            "rows": int(sum(m.shape[0] for m in expected.values())), "max_abs_diff": worst,
            "missing": missing, "extra": extra, "shape_differs": shapes, "cells_differ": cells}
