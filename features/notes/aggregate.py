"""Pool chunk embeddings per note, and note embeddings per sample and note type (reference §4.6, §7 22-23).

Per note (`aggregate_per_note`): the mean of its chunks' vectors weighted by each chunk's wordpieces
(`n_wordpieces`). A chunk vector summarises its tokens, so weighting by tokens makes the note vector
independent of where the 510-wordpiece boundaries happen to fall: a 12-wordpiece tail chunk does not
count as much as a full one. (HAIM weights every chunk of a note equally, and drops the last one.)

Per sample (`aggregate_per_sample`), for each note type: the notes of the sample's admission (or, with
`scope="subject"`, of any admission of the subject) whose charttime is STRICTLY BEFORE the sample's
prediction_time. A note at exactly the prediction time is excluded: a radiology report charted at the
image's time is the report of that very image (label leakage, reference §7 item 23). Notes with no
charttime are never used. Their vectors are averaged with time weights:

* `haim-fixed` (default): weight = hours from admittime to the note's charttime, clipped below at
  `min_hours` (1 h). Like HAIM, later notes weigh more (a monotone, increasing weight); unlike HAIM's
  raw hours, a note written at admission or before it (emergency department, earlier admission)
  keeps a small positive weight instead of 0 or a negative one, so the weights never cancel out.
* `haim-faithful`: HAIM's raw hours since admission (can be 0 or negative); a zero weight sum gives
  zeros, as HAIM. (HAIM averages chunks, not notes, with these weights.)
* `uniform`: the plain mean of the qualifying notes (no admittime needed).

When no note of a type qualifies: a zero vector and `has_<type>` = 0. Output, one row per sample in
the samples' order: sample_id, subject_id, hadm_id, prediction_time, then per type `<type>_embedding`
(Array(Float32, dim)), `has_<type>` (Int8), `n_<type>_notes` (Int32), and `asof_time` (the latest
charttime of a note used, any type; null when none) for point-in-time retrieval.

Vectorised: one Polars join of samples to notes, a filter, and one sparse (samples x types, notes)
weight matrix times the (notes, dim) embedding matrix; no Python loop over samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from features.notes.chunks import with_note_times
from warehouse.lake import ClinfuseError

TimeWeighting = Literal["haim-fixed", "haim-faithful", "uniform"]
TIME_WEIGHTINGS: tuple[str, ...] = ("haim-fixed", "haim-faithful", "uniform")
NOTE_TYPES: tuple[str, ...] = ("discharge", "radiology")
MIN_HOURS = 1.0
NOTE_KEYS = ("note_id", "subject_id", "hadm_id", "note_type", "source", "charttime", "available_time")


def embedding_matrix(frame: pl.DataFrame, column: str = "embedding") -> np.ndarray:
    """(rows, dim) float32 from an Array or List column of equal-length float vectors."""
    col = frame[column]
    if frame.height == 0:
        width = col.dtype.size if isinstance(col.dtype, pl.Array) else 0
        return np.zeros((0, width), dtype=np.float32)
    if isinstance(col.dtype, pl.List):
        col = col.list.to_array(int(col.list.len().max()))
    return np.ascontiguousarray(col.to_numpy(), dtype=np.float32)


def embedding_series(name: str, matrix: np.ndarray) -> pl.Series:
    """An Array(Float32, dim) series from a (rows, dim) matrix."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    return pl.Series(name, matrix, dtype=pl.Array(pl.Float32, matrix.shape[1]))


def aggregate_per_note(chunk_embeddings: pl.DataFrame, weights_source: str | None = None) -> pl.DataFrame:
    """One row per note: note_id, subject_id, hadm_id, note_type, source, charttime, n_chunks,
    embedding (Array(Float32, dim)), weights_source; notes in order of first appearance.

    Needs the chunk keys, n_wordpieces and embedding (and weights_source unless given)."""
    frame = with_note_times(chunk_embeddings).with_row_index("_row")
    if "weights_source" not in frame.columns:
        frame = frame.with_columns(pl.lit(weights_source, pl.String).alias("weights_source"))
    emb = embedding_matrix(frame)
    dim = emb.shape[1]
    notes = (frame.group_by("note_id", maintain_order=True)
             .agg(*[pl.col(c).first() for c in (*NOTE_KEYS[1:], "weights_source")],
                  pl.len().cast(pl.Int32).alias("n_chunks"))
             .with_row_index("_g"))
    if frame.height == 0:
        return notes.drop("_g").with_columns(embedding_series("embedding", np.zeros((0, dim)))).select(
            *NOTE_KEYS, "n_chunks", "embedding", "weights_source")
    g = frame.join(notes.select("note_id", "_g"), on="note_id", how="left", maintain_order="left")
    group = g["_g"].to_numpy().astype(np.int64)
    w = g["n_wordpieces"].cast(pl.Float64).fill_null(0).to_numpy()
    w = np.where(w > 0, w, 1.0)  # a chunk always has wordpieces; guard against hand-made frames
    weights = sp.csr_matrix((w, (group, np.arange(len(w)))), shape=(notes.height, len(w)))
    sums = np.asarray(weights.sum(axis=1)).ravel()
    pooled = (weights @ emb.astype(np.float64)) / sums[:, None]
    return (notes.drop("_g").with_columns(embedding_series("embedding", pooled))
            .select(*NOTE_KEYS, "n_chunks", "embedding", "weights_source"))


