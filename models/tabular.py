"""Tabular views of the training frames: one feature matrix X and its targets per frame, for the baselines.

`TabularTask` is what `models.baselines` fits and evaluates; every model family provides one for its frame
(`tabular_task(home, frame)` dispatches). The rows, splits (by subject) and labels are the frame's own, so a
baseline is scored on the same test rows as the deep models of the same frame.

Views built here:

- `ihm`, `pheno` (one row per ICU stay, PARTIAL): per-stay statistics of the frame's raw discretised
  time-series steps (`ts_values`, only steps up to the prediction time are in the frame), computed over the
  steps where the channel was *observed* (its `mask->` column is 1, so the discretiser's carried-forward and
  normal-value imputations do not count as measurements):
    * each of the 12 continuous channels: `last`, `mean`, `min`, `max` of the observed values (NaN when the
      channel was never observed);
    * each of the 17 channels: `count` = number of steps in which it was observed (0 when never);
    * each of the 5 categorical channels (capillary refill, Glasgow coma scale parts): its one-hot columns at
      the last observed step (`<channel>-><category>:last`; NaN when never observed);
    * `n_steps` = number of steps up to the prediction time.
  That is 12·4 + 17 + 47 + 1 = 113 features. Demographics (sex, age, race) are not inputs: the frames keep
  them for subgroup analyses only, as for the deep models.
- `cxr` (one row per chest X-ray image): X = the image's 1024 pooled DenseNet121 features from
  `embeddings.cxr_densenet121_chex` (`dense`; the model's 18 CheXpert-trained outputs are left out so X is
  the embedding, not a second label set), joined on `dicom_id`; an image without an embedding row is
  dropped (counted in the description). Targets: the frame's 14 CheXpert labels.

Targets: `ihm` (binary, one label `y_true`), `pheno` (binary, the 25 phenotypes), `cxr` (binary, the 14
CheXpert labels).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from warehouse.lake import ClinfuseError, Home

KINDS = ("binary", "multiclass", "regression")
SPLITS = ("train", "val", "test")
FRAME_NAMES = ("ihm", "pheno", "cxr", "m3tlm", "m3h")
TS_STATISTICS = ("last", "mean", "min", "max")
EMBEDDING_TABLE = ("embeddings", "cxr_densenet121_chex")


@dataclass
class Target:
    """One prediction target of a frame (a head in the report, a task in the leaderboard)."""

    name: str  # task name in reports/leaderboard: "ihm", "pheno", "cxr", "los", "mortality", ...
    kind: str  # "binary" | "multiclass" | "regression"
    # binary [N, C] float 0/1; multiclass [N] float class index; regression [N] float; NaN = no label
    y: np.ndarray
    label_names: list[str]

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ClinfuseError(f"target {self.name!r}: kind {self.kind!r}, expected one of {', '.join(KINDS)}")
        y = np.asarray(self.y, dtype=np.float64)
        if self.kind == "binary":
            y = y.reshape(len(y), -1)
            if y.shape[1] != len(self.label_names):
                raise ClinfuseError(f"target {self.name!r}: {y.shape[1]} label columns but "
                                    f"{len(self.label_names)} label names")
            if not np.isin(y[~np.isnan(y)], (0.0, 1.0)).all():
                raise ClinfuseError(f"target {self.name!r}: binary labels must be 0, 1 or NaN")
        else:
            if y.ndim != 1:
                raise ClinfuseError(f"target {self.name!r}: a {self.kind} target is one column, got {y.shape}")
            if self.kind == "multiclass":
                known = y[~np.isnan(y)]
                if not (np.isin(known, np.arange(len(self.label_names))).all()):
                    raise ClinfuseError(f"target {self.name!r}: class indices must be integers in "
                                        f"[0, {len(self.label_names)}) or NaN")
        self.y = y

    def defined(self) -> np.ndarray:
        """Rows with a label (every label, for several binary labels)."""
        return ~np.isnan(self.y).any(axis=1) if self.y.ndim == 2 else ~np.isnan(self.y)


@dataclass
class TabularTask:
    """A frame as a feature matrix with its targets, splits and the rows' demographics."""

    name: str  # frame name: "ihm", "pheno", "cxr", "m3tlm", "m3h"
    X: np.ndarray  # float32 [N, F]; NaN = missing (models impute with training statistics)
    feature_names: list[str]
    targets: list[Target]
    split: np.ndarray  # str [N]: "train" | "val" | "test" (by subject, from the frame); anything else unused
    subject_id: np.ndarray  # int64 [N]
    sex: np.ndarray
    age: np.ndarray
    race: np.ndarray
    fingerprint: str  # content hash of the frame it came from (lineage)
    description: str  # one line: what X holds, for the report
    notes: dict = field(default_factory=dict)  # counts worth reporting (e.g. rows dropped)

    def __post_init__(self):
        self.X = np.asarray(self.X, dtype=np.float32)
        n = len(self.X)
        if self.X.ndim != 2 or self.X.shape[1] != len(self.feature_names):
            raise ClinfuseError(f"tabular task {self.name!r}: X {self.X.shape} and {len(self.feature_names)} "
                                f"feature names do not match")
        self.split = np.asarray(self.split, dtype=str)
        for name in ("split", "subject_id", "sex", "age", "race"):
            if len(getattr(self, name)) != n:
                raise ClinfuseError(f"tabular task {self.name!r}: {name} has {len(getattr(self, name))} rows, X {n}")
        for target in self.targets:
            if len(target.y) != n:
                raise ClinfuseError(f"tabular task {self.name!r}: target {target.name!r} has {len(target.y)} rows, "
                                    f"X {n}")
        if not self.targets:
            raise ClinfuseError(f"tabular task {self.name!r} has no target")

    def rows(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.split == split)

    def split_sizes(self) -> dict[str, int]:
        return {split: int((self.split == split).sum()) for split in SPLITS}


