"""HAIM's 11 time-series statistics (reference-pipelines.md §4.5), over every (sample, signal) series at once.

Per series x_0..x_{n-1} (values in the order given by `order_by`):

    max, min, mean, variance (ddof 1), meandiff = mean(Δx), meanabsdiff = mean|Δx|, maxdiff = max|Δx|,
    sumabsdiff = Σ|Δx|, diff = x_{n-1} − x_0, npeaks (scipy.signal.find_peaks with default arguments),
    trend = least-squares slope of x against 0..n−1 (np.polyfit deg 1; 0 when n = 1)

Undefined values (variance of one value, differences of one value) are 0, as HAIM's `fillna(0)`; a
(sample, signal) without values is absent from the output (the caller's matrix holds zeros there).

`append_zero=True` reproduces HAIM's artefact: its `get_ts_emb` appends a row of zeros to the pivot table
before computing, so every series ends with an extra 0 (and diff = −first, min <= 0, ...).

Everything is Polars group_by / window expressions; no Python loop over samples or signals. Peaks: a
maximal run of equal values x[a..b] (a plateau of length >= 1) is one peak iff it has a neighbour on both
sides (a >= 1, b <= n−2) and both neighbours are strictly smaller — exactly find_peaks' local-maximum rule
(plateaus count once, at their middle; edges never count).
"""

from __future__ import annotations

import polars as pl

from features.haim.layout import STATISTICS

Frame = pl.DataFrame | pl.LazyFrame


def series_statistics(
    events: Frame,
    keys: list[str],
    order_by: list[str],
    value: str = "value",
    *,
    append_zero: bool = False,
) -> pl.DataFrame:
    """One row per distinct `keys` with the 11 statistics (Float64 columns named as STATISTICS).

    `events` needs `keys`, `order_by` and `value`; rows with a null or NaN value are ignored (HAIM's dropna).
    Ties in `order_by` must be broken by the caller (add a unique tie-breaker) for a deterministic result.
    """
    lf = events.lazy().select(*keys, *order_by, pl.col(value).cast(pl.Float64).alias("_x"))
    lf = lf.filter(pl.col("_x").is_not_null() & pl.col("_x").is_not_nan())
    lf = lf.sort([*keys, *order_by]).with_columns(pl.int_range(pl.len()).over(keys).alias("_pos"))
    if append_zero:
        zeros = lf.group_by(keys).agg(pl.len().alias("_pos")).with_columns(
            pl.lit(0.0).alias("_x"), pl.col("_pos").cast(pl.Int64))
        lf = pl.concat([lf.select(*keys, "_pos", "_x").with_columns(pl.col("_pos").cast(pl.Int64)),
                        zeros.select(*keys, "_pos", "_x")]).sort([*keys, "_pos"])
    else:
        lf = lf.select(*keys, pl.col("_pos").cast(pl.Int64), "_x")

    x = pl.col("_x")
    pos = pl.col("_pos").cast(pl.Float64)
    lf = lf.with_columns(x.diff().over(keys).alias("_d"))
    d = pl.col("_d")
    moments = lf.group_by(keys).agg(
        x.max().alias("max"),
        x.min().alias("min"),
        x.mean().alias("mean"),
        x.var(ddof=1).alias("variance"),
        d.mean().alias("meandiff"),
        d.abs().mean().alias("meanabsdiff"),
        d.abs().max().alias("maxdiff"),
        d.abs().sum().alias("sumabsdiff"),
        (x.last() - x.first()).alias("diff"),
        (((pos - pos.mean()) * (x - x.mean())).sum() / ((pos - pos.mean()) ** 2).sum()).alias("trend"),
    )
    peaks = count_peaks(lf, keys)
    out = moments.join(peaks, on=keys, how="left").with_columns(pl.col("npeaks").fill_null(0).cast(pl.Float64))
    return (
        out.select(*keys, *[pl.col(s).cast(pl.Float64).fill_nan(0.0).fill_null(0.0) for s in STATISTICS])
        .sort(keys)
        .collect()
    )


def count_peaks(sorted_series: pl.LazyFrame, keys: list[str], value: str = "_x", pos: str = "_pos") -> pl.LazyFrame:
    """Number of find_peaks peaks per `keys` group of a frame sorted by (keys, pos): keys + npeaks (UInt32)."""
    x = pl.col(value)
    starts = (x != x.shift(1)).over(keys).fill_null(True)  # the first row of a group starts a run
    runs = (
        sorted_series.with_columns(starts.cast(pl.Int64).cum_sum().over(keys).alias("_run"))
        .group_by([*keys, "_run"]).agg(x.first().alias("_v"))
        .sort([*keys, "_run"])
    )
    v = pl.col("_v")
    is_peak = ((v.shift(1) < v) & (v.shift(-1) < v)).over(keys).fill_null(False)
    return runs.with_columns(is_peak.alias("_peak")).group_by(keys).agg(pl.col("_peak").sum().alias("npeaks"))
