"""Standardisation of the 12 continuous columns, fitted on the training split only (reference §1.11).

Statistics are taken over every discretised step of every training stay (as `create_normalizer_state.py`
does), std with N − 1 and a floor of 1e-7. One-hot and mask columns are never touched. The state is a
small JSON document (or a Parquet-ready frame), never a pickle.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from features.timeseries.layout import CONTINUOUS_COLUMNS
from warehouse.lake import ClinfuseError

STD_FLOOR = 1e-7
STATE_VERSION = 1


@dataclass(frozen=True)
class NormalizerState:
    columns: tuple[str, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    n_rows: int
    metadata: dict = field(default_factory=dict)  # e.g. timestep, task, cleaning mode, split seed

    def to_json(self) -> str:
        return json.dumps({
            "version": STATE_VERSION, "columns": list(self.columns), "means": list(self.means),
            "stds": list(self.stds), "n_rows": self.n_rows, "metadata": self.metadata,
        }, indent=2)

    @classmethod
    def from_json(cls, text: str) -> NormalizerState:
        raw = json.loads(text)
        if raw.get("version") != STATE_VERSION:
            raise ValueError(f"normalizer state version {raw.get('version')!r} is not {STATE_VERSION}")
        return cls(columns=tuple(raw["columns"]), means=tuple(float(x) for x in raw["means"]),
                   stds=tuple(float(x) for x in raw["stds"]), n_rows=int(raw["n_rows"]),
                   metadata=dict(raw.get("metadata", {})))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> NormalizerState:
        return cls.from_json(Path(path).read_text())

    def to_frame(self) -> pl.DataFrame:
        """column, mean, std, n_rows: one row per normalised column (for a Parquet asset)."""
        return pl.DataFrame({"column": list(self.columns), "mean": list(self.means),
                             "std": list(self.stds), "n_rows": [self.n_rows] * len(self.columns)})

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, metadata: dict | None = None) -> NormalizerState:
        n_rows = int(frame["n_rows"][0]) if frame.height else 0
        return cls(columns=tuple(frame["column"].to_list()), means=tuple(frame["mean"].to_list()),
                   stds=tuple(frame["std"].to_list()), n_rows=n_rows, metadata=dict(metadata or {}))


def fit_normalizer(
    discretized: pl.DataFrame | pl.LazyFrame,
    train_stay_ids: Iterable[int] | pl.Series | pl.DataFrame,
    columns: Iterable[str] = CONTINUOUS_COLUMNS,
    metadata: dict | None = None,
) -> NormalizerState:
    """Mean and std (ddof=1, floor 1e-7) of `columns` over the rows of the training stays only."""
    cols = tuple(columns)
    lf = discretized.lazy()
    train = _stay_id_frame(train_stay_ids).cast({"stay_id": lf.collect_schema()["stay_id"]})
    rows = lf.join(train.lazy(), on="stay_id", how="semi").select(cols).collect()
    n_rows = rows.height
    if n_rows < 2:
        raise ClinfuseError(f"normaliser: {n_rows} training time steps (the training split of this cohort is "
                            f"{'empty' if n_rows == 0 else 'one step'}); at least 2 are needed to estimate a std")
    means, stds = zip(*(_mean_std(rows[c]) for c in cols), strict=True)
    return NormalizerState(columns=cols, means=tuple(means), stds=tuple(max(s, STD_FLOOR) for s in stds),
                           n_rows=n_rows, metadata=dict(metadata or {}))


def _mean_std(column: pl.Series) -> tuple[float, float]:
    """Mean and std (ddof=1) of the non-null values, summed in ascending order: the result does not depend
    on the row order a parallel join happened to produce, so two builds give the same bytes."""
    values = np.sort(column.drop_nulls().cast(pl.Float64).to_numpy())
    if values.size == 0:  # a column the training steps never hold: the identity transform
        return 0.0, 1.0
    mean = float(values.sum() / values.size)
    if values.size < 2:
        return mean, 1.0
    return mean, float(np.sqrt(np.sort((values - mean) ** 2).sum() / (values.size - 1)))


def apply_normalizer(discretized: pl.DataFrame | pl.LazyFrame, state: NormalizerState):
    """(x − mean) / std on the state's columns, dtype kept; returns the same kind of frame it was given."""
    schema = discretized.collect_schema()
    missing = [c for c in state.columns if c not in schema]
    if missing:
        raise ValueError(f"apply_normalizer: frame lacks column(s) {missing}")
    return discretized.with_columns(
        ((pl.col(c).cast(pl.Float64) - m) / s).cast(schema[c]).alias(c)
        for c, m, s in zip(state.columns, state.means, state.stds, strict=True)
    )


def _stay_id_frame(ids: Iterable[int] | pl.Series | pl.DataFrame) -> pl.DataFrame:
    if isinstance(ids, pl.DataFrame):
        return ids.select(pl.col("stay_id").cast(pl.Int64)).unique()
    if isinstance(ids, pl.Series):
        return ids.cast(pl.Int64).alias("stay_id").to_frame().unique()
    return pl.DataFrame({"stay_id": list(ids)}, schema={"stay_id": pl.Int64}).unique()


_TASK_COHORTS = {"ihm": ("ihm_48h", "ICU stays of at least 48 h with an event in the first 48 h"),
                 "pheno": ("phenotyping", "ICU stays that pass the cohort rules")}


def empty_training_split(home, task: str, table: str) -> str:
    """One line saying why a task has no training stay to fit its normaliser on (an empty cohort, or a
    cohort too small to reach the training split)."""
    from features.progress import count_rows

    cohort, rule = _TASK_COHORTS.get(task, (task, "its rules"))
    n_cohort = count_rows(home, "cohorts", cohort)
    if n_cohort == 0:
        return (f"cohorts.{cohort} is empty: the source has no {rule}, so features.{table} and everything "
                f"built on it cannot be made (the other tasks are built)")
    return (f"features.{table}: none of the {n_cohort} stays of cohorts.{cohort} is in the training split "
            f"(too few subjects); nothing to fit the normaliser on")
