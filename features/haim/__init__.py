"""HAIM (Soenksen et al. 2022) feature table `features.haim`: demographics, time-series statistics, vision and
note embeddings per chest X-ray sample of `cohorts.haim_samples`, strictly before its prediction time
(`fixed` mode, default) or as HAIM's code computes them (`faithful` mode). See `features.haim.build`."""

from features.haim.build import (
    build_haim,
    feature_times,
    haim_table_name,
    select_sources,
    source_times,
)
from features.haim.cohort import build_haim_samples, describe_haim_samples
from features.haim.layout import (
    CHART_SIGNALS,
    DEFAULT_NOTE_TYPES,
    HAIM_DIMENSIONS,
    LAB_SIGNALS,
    PROCEDURE_SIGNALS,
    STATISTICS,
    block_columns,
    feature_columns,
    note_prefix,
)
from features.haim.stats import series_statistics
from features.haim.time_weights import fixed_time_weights, haim_time_weights, weighted_average

__all__ = [
    "CHART_SIGNALS", "DEFAULT_NOTE_TYPES", "HAIM_DIMENSIONS", "LAB_SIGNALS", "PROCEDURE_SIGNALS", "STATISTICS",
    "block_columns", "build_haim", "build_haim_samples", "describe_haim_samples", "feature_columns", "feature_times", "fixed_time_weights", "haim_table_name",
    "haim_time_weights", "note_prefix", "select_sources", "series_statistics", "source_times", "weighted_average",
]
