"""Discretiser: cleaned events -> a regular grid of 76 values per step (reference §1.10), vectorised.

Rules (mimic3-benchmarks `Discretizer`, start_time='zero', impute='previous', store_masks=True):
* the grid starts at ICU intime; N = int(T/Δ + 1 − 1e-6) steps for a period of T hours;
* an event t hours after intime goes to bin int(t/Δ − 1e-6) (bin k covers (kΔ, (k+1)Δ], t = 0 -> bin 0;
  int() truncates toward zero, so −Δ < t < 0 also lands in bin 0); events with t > T + 1e-6 are skipped;
* within a bin the last event (by time) of a channel wins;
* an unobserved (bin, channel) takes the channel's last observed value, else its normal value; the mask
  is 1 only for observed cells;
* categorical channels are one-hot over the config's category list. An unknown category string (the
  reference crashes) becomes an all-zero one-hot with mask 1 and is counted in `Discretized.unseen`.

Implementation: encode each event as one number (the value, or the category index, −1 = unseen), keep the
last per (stay, bin, channel), spread the 17 channels into columns on a full stay × step grid, forward
fill within each stay, fill the normal value, then expand one-hots and masks.
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from features.mimic3_benchmarks import discretizer_config
from features.timeseries.layout import CHANNELS, COLUMNS, EPS

IHM_HOURS = 48.0
UNSEEN_CODE = -1

_CFG = discretizer_config()


class Discretized(NamedTuple):
    """`frame`: stay_id, step, asof_hours, then the 76 columns in reference order (one row per stay and
    step). `asof_hours` = hours after intime of the latest event that went into the step's values (the
    feature table's as-of time; null while only normal values are used).
    `unseen`: variable, value_str, n — category strings not in the config, met inside the grid."""

    frame: pl.DataFrame
    unseen: pl.DataFrame

    @property
    def n_unseen(self) -> int:
        return int(self.unseen["n"].sum()) if self.unseen.height else 0


def discretize(
    events: pl.LazyFrame | pl.DataFrame,
    stays: pl.LazyFrame | pl.DataFrame,
    timestep: float = 2.0,
    horizon_hours: float | None = None,
    dtype: type[pl.DataType] | pl.DataType = pl.Float32,
) -> Discretized:
    """Discretise cleaned events (output of `clean_events`) of the given stays.

    `events`: stay_id, variable, value_str, value_num and either `hours` or `charttime` (then `stays`
    needs `intime`). `stays`: stay_id and, when `horizon_hours` is None, the period T per stay from
    `period_hours`, else `los` (days, ×24), else outtime − intime. Stays without events get a grid of
    normal values (mask 0); the task helpers below drop them as the reference does.
    """
    if timestep <= 0:
        raise ValueError(f"timestep must be positive, got {timestep}")
    periods = _periods(stays.lazy(), timestep, horizon_hours)
    coded = _binned_codes(_with_hours(events.lazy(), stays.lazy()), periods, timestep)
    unseen = (
        coded.filter(pl.col("_code") == UNSEEN_CODE)
        .group_by("variable", "value_str").agg(pl.len().cast(pl.Int64).alias("n"))
        .sort("variable", "value_str")
    )
    grid = _grid(periods).join(_last_per_bin(coded), on=["stay_id", "step"], how="left")
    # A step is known no earlier than its start: an empty step after the last event must not look older than
    # it is, or point-in-time retrieval would hand out steps that begin after the prediction time.
    last_event = pl.col("_bin_max_hours").cum_max().forward_fill().over("stay_id")
    step_start = pl.when(last_event.is_not_null()).then(pl.col("step").cast(pl.Float64) * timestep)
    asof = pl.max_horizontal(last_event, step_start).alias("asof_hours")
    grid = grid.sort("stay_id", "step").select("stay_id", "step", asof, *_step_columns(dtype))
    frame, unseen_frame = pl.collect_all([grid, unseen])
    return Discretized(frame=frame, unseen=unseen_frame)


# ---------------------------------------------------------------- task helpers


def ihm_stay_ids(events: pl.LazyFrame | pl.DataFrame, stays: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """Stays the IHM task keeps: LoS (24·los h) >= 48 − 1e-6 and >= 1 event with −1e-6 < t < 48 + 1e-6."""
    return _stays_with_rows(_ihm_rows(events, stays))


def pheno_stay_ids(events: pl.LazyFrame | pl.DataFrame, stays: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """Stays the phenotyping task keeps: LoS non-null and >= 1 event with −1e-6 < t < LoS_h + 1e-6."""
    return _stays_with_rows(_pheno_rows(events, stays))


def timeseries_ihm(
    events: pl.LazyFrame | pl.DataFrame,
    stays: pl.LazyFrame | pl.DataFrame,
    timestep: float = 2.0,
    dtype: type[pl.DataType] | pl.DataType = pl.Float32,
) -> Discretized:
    """First 48 h of each eligible stay (24 × 76 at 2 h, 48 × 76 at 1 h)."""
    rows = _ihm_rows(events, stays)
    keep = _stays_with_rows(rows).lazy()
    return discretize(rows, stays.lazy().join(keep, on="stay_id"), timestep=timestep,
                      horizon_hours=IHM_HOURS, dtype=dtype)


def timeseries_pheno(
    events: pl.LazyFrame | pl.DataFrame,
    stays: pl.LazyFrame | pl.DataFrame,
    timestep: float = 2.0,
    dtype: type[pl.DataType] | pl.DataType = pl.Float32,
) -> Discretized:
    """Whole ICU stay of each eligible stay; T = LoS hours as the listfile writes it (6 decimals)."""
    rows = _pheno_rows(events, stays)
    keep = _stays_with_rows(rows).lazy()
    periods = _los_hours(stays.lazy()).join(keep, on="stay_id") \
        .select("stay_id", pl.col("los_hours").round(6).alias("period_hours"))
    return discretize(rows, periods, timestep=timestep, horizon_hours=None, dtype=dtype)


def step_inputs(
    events: pl.LazyFrame | pl.DataFrame,
    stays: pl.LazyFrame | pl.DataFrame,
    task: str,
    timestep: float = 2.0,
) -> pl.DataFrame:
    """stay_id, step, hours: every cleaned event that enters the task's grid (`ihm` or `pheno`), with the step
    whose values it sets. Its time is an input of that step and, through forward filling, of every later one:
    what the feature store's as-of audit checks each step's as-of against (features.store.audit)."""
    if task == "ihm":
        rows = _ihm_rows(events, stays)
        periods = _periods(stays.lazy(), timestep, IHM_HOURS)
    elif task == "pheno":
        rows = _pheno_rows(events, stays)
        periods = _periods(_los_hours(stays.lazy()).select("stay_id", pl.col("los_hours").round(6)
                                                           .alias("period_hours")), timestep, None)
    else:
        raise ValueError(f"task must be ihm or pheno, got {task!r}")
    return _binned_codes(rows, periods, timestep).select("stay_id", "step", "hours").collect()


def _ihm_rows(events, stays) -> pl.LazyFrame:
    long_enough = _los_hours(stays.lazy()).filter(pl.col("los_hours") >= IHM_HOURS - EPS)
    return _rows_in_window(events, stays, long_enough.select("stay_id", pl.lit(IHM_HOURS).alias("_upper")))


def _pheno_rows(events, stays) -> pl.LazyFrame:
    los = _los_hours(stays.lazy()).filter(pl.col("los_hours").is_not_null())
    return _rows_in_window(events, stays, los.select("stay_id", pl.col("los_hours").alias("_upper")))


def _rows_in_window(events, stays, uppers: pl.LazyFrame) -> pl.LazyFrame:
    """The task's event rows: −1e-6 < t < upper + 1e-6, for stays listed in `uppers`."""
    hours = pl.col("hours")
    return _with_hours(events.lazy(), stays.lazy()).join(uppers, on="stay_id", how="inner") \
        .filter((hours > -EPS) & (hours < pl.col("_upper") + EPS)).drop("_upper")


