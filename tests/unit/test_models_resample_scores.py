"""The vectorised bootstrap scoring equals scikit-learn's functions on every resample: binary (one label,
several labels), multiclass; with tied scores, one-class resamples and threshold metrics without predictions."""

from __future__ import annotations

import numpy as np
import pytest

from models import metrics as M


def _assert_same(fast: dict, reference: dict):
    assert set(fast) == set(reference)
    for name in reference:
        np.testing.assert_allclose(fast[name], reference[name], rtol=0, atol=1e-12, equal_nan=True, err_msg=name)


@pytest.mark.parametrize("n_labels", [1, 4])
def test_binary_resamples_equal_sklearn(n_labels):
    rng = np.random.default_rng(n_labels)
    n = 40
    y = (rng.random((n, n_labels)) < 0.2).astype(np.int64)
    y[:, -1] = 0
    y[:3, -1] = 1  # a rare label: many resamples lack it
    p = np.round(rng.random((n, n_labels)), 1)  # one decimal: many tied scores
    p[:, 0] = np.where(rng.random(n) < 0.3, 0.0, p[:, 0])  # and resamples with no positive prediction
    if n_labels > 1:
        y[:, 1] = 1  # a label with one class everywhere: never defined
    idx = rng.integers(0, n, size=(60, n))
    fast = M._score_resamples(y, p, idx, M.METRICS, 0.5)
    reference = M._score_resamples_sklearn(y, p, idx, M.METRICS, 0.5)
    _assert_same(fast[0], reference[0])
    _assert_same(fast[1], reference[1])
    assert np.isnan(fast[1]["auroc"][:, -1]).any()  # one-class resamples are undefined, not 0


def test_multiclass_resamples_equal_sklearn():
    rng = np.random.default_rng(3)
    n, k = 50, 4
    y = rng.integers(0, k - 1, n)
    y[:2] = k - 1  # a rare class
    logits = np.round(rng.normal(0, 1, (n, k)), 1) + np.eye(k)[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    p[0] = [1.0, 0.0, 0.0, 0.0]  # a zero probability of the true class: the log loss clips it
    idx = rng.integers(0, n, size=(60, n))
    fast = M._score_multiclass_resamples(y, p, idx, M.MULTICLASS_METRICS)
    reference = M._score_multiclass_resamples_sklearn(y, p, idx, M.MULTICLASS_METRICS)
    _assert_same(fast[0], reference[0])
    _assert_same(fast[1], reference[1])
