"""features.haim layout: dimensions and column order, demographic codes, vmd/vmp and note weights in both modes."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import numpy as np
import polars as pl
import pytest

from features.haim.build import Selection, assemble, notes_block, timeseries_block, vision_block
from features.haim.demographics import demographic_codes, demographic_vocabularies
from features.haim.layout import (
    HAIM_DIMENSIONS,
    KEY_COLUMNS,
    LAB_SIGNALS,
    STATISTICS,
    block_columns,
    feature_columns,
    flag_columns,
    ts_column_names,
)
from features.haim.time_weights import fixed_time_weights, haim_time_weights, weighted_average

T0 = datetime(2150, 1, 1, 12, 0, 0)


def test_haim_dimensions():
    assert HAIM_DIMENSIONS == {"demographics": 6, "ts_ce": 99, "ts_le": 242, "ts_pe": 110, "vision": 2084,
                               "notes": 768}
    assert len(LAB_SIGNALS) == 22 and LAB_SIGNALS.count("Platelet Count") == 1
    assert LAB_SIGNALS.index("Platelet Count") == 11  # HAIM's first occurrence keeps its place


@pytest.mark.parametrize("note_types", [(), ("radiology",), ("radiology", "discharge"), ("radiology", "ecg", "echo")])
def test_column_counts_and_order(note_types):
    blocks = block_columns(note_types)
    sizes = {k: len(v) for k, v in blocks.items()}
    assert sizes["de"] == 6
    assert sizes["ts_ce"] + sizes["ts_le"] + sizes["ts_pe"] == 451
    assert sizes["vd"] + sizes["vp"] + sizes["vmd"] + sizes["vmp"] == 2084
    assert sum(v for k, v in sizes.items() if k.startswith("n_")) == 768 * len(note_types)
    cols = feature_columns(note_types)
    assert len(cols) == len(set(cols)) == 6 + 451 + 2084 + 768 * len(note_types)
    # HAIM's fusion-CSV order: de, vd, vp, vmd, vmp, ts_ce, ts_le, ts_pe, notes
    prefixes = list(dict.fromkeys(c.rsplit("_", 1)[0] for c in cols))
    expected = ["de", "vd", "vp", "vmd", "vmp", "ts_ce", "ts_le", "ts_pe"]
    expected += [{"radiology": "n_rad", "discharge": "n_dis", "ecg": "n_ecg", "echo": "n_ech"}[t] for t in note_types]
    assert prefixes == expected
    assert cols[:2] == ["de_0", "de_1"] and cols[6] == "vd_0" and cols[6 + 1024] == "vp_0"
    assert ts_column_names("le", readable=True)[:2] == ["Glucose_max", "Glucose_min"]
    assert ts_column_names("le", readable=True)[11 * 11 + 9] == "Platelet Count_npeaks"


# ---------------------------------------------------------------- demographics


def test_demographic_codes_are_sorted_observed_strings_with_null_minus_one():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.hosp_patients AS SELECT * FROM (VALUES (1, 'M', 60, 2150), (2, 'F', 70, 2150), "
                "(3, NULL, 80, 2150)) t(subject_id, gender, anchor_age, anchor_year)")
    con.execute("CREATE TABLE raw.hosp_admissions AS SELECT * FROM (VALUES "
                "(1, 10, 'WHITE', 'MARRIED', 'ENGLISH', 'Medicare'), (2, 20, 'ASIAN', NULL, '?', 'Other'), "
                "(3, 30, 'BLACK/AFRICAN AMERICAN', 'SINGLE', 'ENGLISH', 'Medicaid'), "
                "(1, 11, 'UNKNOWN', 'WIDOWED', 'ENGLISH', 'Medicare')) "
                "t(subject_id, hadm_id, race, marital_status, language, insurance)")
    vocab = demographic_vocabularies(con)
    assert vocab["gender"] == ["F", "M"]
    assert vocab["race"] == ["ASIAN", "BLACK/AFRICAN AMERICAN", "UNKNOWN", "WHITE"]
    assert vocab["marital_status"] == ["MARRIED", "SINGLE", "WIDOWED"]
    assert vocab["language"] == ["?", "ENGLISH"]
    assert vocab["insurance"] == ["Medicaid", "Medicare", "Other"]
    frame = pl.DataFrame({"anchor_age": [60, 70, 80], "gender": ["M", "F", None],
                          "race": ["UNKNOWN", "ASIAN", "BLACK/AFRICAN AMERICAN"],
                          "marital_status": ["WIDOWED", None, "SINGLE"], "language": ["ENGLISH", "?", "ENGLISH"],
                          "insurance": ["Medicare", "Other", "Medicaid"]})
    codes = demographic_codes(frame, vocab)
    np.testing.assert_array_equal(codes, [[60, 1, 2, 2, 1, 1], [70, 0, 0, -1, 0, 2], [80, -1, 1, 1, 1, 0]])
    # an unseen string (not in the whole-table vocabulary) is -1 as well
    other = demographic_codes(frame.with_columns(pl.lit("X").alias("race")), vocab)
    assert (other[:, 2] == -1).all()


# ---------------------------------------------------------------- weights


def _times(*hours):
    return [T0 + timedelta(hours=h) for h in hours]


def test_fixed_weights_grow_with_time_and_a_single_image_gets_one():
    frame = pl.DataFrame({"s": ["a", "a", "a", "b", "c", "c"], "t": _times(0, 1, 3, 5, 2, 2)})
    w = frame.with_columns(fixed_time_weights("s", "t").alias("w"))["w"].to_numpy()
    raw = np.array([1.0, 1 + 1 / 3, 2.0])
    np.testing.assert_allclose(w[:3], raw / raw.sum())
    assert w[3] == 1.0  # single earlier image: weight 1
    np.testing.assert_allclose(w[4:], [0.5, 0.5])  # equal times: equal weights


def test_haim_weights_are_min_max_scaled_with_the_zero_over_zero_artefact():
    frame = pl.DataFrame({"s": ["a", "a", "a", "b", "c", "c"], "t": _times(0, 1, 3, 5, 2, 2)})
    w = frame.with_columns(haim_time_weights("s", "t").alias("w"))["w"].to_numpy()
    np.testing.assert_allclose(w[:3], [0.0, 1 / 3, 1.0])  # earliest image never counts
    assert np.isnan(w[3]) and np.isnan(w[4:]).all()  # 0/0


def test_weighted_average_matches_np_average_and_haim_fallbacks():
    rng = np.random.default_rng(0)
    m = rng.random((5, 4)).astype(np.float32)
    rows = np.array([0, 0, 0, 1, 2, 2, 3])
    items = np.array([0, 1, 2, 3, 4, 0, 1])
    w = np.array([0.0, 1 / 3, 1.0, np.nan, -1.0, 1.0, 2.0])
    out, valid = weighted_average(rows, items, w, m, 5)
    np.testing.assert_allclose(out[0], np.average(m[[0, 1, 2]], axis=0, weights=w[:3]), rtol=1e-6)
    assert not valid[1] and (out[1] == 0).all()  # NaN weight (single image)
    assert not valid[2] and (out[2] == 0).all()  # weights sum to zero: np.average raises -> zeros
    np.testing.assert_allclose(out[3], m[1], rtol=1e-6)
    assert not valid[4] and (out[4] == 0).all()  # no item
    m_nan = m.copy()
    m_nan[0, 2] = np.nan
    out, valid = weighted_average(rows, items, w, m_nan, 5, nan_rows_to_zero=True)
    assert not valid[0] and (out[0] == 0).all() and not valid[2]  # HAIM's NaN check, weight 0 included
    out, valid = weighted_average(rows, items, w, m_nan, 5)
    assert valid[0] and np.isfinite(out[0]).all()  # fixed: NaN entries count as 0


# ---------------------------------------------------------------- a hand-made selection through assemble()

DENSE = np.arange(4 * 1024, dtype=np.float32).reshape(4, 1024) / 1000
PATH = np.arange(4 * 18, dtype=np.float32).reshape(4, 18) / 100
NOTES = np.arange(3 * 768, dtype=np.float32).reshape(3, 768) / 1000


def _selection(mode: str, images: list[tuple], notes: list[tuple] | None = None, events: list[tuple] | None = None):
    """Two samples: s1 (own image row 3) and s2 (own image absent from the embeddings)."""
    samples = pl.DataFrame({
        "sample_id": ["s1", "s2"], "subject_id": [1, 2], "hadm_id": [10, 20], "stay_id": [100, None],
        "dicom_id": ["d3", "dx"], "study_id": [1000, 2000], "prediction_time": _times(10, 10),
        "admittime": _times(0, 0), "_row": [0, 1],
    }, schema_overrides={"stay_id": pl.Int64, "_row": pl.Int64})
    img = pl.DataFrame(images, schema={"sample_id": pl.String, "filtered_dicom_id": pl.String,
                                       "weight_time": pl.Datetime("us"), "used_dicom_id": pl.String,
                                       "used_image_time": pl.Datetime("us"), "_emb": pl.Int64}, orient="row")
    nts = pl.DataFrame(notes or [], schema={"sample_id": pl.String, "note_type": pl.String, "note_id": pl.String,
                                            "charttime": pl.Datetime("us"), "storetime": pl.Datetime("us"),
                                            "n_chunks": pl.Int32, "hours_since_admit": pl.Float64,
                                            "available_time": pl.Datetime("us"), "_emb": pl.Int64}, orient="row")
    ev = pl.DataFrame(events or [], schema={"sample_id": pl.String, "source": pl.String, "signal": pl.Int32,
                                            "event_time": pl.Datetime("us"), "value": pl.Float64, "file": pl.String,
                                            "row_in_file": pl.Int64}, orient="row")
    own = pl.Series("_emb", [3, None], dtype=pl.Int64)
    return Selection(mode, ("radiology", "discharge"), samples, ev, img, nts, own, DENSE, PATH, NOTES)


def test_assemble_layout_and_zero_blocks_when_nothing_is_known():
    sel = _selection("fixed", [])
    frame = assemble(sel, np.array([[60, 1, 2, 3, 4, 5], [70, 0, 0, 0, 0, -1]], dtype=float))
    assert frame.columns == [*KEY_COLUMNS, *flag_columns(("radiology", "discharge")),
                             *feature_columns(("radiology", "discharge"))]
    assert frame.width == len(KEY_COLUMNS) + 8 + 6 + 451 + 2084 + 2 * 768
    assert frame["de_0"].to_list() == [60, 70] and frame["de_5"].to_list() == [5, -1]
    # s1: own image only; s2: own image without an embedding (null, never zeros), nothing else -> zero blocks
    np.testing.assert_allclose(frame.select([f"vd_{i}" for i in range(1024)]).row(0), DENSE[3])
    np.testing.assert_allclose(frame.select([f"vp_{i}" for i in range(18)]).row(0), PATH[3])
    s2 = frame.row(1, named=True)
    assert not s2["has_cxr_embedding"] and not s2["has_prior_cxr"] and s2["prior_cxr_count"] == 0
    assert all(v is None for k, v in s2.items() if k.startswith(("vd_", "vp_")))
    assert all(v == 0 for k, v in s2.items() if k.startswith(("vmd_", "vmp_", "ts_", "n_")))
    assert frame["asof_time"].to_list() == [T0 + timedelta(hours=10), None]  # own image time, nothing for s2
    assert frame.schema["vd_0"] == pl.Float32 and frame.schema["ts_ce_0"] == pl.Float64
    assert frame.schema["de_0"] == pl.Float64


def test_a_missing_embedding_is_a_null_block_never_zeros():
    """An earlier image without an embedding nulls vmd/vmp (the average would silently change); a missing notes
    table nulls the note blocks; nothing to embed (s1 has no earlier image of its own) stays HAIM's zeros."""
    from features.haim.build import missing_embedding_masks

    images = [("s1", "d0", T0 + timedelta(hours=2), "d0", T0 + timedelta(hours=2), 0),
              ("s2", "d1", T0 + timedelta(hours=3), "d1", T0 + timedelta(hours=3), 1),
              ("s2", "dz", T0 + timedelta(hours=4), "dz", T0 + timedelta(hours=4), None)]
    sel = _selection("fixed", images)
    masks = missing_embedding_masks(sel)
    assert masks["own_cxr"].tolist() == [False, True] and masks["prior_cxr"].tolist() == [False, True]
    assert not masks["note_radiology"].any()
    frame = assemble(sel, np.zeros((2, 6)))
    vmd = frame.select(pl.col("^(vmd|vmp)_.*$"))
    np.testing.assert_allclose(vmd.row(0), np.hstack([DENSE[0], PATH[0]]), rtol=1e-6)
    assert vmd.row(1) == (None,) * (1024 + 18)
    assert frame.select(pl.col("^vd_.*$")).null_count().row(0) == (1,) * 1024
    sel.notes_table_missing = True
    frame = assemble(sel, np.zeros((2, 6)))
    assert frame.select(pl.col("^(n_rad|n_dis)_.*$")).null_count().sum_horizontal().item() == 2 * 2 * 768