def aggregate_per_sample(
    note_embeddings: pl.DataFrame,
    samples: pl.DataFrame,
    note_types: Sequence[str] = NOTE_TYPES,
    time_weighting: TimeWeighting = "haim-fixed",
    *,
    type_column: str = "source",
    scope: Literal["admission", "subject"] = "admission",
    min_hours: float = MIN_HOURS,
    strictly_before: bool = True,
) -> pl.DataFrame:
    """Time-weighted note vectors per sample and note type (see the module docstring).

    `samples`: sample_id, subject_id, hadm_id, prediction_time, and admittime for the haim weightings.
    `note_types` are values of `type_column` ('source': discharge, radiology). `strictly_before=False`
    reproduces HAIM's `charttime <= prediction_time` window (leaks the same-time report): for
    reference runs only.
    """
    if time_weighting not in TIME_WEIGHTINGS:
        raise ValueError(f"time_weighting must be one of {TIME_WEIGHTINGS}, got {time_weighting!r}")
    if scope not in ("admission", "subject"):
        raise ValueError(f"scope must be 'admission' or 'subject', got {scope!r}")
    if not min_hours > 0:
        raise ValueError(f"min_hours must be > 0, got {min_hours}")
    needed = {"sample_id", "subject_id", "hadm_id", "prediction_time"}
    if time_weighting != "uniform":
        needed.add("admittime")
    if missing := needed - set(samples.columns):
        raise ClinfuseError(f"samples lack column(s) {sorted(missing)} needed for time_weighting={time_weighting!r}")
    types = list(dict.fromkeys(note_types))
    emb = embedding_matrix(note_embeddings)
    dim = emb.shape[1]
    keys = ["subject_id", "hadm_id"] if scope == "admission" else ["subject_id"]

    smp = samples.with_row_index("_s")
    notes = (with_note_times(note_embeddings).with_row_index("_e")
             .select("_e", *keys, pl.col(type_column).alias("_type"), "charttime", "available_time")
             .filter(pl.col("_type").is_in(types) & pl.col("charttime").is_not_null())
             .with_columns(pl.col("_type").replace_strict({t: i for i, t in enumerate(types)},
                                                          return_dtype=pl.Int64).alias("_t")))
    if strictly_before:
        # A note counts when it could be read before the prediction (available_time: storetime, else the
        # charttime rule of chunks.py). charttime has minute resolution, the prediction time seconds: a report
        # charted in the image's own minute is that study's report, hence the minute truncation.
        before = (pl.col("charttime") < pl.col("prediction_time").dt.truncate("1m")) \
            & (pl.col("available_time") < pl.col("prediction_time"))
    else:
        before = pl.col("charttime") <= pl.col("prediction_time")
    cols = ["_s", *keys, "prediction_time", *(["admittime"] if "admittime" in needed else [])]
    pairs = (smp.select(cols).filter(pl.all_horizontal(pl.col(k).is_not_null() for k in keys))
             .join(notes, on=keys, how="inner").filter(before))
    if time_weighting == "uniform":
        pairs = pairs.with_columns(pl.lit(1.0).alias("_w"))
    else:
        hours = (pl.col("charttime") - pl.col("admittime")).dt.total_microseconds().cast(pl.Float64) / 3.6e9
        if time_weighting == "haim-fixed":
            hours = hours.fill_null(min_hours).clip(lower_bound=min_hours)
        pairs = pairs.with_columns(hours.fill_null(0.0).alias("_w"))

    n_groups = smp.height * len(types)
    group = (pairs["_s"].cast(pl.Int64) * len(types) + pairs["_t"]).to_numpy()
    w = pairs["_w"].to_numpy().astype(np.float64)
    weights = sp.csr_matrix((w, (group, pairs["_e"].cast(pl.Int64).to_numpy())), shape=(n_groups, emb.shape[0]))
    sums = np.bincount(group, weights=w, minlength=n_groups)
    counts = np.bincount(group, minlength=n_groups)
    pooled = np.asarray(weights @ emb.astype(np.float64)) if emb.shape[0] else np.zeros((n_groups, dim))
    safe = np.where(sums != 0, sums, 1.0)
    pooled = np.where((sums != 0)[:, None], pooled / safe[:, None], 0.0).reshape(smp.height, len(types), dim)
    counts = counts.reshape(smp.height, len(types))

    asof = pairs.group_by("_s").agg(pl.col("charttime").max().alias("asof_time"))
    out = smp.select("_s", "sample_id", "subject_id", "hadm_id", "prediction_time")
    columns = []
    for i, t in enumerate(types):
        columns += [embedding_series(f"{t}_embedding", pooled[:, i, :]),
                    pl.Series(f"has_{t}", (counts[:, i] > 0).astype(np.int8), dtype=pl.Int8),
                    pl.Series(f"n_{t}_notes", counts[:, i], dtype=pl.Int32)]
    return (out.with_columns(columns).join(asof, on="_s", how="left", maintain_order="left")
            .drop("_s"))

