"""Helpers over the modality arrays of M3HData."""

from __future__ import annotations

import numpy as np

from models.m3h.data import M3HData


def stacked_inputs(data: M3HData, rows: np.ndarray) -> np.ndarray:
    """The standardised, imputed inputs of every modality side by side (the autoencoder's target)."""
    return np.hstack([data.inputs[m][rows] for m in data.inputs if data.dims[m] > 0])
