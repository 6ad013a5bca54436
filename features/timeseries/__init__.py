"""MedFuse-style clinical time series: event extraction (DuckDB), cleaning, discretisation, normalisation.

Pure functions on Polars frames / DuckDB relations (reference-pipelines.md §1.4-1.11); no Dagster.
The generic `discretize` function lives in `features.timeseries.discretize` and is not re-exported
here, where it would shadow the module of the same name.
"""

from features.timeseries.cleaning import CLEANING_MODES, clean_events
from features.timeseries.discretize import (
    Discretized,
    ihm_stay_ids,
    pheno_stay_ids,
    timeseries_ihm,
    timeseries_pheno,
)
from features.timeseries.events import extract_events
from features.timeseries.layout import (
    CHANNELS,
    COLUMNS,
    CONTINUOUS_COLUMN_INDICES,
    CONTINUOUS_COLUMNS,
    MASK_COLUMNS,
    n_bins,
)
from features.timeseries.normalizer import NormalizerState, apply_normalizer, fit_normalizer

__all__ = [
    "CHANNELS", "CLEANING_MODES", "COLUMNS", "CONTINUOUS_COLUMNS", "CONTINUOUS_COLUMN_INDICES",
    "Discretized", "MASK_COLUMNS", "NormalizerState", "apply_normalizer", "clean_events",
    "extract_events", "fit_normalizer", "ihm_stay_ids", "n_bins", "pheno_stay_ids", "timeseries_ihm",
    "timeseries_pheno",
]
