"""Per-note and per-sample pooling: strictly before the prediction time, time weights, zeros + flag."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from features.notes.aggregate import aggregate_per_note, aggregate_per_sample, embedding_series
from warehouse.lake import ClinfuseError

DIM = 768
ADMIT = dt.datetime(2150, 3, 1, 8, 0)
PRED = ADMIT + dt.timedelta(hours=10)


def _vec(i: int) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[i] = 1.0
    return v


def _notes(rows: list[tuple]) -> pl.DataFrame:
    """rows: (note_id, subject_id, hadm_id, source, hours after ADMIT or None, basis index)."""
    return pl.DataFrame({
        "note_id": [r[0] for r in rows], "subject_id": [r[1] for r in rows], "hadm_id": [r[2] for r in rows],
        "note_type": ["DS" if r[3] == "discharge" else "RR" for r in rows], "source": [r[3] for r in rows],
        "charttime": [None if r[4] is None else ADMIT + dt.timedelta(hours=r[4]) for r in rows],
        "n_chunks": [1] * len(rows),
    }, schema_overrides={"hadm_id": pl.Int64, "charttime": pl.Datetime("us")}).with_columns(
        embedding_series("embedding", np.stack([_vec(r[5]) for r in rows])), pl.lit("random-init").alias("weights_source"))


def _samples(rows: list[tuple]) -> pl.DataFrame:
    """rows: (sample_id, subject_id, hadm_id, prediction_time)."""
    return pl.DataFrame({
        "sample_id": [r[0] for r in rows], "subject_id": [r[1] for r in rows], "hadm_id": [r[2] for r in rows],
        "prediction_time": [r[3] for r in rows], "admittime": [ADMIT] * len(rows),
    }, schema_overrides={"hadm_id": pl.Int64, "prediction_time": pl.Datetime("us"), "admittime": pl.Datetime("us")})


def _emb(out: pl.DataFrame, col: str) -> np.ndarray:
    return out[col].to_numpy()


def test_strictly_before_the_prediction_time():
    notes = _notes([("a", 1, 11, "radiology", 4.0, 0), ("b", 1, 11, "radiology", 10.0, 1),  # b at exactly PRED
                    ("c", 1, 11, "radiology", 12.0, 2), ("d", 1, 11, "radiology", None, 3)])
    out = aggregate_per_sample(notes, _samples([(0, 1, 11, PRED)]), ["radiology"])
    assert out["n_radiology_notes"].to_list() == [1]
    np.testing.assert_allclose(_emb(out, "radiology_embedding")[0], _vec(0))
    assert out["asof_time"].to_list() == [ADMIT + dt.timedelta(hours=4)]
    # HAIM's `<=` window, for reference runs only, takes the same-time report too
    leaky = aggregate_per_sample(notes, _samples([(0, 1, 11, PRED)]), ["radiology"], strictly_before=False)
    assert leaky["n_radiology_notes"].to_list() == [2]


def test_time_weights_fixed_and_faithful():
    notes = _notes([("a", 1, 11, "radiology", 2.0, 0), ("b", 1, 11, "radiology", 6.0, 1),
                    ("c", 2, 21, "radiology", -3.0, 0), ("d", 2, 21, "radiology", 0.0, 1), ("e", 2, 21, "radiology", 4.0, 2),
                    ("f", 3, 31, "radiology", 0.0, 5)])
    samples = _samples([(0, 1, 11, PRED), (1, 2, 21, PRED), (2, 3, 31, PRED)])
    fixed = _emb(aggregate_per_sample(notes, samples, ["radiology"]), "radiology_embedding")
    np.testing.assert_allclose(fixed[0], (2 * _vec(0) + 6 * _vec(1)) / 8, atol=1e-6)  # later notes weigh more
    # before / at admission: clipped to 1 h, never zero or negative
    np.testing.assert_allclose(fixed[1], (1 * _vec(0) + 1 * _vec(1) + 4 * _vec(2)) / 6, atol=1e-6)
    np.testing.assert_allclose(fixed[2], _vec(5), atol=1e-6)
    faithful = aggregate_per_sample(notes, samples, ["radiology"], time_weighting="haim-faithful")
    emb = _emb(faithful, "radiology_embedding")
    np.testing.assert_allclose(emb[0], fixed[0], atol=1e-6)
    np.testing.assert_allclose(emb[1], (-3 * _vec(0) + 0 * _vec(1) + 4 * _vec(2)) / 1, atol=1e-5)  # HAIM's raw hours
    np.testing.assert_array_equal(emb[2], np.zeros(DIM))  # weights sum to 0: zeros, as HAIM
    assert faithful["has_radiology"].to_list() == [1, 1, 1]
    uniform = _emb(aggregate_per_sample(notes, samples, ["radiology"], time_weighting="uniform"), "radiology_embedding")
    np.testing.assert_allclose(uniform[1], (_vec(0) + _vec(1) + _vec(2)) / 3, atol=1e-6)


def test_zeros_and_flag_when_no_note_and_one_vector_per_type():
    # discharge summaries count from the end of their charted day: b (-20 h) is available at +4 h
    notes = _notes([("a", 1, 11, "radiology", 2.0, 0), ("b", 1, 11, "discharge", -20.0, 1),
                    ("c", 1, 12, "discharge", -40.0, 2),   # another admission of the subject
                    ("d", 9, 91, "radiology", 1.0, 3)])
    samples = _samples([(5, 9, 91, PRED), (3, 1, 11, PRED), (4, 1, 11, ADMIT), (6, 7, None, PRED)])
    out = aggregate_per_sample(notes, samples)
    assert out["sample_id"].to_list() == [5, 3, 4, 6]  # the samples' order
    assert out.schema["discharge_embedding"] == pl.Array(pl.Float32, DIM)
    assert out.schema["radiology_embedding"] == pl.Array(pl.Float32, DIM)
    assert out["has_discharge"].to_list() == [0, 1, 0, 0]
    assert out["has_radiology"].to_list() == [1, 1, 0, 0]
    np.testing.assert_array_equal(_emb(out, "discharge_embedding")[[0, 2, 3]], np.zeros((3, DIM)))
    np.testing.assert_allclose(_emb(out, "discharge_embedding")[1], _vec(1))
    assert out["asof_time"].to_list()[2:] == [None, None]
    # scope="subject" also takes notes of the subject's other admissions
    wide = aggregate_per_sample(notes, samples, scope="subject")
    assert wide["n_discharge_notes"].to_list() == [0, 2, 1, 0]


def test_needs_admittime_for_time_weights():
    notes = _notes([("a", 1, 11, "radiology", 2.0, 0)])
    samples = _samples([(0, 1, 11, PRED)]).drop("admittime")
    with pytest.raises(ClinfuseError, match="admittime"):
        aggregate_per_sample(notes, samples)
    assert aggregate_per_sample(notes, samples, time_weighting="uniform")["has_radiology"].to_list() == [1]


def test_per_note_mean_weighted_by_wordpieces():
    chunks = pl.DataFrame({
        "note_id": ["n1", "n1", "n2"], "subject_id": [1, 1, 2], "hadm_id": [11, 11, None],
        "note_type": ["DS", "DS", "RR"], "source": ["discharge", "discharge", "radiology"],
        "charttime": [ADMIT, ADMIT, PRED], "chunk_index": [0, 1, 0], "n_wordpieces": [510, 90, 40],
        "weights_source": ["random-init"] * 3,
    }, schema_overrides={"hadm_id": pl.Int64}).with_columns(
        embedding_series("embedding", np.stack([_vec(0), _vec(1), _vec(2)])))
    notes = aggregate_per_note(chunks)
    assert notes["note_id"].to_list() == ["n1", "n2"] and notes["n_chunks"].to_list() == [2, 1]
    assert notes.columns == ["note_id", "subject_id", "hadm_id", "note_type", "source", "charttime",
                             "available_time", "n_chunks", "embedding", "weights_source"]
    # without a storetime, a discharge summary is available from the end of its charted day
    assert notes["available_time"].to_list() == [ADMIT + dt.timedelta(days=1), PRED]
    emb = notes["embedding"].to_numpy()
    np.testing.assert_allclose(emb[0], (510 * _vec(0) + 90 * _vec(1)) / 600, atol=1e-6)
    np.testing.assert_allclose(emb[1], _vec(2))
    assert aggregate_per_note(chunks.clear()).height == 0


def test_own_study_report_and_same_day_discharge_summary_are_not_before_the_prediction():
    """Radiology charttime has minute resolution (the image time seconds); a discharge summary is charted at
    midnight of the discharge day but written at discharge."""
    image_time = ADMIT + dt.timedelta(hours=30, minutes=7, seconds=16)
    notes = _notes([("own", 1, 11, "radiology", 30 + 7 / 60, 0),        # charted 04:07:00, image 04:07:16
                    ("ds", 1, 11, "discharge", 16.0, 1),                 # midnight of the image's day
                    ("older", 1, 11, "radiology", 29.0, 2)])
    samples = _samples([(0, 1, 11, image_time)])
    out = aggregate_per_sample(notes, samples)
    assert out["n_radiology_notes"].to_list() == [1]  # only the report of the earlier study
    assert out["has_discharge"].to_list() == [0]
    np.testing.assert_allclose(_emb(out, "radiology_embedding")[0], _vec(2))
