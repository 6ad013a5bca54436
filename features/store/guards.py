"""Leakage guards for training frames: both counts must be zero.

* `leakage_rows`: rows where any feature as-of time is after the row's prediction time.
* `subjects_crossing_splits`: subjects that appear under more than one split (in a frame, or in the
  home's `features.splits`).

`get_training_frame` runs both on every frame it builds and raises ClinfuseError on a violation; the
counts also go into the frame's metadata. Label columns carry no as-of and are outside the rule.
Pure functions of a frame (or of the home's splits); they import nothing else of the store but its names.
The check that each feature table's as-of bounds its own inputs is audit.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import polars as pl
import pyarrow as pa

from features.splits import subjects_in_several_splits
from features.store.names import ASOF_SUFFIX
from warehouse.lake import ClinfuseError, Home, parquet_glob


def _to_polars(frame, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Any frame (Arrow, Polars, pandas, DuckDB relation) as Polars, with only `columns` when given."""
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    if isinstance(frame, pl.DataFrame):
        return frame.select(columns) if columns is not None else frame
    if hasattr(frame, "to_arrow_table") and not isinstance(frame, pa.Table):  # DuckDB relation
        frame = frame.to_arrow_table()
    if not isinstance(frame, pa.Table) and type(frame).__module__.startswith("pandas"):
        frame = pa.Table.from_pandas(frame, preserve_index=False)
    if not isinstance(frame, pa.Table):
        raise TypeError(f"expected an Arrow, Polars or pandas frame, got {type(frame).__name__}")
    if columns is not None:
        frame = frame.select(list(columns))
    return pl.from_arrow(frame) if frame.num_columns else pl.DataFrame()


def asof_columns(frame) -> list[str]:
    """The feature as-of columns of a training frame: every `<view>__asof_time` column."""
    names = frame.column_names if isinstance(frame, pa.Table) else _to_polars(frame).columns
    return [c for c in names if c.endswith(ASOF_SUFFIX)]


def _as_datetime(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.List | pl.Array):
        expr = expr.list.max() if isinstance(dtype, pl.List) else expr.arr.max()
        dtype = dtype.inner
    if isinstance(dtype, pl.Datetime):  # aware -> naive UTC (lake times are naive UTC), never just dropped
        return expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None) if dtype.time_zone else expr
    if dtype == pl.Date:
        return expr.cast(pl.Datetime("us"))
    if dtype == pl.String:  # an offset in the text gives an aware time: to UTC as above
        parsed = expr.str.to_datetime(strict=True, time_zone="UTC")
        return parsed.dt.replace_time_zone(None)
    raise ClinfuseError(f"as-of column of type {dtype} is not a time")


def leakage_rows(frame, asof_cols: Sequence[str] | None = None, prediction_col: str = "prediction_time") -> int:
    """Rows whose feature as-of time (any of `asof_cols`; default: every `*__asof_time` column) is after
    the row's `prediction_col`. Must be zero. A null as-of (no feature value) or a null prediction time
    is not a leak. List-valued as-of columns (one time per sequence element) count by their maximum."""
    cols = list(asof_cols) if asof_cols is not None else asof_columns(frame)
    names = frame.column_names if isinstance(frame, pa.Table) else _to_polars(frame).columns
    missing = [c for c in [prediction_col, *cols] if c not in names]
    if missing:
        raise ClinfuseError(f"leakage check: the frame has no column {missing[0]!r}")
    if not cols:
        return 0
    df = _to_polars(frame, [prediction_col, *dict.fromkeys(cols)])
    t = _as_datetime(pl.col(prediction_col), df.schema[prediction_col])
    late = pl.any_horizontal([(_as_datetime(pl.col(c), df.schema[c]) > t).fill_null(False) for c in cols])
    return int(df.select(late.sum()).item() or 0)


def subjects_crossing_splits(frame_or_home, *, subject_col: str = "subject_id", split_col: str = "split") -> int:
    """Subjects that appear under more than one split. Must be zero.

    Given a Home: over its `features.splits`. Given a frame: over its (subject_col, split_col) pairs; a
    frame without a split column has no split to cross (0)."""
    if isinstance(frame_or_home, Home):
        table_dir = frame_or_home.table_dir("features", "splits")
        if not table_dir.is_dir():
            raise ClinfuseError(f"{frame_or_home.root}: features.splits is not materialised")
        frame = pl.scan_parquet(parquet_glob(table_dir), hive_partitioning=True).select(subject_col, split_col)
        return subjects_in_several_splits(frame).height
    names = frame_or_home.column_names if isinstance(frame_or_home, pa.Table) else _to_polars(frame_or_home).columns
    if split_col not in names:
        return 0
    if subject_col not in names:
        raise ClinfuseError(f"split check: the frame has {split_col!r} but no {subject_col!r} column")
    df = _to_polars(frame_or_home, [subject_col, split_col]).drop_nulls()
    return subjects_in_several_splits(df.with_columns(pl.col(split_col).cast(pl.String))).height


@dataclass
class GuardReport:
    """The guard counts of one training frame (both must be zero)."""

    rows: int
    leakage_rows: int
    crossing_subjects: int
    asof_columns: list[str] = field(default_factory=list)
    prediction_column: str = "prediction_time"

    @property
    def ok(self) -> bool:
        return self.leakage_rows == 0 and self.crossing_subjects == 0

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}

    def raise_on_violation(self) -> GuardReport:
        if self.leakage_rows:
            raise ClinfuseError(f"temporal leakage: {self.leakage_rows} of {self.rows} rows have a feature as-of "
                                f"time after {self.prediction_column} (columns {', '.join(self.asof_columns)})")
        if self.crossing_subjects:
            raise ClinfuseError(f"split leakage: {self.crossing_subjects} subjects appear in more than one split")
        return self


def check_frame(frame, asof_cols: Sequence[str] | None = None, prediction_col: str = "prediction_time",
                *, subject_col: str = "subject_id", split_col: str = "split") -> GuardReport:
    """Both guards on one frame, as a report."""
    cols = list(asof_cols) if asof_cols is not None else asof_columns(frame)
    rows = frame.num_rows if isinstance(frame, pa.Table) else _to_polars(frame).height
    return GuardReport(
        rows=rows,
        leakage_rows=leakage_rows(frame, cols, prediction_col) if cols else 0,
        crossing_subjects=subjects_crossing_splits(frame, subject_col=subject_col, split_col=split_col),
        asof_columns=cols, prediction_column=prediction_col,
    )


def frame_report(frame: pa.Table) -> dict:
    """The metadata `get_training_frame` attaches to its frame (views, lineage, guards)."""
    meta = (frame.schema.metadata or {}).get(b"clinfuse")
    if meta is None:
        raise ClinfuseError("this table was not built by get_training_frame (no clinfuse metadata)")
    return json.loads(meta)