def _stays_with_rows(rows: pl.LazyFrame) -> pl.DataFrame:
    return rows.select("stay_id").unique().sort("stay_id").collect()


# ---------------------------------------------------------------- building blocks


def _los_hours(stays: pl.LazyFrame) -> pl.LazyFrame:
    """stay_id, los_hours: 24 × icustays.los (what the reference uses), else outtime − intime."""
    names = stays.collect_schema().names()
    if "los" in names:
        hours = pl.col("los").cast(pl.Float64) * 24.0
    elif {"intime", "outtime"} <= set(names):
        hours = (pl.col("outtime") - pl.col("intime")).dt.total_microseconds() / 3.6e9
    else:
        raise ValueError("stays need `los` (days) or intime/outtime to know the length of stay")
    return stays.select("stay_id", hours.alias("los_hours"))


def _periods(stays: pl.LazyFrame, timestep: float, horizon_hours: float | None) -> pl.LazyFrame:
    """stay_id, period_hours (T), n_steps = int(T/Δ + 1 − 1e-6); stays without a usable T are dropped."""
    names = stays.collect_schema().names()
    if horizon_hours is not None:
        base = stays.select("stay_id", pl.lit(float(horizon_hours)).alias("period_hours"))
    elif "period_hours" in names:
        base = stays.select("stay_id", pl.col("period_hours").cast(pl.Float64))
    else:
        base = _los_hours(stays).rename({"los_hours": "period_hours"})
    n_steps = (pl.col("period_hours") / timestep + 1.0 - EPS).cast(pl.Int64)  # int(): truncation
    return base.unique("stay_id", keep="first").with_columns(n_steps.alias("n_steps")) \
        .filter(pl.col("n_steps") >= 1)