def test_timeseries_block_places_signal_statistics():
    ev = [("s1", "le", 1, T0 + timedelta(hours=h), v, "f", i) for i, (h, v) in enumerate([(2, 4.0), (1, 3.0)])]
    ev += [("s2", "pe", 9, T0, 7.0, "f", 5)]
    ts, counts = timeseries_block(_selection("fixed", [], events=ev))
    assert ts.shape == (2, 451)
    k = {s: i for i, s in enumerate(STATISTICS)}
    base_le = 99 + 1 * 11  # second lab signal (Potassium)
    assert ts[0, base_le + k["max"]] == 4 and ts[0, base_le + k["min"]] == 3 and ts[0, base_le + k["diff"]] == 1
    assert ts[1, 99 + 242 + 9 * 11 + k["mean"]] == 7  # Hemodialysis
    assert np.count_nonzero(ts[0]) == np.count_nonzero(ts[0, base_le:base_le + 11])
    ts_f, _ = timeseries_block(_selection("faithful", [], events=ev))
    # faithful: table order (row_in_file) 4, 3, then the appended 0
    assert ts_f[0, base_le + k["diff"]] == -4 and ts_f[0, base_le + k["min"]] == 0
    assert sorted(counts.rows()) == [("s1", "le", 2), ("s2", "pe", 1)]


