"""The baselines' first pipeline step, apart from `models.baselines` so that loading the graph (which reads
the baseline names) does not import scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


class ObservedColumns(TransformerMixin, BaseEstimator):
    """Keeps the columns that have at least one value in the rows it is fitted on: an all-missing column
    carries nothing, and scikit-learn's HistGradientBoosting fails on one (its binning needs a value)."""

    def fit(self, X, y=None):
        self.keep_ = np.flatnonzero(~np.isnan(np.asarray(X, dtype=np.float64)).all(axis=0))
        return self

    def transform(self, X):
        return np.asarray(X)[:, self.keep_]