# --------------------------------------------------------------------------------------------------------
# time-series statistics


def timeseries_feature_names() -> list[str]:
    from features.timeseries.layout import CHANNELS, CONTINUOUS_COLUMNS, VALUE_COLUMNS

    names = [f"{ch}:{stat}" for ch in CONTINUOUS_COLUMNS for stat in TS_STATISTICS]
    names += [f"{ch}:count" for ch in CHANNELS]
    names += [f"{col}:last" for col in VALUE_COLUMNS if col not in CONTINUOUS_COLUMNS]
    return names + ["n_steps"]


def timeseries_statistics(ts_values: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Per-row statistics of the observed steps (see the module docstring): X float32 [N, 113] and its names.

    `ts_values` [total_steps, 76] raw discretiser rows, rows' steps consecutive; `lengths` [N] steps per row."""
    import polars as pl

    from features.timeseries.layout import CHANNELS, COLUMNS, CONTINUOUS_COLUMNS, VALUE_COLUMNS

    lengths = np.asarray(lengths, dtype=np.int64)
    values = np.asarray(ts_values, dtype=np.float32).reshape(-1, len(COLUMNS))
    if values.shape[0] != lengths.sum():
        raise ClinfuseError(f"time series: {values.shape[0]} steps but the lengths sum to {lengths.sum()}")
    n_rows = len(lengths)
    index = {name: f"c{j}" for j, name in enumerate(COLUMNS)}  # positional names: channel names hold '->'
    steps = pl.from_numpy(values, schema=[index[c] for c in COLUMNS]).with_columns(
        row=pl.Series(np.repeat(np.arange(n_rows, dtype=np.int64), lengths)))

    def observed(column: str, channel: str) -> pl.Expr:
        return pl.col(index[column]).filter(pl.col(index[f"mask->{channel}"]) > 0)

    names, exprs = [], []
    for ch in CONTINUOUS_COLUMNS:
        for stat in TS_STATISTICS:
            names.append(f"{ch}:{stat}")
            exprs.append(getattr(observed(ch, ch), stat)().alias(names[-1]))
    for ch in CHANNELS:
        names.append(f"{ch}:count")
        exprs.append(pl.col(index[f"mask->{ch}"]).gt(0).sum().cast(pl.Float32).alias(names[-1]))
    for col in VALUE_COLUMNS:
        if col in CONTINUOUS_COLUMNS:
            continue
        channel = col.split("->", 1)[0]
        names.append(f"{col}:last")
        exprs.append(observed(col, channel).last().alias(names[-1]))
    names.append("n_steps")
    exprs.append(pl.len().cast(pl.Float32).alias("n_steps"))

    per_row = steps.group_by("row").agg(exprs)
    # rows with no step at all get no group: join onto every row, counts 0, statistics NaN
    full = pl.DataFrame({"row": np.arange(n_rows, dtype=np.int64)}).join(per_row, on="row", how="left")
    full = full.with_columns(pl.col(n).fill_null(0.0) for n in names if n.endswith(":count") or n == "n_steps")
    X = full.select(pl.col(n).cast(pl.Float32) for n in names).to_numpy().astype(np.float32)
    X[np.isnan(X)] = np.nan  # nulls -> NaN (to_numpy already does; explicit for clarity of the contract)
    return X, names


# --------------------------------------------------------------------------------------------------------
# the views


def _demographics(arrays) -> dict:
    return {"subject_id": arrays.subject_id, "sex": arrays.sex, "age": arrays.age, "race": arrays.race}


def stay_task_from_frame(table: pa.Table, frame: str, fingerprint: str) -> TabularTask:
    """The `ihm` / `pheno` view of a frame table (features.frames layout)."""
    from features.frames import FRAMES
    from models.data import FrameArrays

    spec = FRAMES[frame]
    arrays = FrameArrays(table, label_columns=spec.label_columns)
    X, names = timeseries_statistics(arrays.ts_values, arrays.lengths)
    labels = np.asarray(arrays.labels, dtype=np.float64)
    target = Target(name=frame, kind="binary", y=labels, label_names=list(spec.label_columns))
    what = "in-hospital mortality (48 h)" if frame == "ihm" else "25 phenotypes (whole stay)"
    description = (f"frames/{frame}, one row per ICU stay: {len(names)} statistics of the time series up to the "
                   f"prediction time (last/mean/min/max of the 12 continuous channels over observed steps, "
                   f"observation counts of the 17 channels, last category of the 5 categorical ones, number of "
                   f"steps); target {what}")
    return TabularTask(name=frame, X=X, feature_names=names, targets=[target], split=arrays.split,
                       fingerprint=fingerprint, description=description, **_demographics(arrays))


def _table_fingerprint(home: Home, layer: str, name: str) -> str:
    table_dir = home.table_dir(layer, name)
    digest = hashlib.sha256()
    for path in sorted(table_dir.rglob("*.parquet")):
        digest.update(path.relative_to(table_dir).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def read_cxr_embeddings(home: Home) -> pa.Table:
    """dicom_id and `dense` (1024 floats) of every image in embeddings.cxr_densenet121_chex."""
    import duckdb

    from warehouse.lake import parquet_glob, sql_str

    table_dir = home.table_dir(*EMBEDDING_TABLE)
    if not table_dir.is_dir() or not any(table_dir.rglob("*.parquet")):
        raise ClinfuseError("embeddings.cxr_densenet121_chex is not materialised: "
                            "materialise embeddings/cxr_densenet121_chex first")
    con = duckdb.connect()
    try:
        return con.sql(f"SELECT dicom_id, dense FROM read_parquet({sql_str(parquet_glob(table_dir))}, "
                       f"hive_partitioning = true) ORDER BY dicom_id").to_arrow_table()
    finally:
        con.close()


def cxr_task_from_frame(table: pa.Table, embeddings: pa.Table, fingerprint: str) -> TabularTask:
    """The `cxr` view: the frame's images that have an embedding, X = their 1024 DenseNet features."""
    from features.frames import FRAMES
    from models.data import FrameArrays

    spec = FRAMES["cxr"]
    position = {d: i for i, d in enumerate(embeddings.column("dicom_id").to_pylist())}
    frame_ids = table.column("dicom_id").to_pylist()
    emb_row = np.array([position.get(d, -1) for d in frame_ids], dtype=np.int64)
    keep = np.flatnonzero(emb_row >= 0)
    if len(keep) == 0:
        raise ClinfuseError("frames/cxr: no image has a row in embeddings.cxr_densenet121_chex: "
                            "materialise embeddings/cxr_densenet121_chex first")
    dense = embeddings.column("dense").combine_chunks()
    width = dense.type.list_size if pa.types.is_fixed_size_list(dense.type) else None
    matrix = np.asarray(dense.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
    width = width or (len(matrix) // max(len(dense), 1))
    matrix = matrix.reshape(len(dense), width)
    arrays = FrameArrays(table.take(pa.array(keep)), label_columns=spec.label_columns)
    X = matrix[emb_row[keep]]
    names = [f"densenet121_chex:{j}" for j in range(width)]
    target = Target(name="cxr", kind="binary", y=np.asarray(arrays.labels, np.float64),
                    label_names=list(spec.label_columns))
    dropped = len(frame_ids) - len(keep)
    description = (f"frames/cxr, one row per chest X-ray image: the {width} pooled features of the "
                   f"torchxrayvision DenseNet121-chex embedding (embeddings.cxr_densenet121_chex); target the 14 "
                   f"CheXpert labels" + (f"; {dropped} image(s) without an embedding left out" if dropped else ""))
    return TabularTask(name="cxr", X=X, feature_names=names, targets=[target], split=arrays.split,
                       fingerprint=fingerprint, description=description,
                       notes={"images_without_embedding": dropped}, **_demographics(arrays))


def frame_tabular_task(home: Home, frame: str) -> TabularTask:
    """The ihm / pheno / cxr view of a materialised frame."""
    from features.frames import frame_fingerprint, load_task_frame

    table = load_task_frame(home, frame)
    fingerprint = frame_fingerprint(home, frame)
    if frame == "cxr":
        embeddings = read_cxr_embeddings(home)
        fingerprint = hashlib.sha256(
            f"{fingerprint}:{_table_fingerprint(home, *EMBEDDING_TABLE)}".encode()).hexdigest()[:16]
        return cxr_task_from_frame(table, embeddings, fingerprint)
    return stay_task_from_frame(table, frame, fingerprint)


def tabular_task(home: Home, frame: str, settings: dict | None = None) -> TabularTask:
    """The tabular view of `frames/<frame>`; m3tlm and m3h come from their own packages, which receive
    `settings` (their own keys, e.g. {"profile": "demo"}; the ihm/pheno/cxr views take none)."""
    if frame in ("ihm", "pheno", "cxr"):
        return frame_tabular_task(home, frame)
    if frame == "m3tlm":
        from models.m3tlm.data import tabular_task as m3tlm_task

        return m3tlm_task(home, settings)
    if frame == "m3h":
        from models.m3h.data import tabular_task as m3h_task

        return m3h_task(home, settings)
    raise ClinfuseError(f"no tabular view of frame {frame!r}: expected one of {', '.join(FRAME_NAMES)}")