def _with_hours(events: pl.LazyFrame, stays: pl.LazyFrame) -> pl.LazyFrame:
    if "hours" in events.collect_schema().names():
        return events
    intime = stays.select("stay_id", "intime").unique("stay_id", keep="first")
    hours = (pl.col("charttime") - pl.col("intime")).dt.total_microseconds() / 3.6e9
    return events.join(intime, on="stay_id", how="inner").with_columns(hours.alias("hours")).drop("intime")


def _category_codes() -> pl.LazyFrame:
    rows = [(ch, v, i) for ch in _CFG.categorical_channels for i, v in enumerate(_CFG.possible_values[ch])]
    return pl.LazyFrame(rows, schema={"variable": pl.String, "value_str": pl.String, "_cat": pl.Int64},
                        orient="row")


def _binned_codes(events: pl.LazyFrame, periods: pl.LazyFrame, timestep: float) -> pl.LazyFrame:
    """Events inside their stay's grid with `step` and `_code` (value, or category index / −1)."""
    step = (pl.col("hours") / timestep - EPS).cast(pl.Int64)  # int(): truncation toward zero
    categorical = pl.col("variable").is_in(_CFG.categorical_channels)
    code = pl.when(categorical).then(pl.col("_cat").fill_null(UNSEEN_CODE).cast(pl.Float64)) \
        .otherwise(pl.col("value_num"))
    return (
        events.filter(pl.col("variable").is_in(CHANNELS))
        .join(periods, on="stay_id", how="inner")
        .filter(pl.col("hours") <= pl.col("period_hours") + EPS)
        .with_columns(step.alias("step"))
        .filter((pl.col("step") >= 0) & (pl.col("step") < pl.col("n_steps")))
        .join(_category_codes(), on=["variable", "value_str"], how="left")
        .with_columns(code.alias("_code"))
        .filter(pl.col("_code").is_not_null())
    )


def _last_per_bin(coded: pl.LazyFrame) -> pl.LazyFrame:
    """stay_id, step, _bin_max_hours, and one column per channel: the code of the last event in the bin
    (null if none)."""
    last = (
        coded.sort("stay_id", "step", "variable", "hours", maintain_order=True)
        .group_by("stay_id", "step", "variable").agg(pl.col("_code").last(), pl.col("hours").max())
    )
    var = pl.col("variable")
    return last.group_by("stay_id", "step").agg(
        pl.col("hours").max().alias("_bin_max_hours"),
        *[pl.col("_code").filter(var == ch).first().alias(ch) for ch in CHANNELS],
    )


def _grid(periods: pl.LazyFrame) -> pl.LazyFrame:
    steps = pl.int_ranges(0, pl.col("n_steps"), dtype=pl.Int32).alias("step")
    return periods.select("stay_id", steps).explode("step")


def _normal_code(channel: str) -> float:
    normal = _CFG.normal_values[channel]
    if _CFG.is_categorical[channel]:
        return float(_CFG.possible_values[channel].index(normal))
    return float(normal)


def _step_columns(dtype) -> list[pl.Expr]:
    """The 76 output expressions on the (sorted) grid: imputed values / one-hots, then masks."""
    exprs: list[pl.Expr] = []
    for ch in CHANNELS:
        filled = pl.col(ch).forward_fill().over("stay_id").fill_null(_normal_code(ch))
        if _CFG.is_categorical[ch]:
            exprs += [(filled == i).cast(dtype).alias(f"{ch}->{v}")
                      for i, v in enumerate(_CFG.possible_values[ch])]
        else:
            exprs.append(filled.cast(dtype).alias(ch))
    exprs += [pl.col(ch).is_not_null().cast(dtype).alias(f"mask->{ch}") for ch in CHANNELS]
    assert [e.meta.output_name() for e in exprs] == list(COLUMNS)
    return exprs
