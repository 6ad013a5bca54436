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

import polars as pl

from features.timeseries.layout import CONTINUOUS_COLUMNS

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
    rows = lf.join(train.lazy(), on="stay_id", how="semi")
    stats = rows.select(
        pl.len().alias("_n"),
        *[pl.col(c).cast(pl.Float64).mean().alias(f"m:{c}") for c in cols],
        *[pl.col(c).cast(pl.Float64).std(ddof=1).alias(f"s:{c}") for c in cols],
    ).collect()
    n_rows = int(stats["_n"][0])
    if n_rows < 2:
        raise ValueError(f"fit_normalizer: {n_rows} training rows; need at least 2 to estimate a std")
    means = tuple(float(stats[f"m:{c}"][0]) for c in cols)
    stds = tuple(max(float(stats[f"s:{c}"][0]), STD_FLOOR) for c in cols)
    return NormalizerState(columns=cols, means=means, stds=stds, n_rows=n_rows, metadata=dict(metadata or {}))


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