def test_vmd_vmp_fixed_mode_weights():
    # s1: earlier images rows 0 (t=1 h), 1 (t=4 h), 2 (t=7 h): raw weights 1, 1.5, 2
    images = [("s1", f"d{i}", T0 + timedelta(hours=h), f"d{i}", T0 + timedelta(hours=h), i)
              for i, h in enumerate([1, 4, 7])]
    images.append(("s2", "d0", T0, "d0", T0, 0))  # s2: one earlier image -> weight 1
    _, prior, _, count, valid = vision_block(_selection("fixed", images))
    w = np.array([1.0, 1.5, 2.0]) / 4.5
    np.testing.assert_allclose(prior[0, :1024], w @ DENSE[:3], rtol=1e-6)
    np.testing.assert_allclose(prior[0, 1024:], w @ PATH[:3], rtol=1e-6)
    np.testing.assert_allclose(prior[1, :1024], DENSE[0], rtol=1e-6)
    assert count.tolist() == [3, 1] and valid.tolist() == [True, True]


def test_vmd_vmp_faithful_mode_weights_and_single_image_zeros():
    images = [("s1", f"d{i}", T0 + timedelta(hours=h), f"d{i}", T0 + timedelta(hours=h), i)
              for i, h in enumerate([1, 4, 7])]
    images.append(("s2", "d0", T0, "d0", T0, 0))
    _, prior, _, count, valid = vision_block(_selection("faithful", images))
    w = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(prior[0, :1024], (w @ DENSE[:3]) / w.sum(), rtol=1e-6)
    assert (prior[1] == 0).all() and valid.tolist() == [True, False]  # one image: 0/0 -> zeros
    assert count.tolist() == [3, 1]
    # HAIM's misalignment: weights of the filtered table, vectors of other (used) images
    swapped = [(s, f, t, "d3" if f == "d2" else u, ut, 3 if f == "d2" else e) for s, f, t, u, ut, e in images]
    _, prior2, _, _, _ = vision_block(_selection("faithful", swapped))
    np.testing.assert_allclose(prior2[0, :1024], (w @ DENSE[[0, 1, 3]]) / w.sum(), rtol=1e-6)


def test_vmp_nan_outputs_fixed_vs_faithful():
    path = PATH.copy()
    path[1, 2] = np.nan  # an untrained xrv output
    images = [("s1", f"d{i}", T0 + timedelta(hours=h), f"d{i}", T0 + timedelta(hours=h), i)
              for i, h in enumerate([1, 4])]
    fixed = _selection("fixed", images)
    fixed.cxr_path = path
    _, prior, _, _, _ = vision_block(fixed)
    assert np.isfinite(prior).all() and prior[0, 1024 + 2] == pytest.approx(PATH[0, 2] / 3)  # weights 1/3, 2/3; NaN -> 0
    faithful = _selection("faithful", images)
    faithful.cxr_path = path
    _, prior, _, _, valid = vision_block(faithful)
    assert (prior[0, 1024:] == 0).all() and (prior[0, :1024] != 0).any() and valid[0]


def test_note_weights_fixed_vs_faithful():
    notes = [("s1", "radiology", "n0", T0 + timedelta(hours=2), None, 3, 2.0, T0 + timedelta(hours=2), 0),
             ("s1", "radiology", "n1", T0 + timedelta(hours=6), None, 1, 6.0, T0 + timedelta(hours=6), 1),
             ("s1", "discharge", "n2", T0 - timedelta(hours=30), None, 2, -30.0, T0, 2),
             ("s2", "radiology", "n0", T0, None, 1, 0.0, T0, 0)]
    fixed, counts = notes_block(_selection("fixed", [], notes=notes))
    assert fixed.shape == (2, 2 * 768)
    np.testing.assert_allclose(fixed[0, :768], (1 * NOTES[0] + 2 * NOTES[1]) / 3, rtol=1e-6)
    np.testing.assert_allclose(fixed[0, 768:], NOTES[2], rtol=1e-6)
    np.testing.assert_allclose(fixed[1, :768], NOTES[0], rtol=1e-6)
    assert counts["radiology"].tolist() == [2, 1] and counts["discharge"].tolist() == [1, 0]
    faithful, _ = notes_block(_selection("faithful", [], notes=notes))
    # hours since admittime x n_chunks: 6 and 6 -> equal weights; negative single weight still averages
    np.testing.assert_allclose(faithful[0, :768], (NOTES[0] + NOTES[1]) / 2, rtol=1e-6)
    np.testing.assert_allclose(faithful[0, 768:], NOTES[2], rtol=1e-6)
    assert (faithful[1, :768] == 0).all()  # weight 0 -> sum 0 -> zeros
