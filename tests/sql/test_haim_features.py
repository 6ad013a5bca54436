"""cohorts.haim_samples and features.haim on a small synthetic source, against a plain per-sample re-implementation
of the rules (Python loops, NumPy/SciPy), in both modes; missing embedding tables; determinism and shards."""

from __future__ import annotations

import hashlib
import shutil
import warnings
from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy.signal import find_peaks

from tests.sql.test_haim_leakage import SHARDS, make_haim_home, study_datetime

CHEXPERT = ("Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Enlarged Cardiomediastinum", "Fracture",
            "Lung Lesion", "Lung Opacity", "No Finding", "Pleural Effusion", "Pleural Other", "Pneumonia",
            "Pneumothorax", "Support Devices")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return make_haim_home(tmp_path_factory.mktemp("haim-features"))


def lake(home, schema: str, table: str) -> pl.DataFrame:
    """A lake table with its storage order (file path, row in file)."""
    files = sorted(home.table_dir(schema, table).rglob("*.parquet"), key=str)
    return pl.concat([pl.read_parquet(f, hive_partitioning=False)
                      .with_columns(pl.lit(str(f)).alias("file"), pl.int_range(pl.len()).alias("row"))
                      for f in files], how="diagonal_relaxed")


@pytest.fixture(scope="module")
def built(home):
    from features.haim import build_haim

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {mode: build_haim(home, mode=mode) for mode in ("fixed", "faithful")}


def floor_minute(t):
    return t.replace(second=0, microsecond=0)


# ---------------------------------------------------------------- the cohort


def test_cohort_rules(home):
    from features.haim import describe_haim_samples
    from features.labels import with_haim_48h_labels

    cohort = lake(home, "cohorts", "haim_samples").sort("sample_id")
    meta = lake(home, "raw", "cxr_metadata")
    meta = meta.with_columns(study_datetime(meta).alias("t"))
    adm = lake(home, "raw", "hosp_admissions")
    stays = lake(home, "raw", "icu_icustays")
    icu_adm = stays.select("subject_id", "hadm_id").unique()
    pairs = (meta.join(adm.join(icu_adm, on=["subject_id", "hadm_id"]), on="subject_id")
             .filter((pl.col("t") >= pl.col("admittime")) & (pl.col("t") <= pl.col("dischtime"))))
    assert cohort.height == pairs.height >= 20
    assert cohort["sample_id"].n_unique() == cohort.height
    assert sorted(cohort["sample_id"]) == sorted(pairs["dicom_id"] + "-" + pairs["hadm_id"].cast(pl.String))
    assert set(cohort["view_position"].drop_nulls()) == set(pairs["ViewPosition"].drop_nulls())  # all views kept
    by_id = {r["sample_id"]: r for r in cohort.iter_rows(named=True)}
    n_null = 0
    for p in pairs.iter_rows(named=True):
        row = by_id[f"{p['dicom_id']}-{p['hadm_id']}"]
        assert row["prediction_time"] == row["study_datetime"] == p["t"]
        cand = [s for s in stays.filter(pl.col("hadm_id") == p["hadm_id"]).iter_rows(named=True)
                if s["intime"] <= p["t"]]
        inside = [s for s in cand if p["t"] <= s["outtime"]]
        pick = max(inside or cand, key=lambda s: (s["intime"], s["stay_id"])) if cand else None
        assert row["stay_id"] == (pick["stay_id"] if pick else None)
        assert row["image_in_stay"] == bool(inside)
        n_null += pick is None
        assert row["death_status"] == int(p["discharge_location"] == "DIED")
        assert row["img_length_of_stay_hours"] == pytest.approx((p["dischtime"] - p["t"]).total_seconds() / 3600)
    assert cohort["stay_id"].null_count() == n_null
    labels = with_haim_48h_labels(cohort.select("sample_id", "discharge_location", "dischtime", "prediction_time"))
    assert labels["mortality_48h"].to_list() == cohort["mortality_48h"].cast(pl.Int8).to_list()
    assert labels["discharge_48h"].to_list() == cohort["discharge_48h"].cast(pl.Int8).to_list()
    chex = lake(home, "raw", "cxr_chexpert")
    joined = cohort.join(chex, on=["subject_id", "study_id"], how="left", suffix="_x")
    for name in CHEXPERT:
        assert joined[name].fill_null(-9).to_list() == joined[f"{name}_x"].fill_null(-9).to_list()
    assert "rules:" in describe_haim_samples()


# ---------------------------------------------------------------- time series vs a per-sample re-implementation


def reference_stats(x: list[float]) -> list[float]:
    x = np.asarray(x, dtype=float)
    d = np.diff(x)
    v = [x.max(), x.min(), x.mean(), x.var(ddof=1) if len(x) > 1 else np.nan, d.mean() if len(d) else np.nan,
         np.abs(d).mean() if len(d) else np.nan, np.abs(d).max() if len(d) else np.nan, np.abs(d).sum(),
         x[-1] - x[0], len(find_peaks(x)[0]), np.polyfit(np.arange(len(x)), x, 1)[0] if len(x) > 1 else 0]
    return [0.0 if np.isnan(a) else float(a) for a in v]


def reference_ts(home, cohort: pl.DataFrame, mode: str) -> np.ndarray:
    from features.haim.layout import TS_SOURCES

    d_items = lake(home, "raw", "icu_d_items")
    d_lab = lake(home, "raw", "hosp_d_labitems")
    tables = {"ce": lake(home, "raw", "icu_chartevents"), "le": lake(home, "raw", "hosp_labevents"),
              "pe": lake(home, "raw", "icu_procedureevents")}
    out = np.zeros((cohort.height, 451))
    offset = 0
    for src, (_, labels) in TS_SOURCES.items():
        dictionary = d_lab if src == "le" else d_items
        ev_all = tables[src]
        time_col = "starttime" if src == "pe" else "charttime"
        value_col = "value" if src == "pe" else "valuenum"
        for j, label in enumerate(labels):
            ids = dictionary.filter(pl.col("label") == label)["itemid"].to_list()
            ev_sig = ev_all.filter(pl.col("itemid").is_in(ids) & pl.col(value_col).is_not_null()
                                   & pl.col(value_col).is_not_nan())
            for i, s in enumerate(cohort.iter_rows(named=True)):
                scope = ("hadm_id", s["hadm_id"]) if src == "le" else ("stay_id", s["stay_id"])
                if scope[1] is None:
                    continue
                ev = ev_sig.filter((pl.col("subject_id") == s["subject_id"]) & (pl.col(scope[0]) == scope[1]))
                rows = []
                for e in ev.iter_rows(named=True):
                    t, value = e[time_col], e[value_col]
                    if mode == "fixed":
                        if t is None or t >= s["prediction_time"]:
                            continue
                        if (src == "pe" and e["endtime"] is not None and e["endtime"] > s["prediction_time"]
                                and e["endtime"] > t and (e["valueuom"] or "").lower() in ("min", "hour", "day")):
                            value *= (s["prediction_time"] - t) / (e["endtime"] - t)
                    elif src != "pe" and t is not None and t > floor_minute(s["prediction_time"]):
                        continue
                    rows.append(((t, e["file"], e["row"]) if mode == "fixed" else (e["file"], e["row"]), value))
                if not rows:
                    continue
                x = [v for _, v in sorted(rows, key=lambda r: r[0])]
                if mode == "faithful":
                    x.append(0.0)
                out[i, offset + 11 * j: offset + 11 * (j + 1)] = reference_stats(x)
        offset += 11 * len(labels)
    return out


@pytest.mark.parametrize("mode", ["fixed", "faithful"])
def test_timeseries_statistics_match_a_per_sample_reimplementation(home, built, mode):
    frame, _ = built[mode]
    cohort = frame.select("sample_id", "subject_id", "hadm_id", "stay_id", "prediction_time")
    ts_cols = [f"ts_{s}_{i}" for s, n in (("ce", 99), ("le", 242), ("pe", 110)) for i in range(n)]
    got = frame.select(ts_cols).to_numpy()
    want = reference_ts(home, cohort, mode)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-8)
    assert np.count_nonzero(want[:, :99]) and np.count_nonzero(want[:, 99:341]) and np.count_nonzero(want[:, 341:])


def test_modes_differ_where_haim_differs(built):
    fixed, faithful = built["fixed"][0], built["faithful"][0]
    assert fixed["sample_id"].to_list() == faithful["sample_id"].to_list()
    de = [f"de_{i}" for i in range(6)]
    assert fixed.select(de).equals(faithful.select(de))  # demographics: one definition
    vd = [f"vd_{i}" for i in range(1024)]
    assert fixed.select(vd).equals(faithful.select(vd))  # own image: one definition
    assert not np.allclose(fixed.select("^ts_ce_.*$").to_numpy(), faithful.select("^ts_ce_.*$").to_numpy())


# ---------------------------------------------------------------- vision and notes vs a re-implementation


def test_vision_blocks_match_a_per_sample_reimplementation(home, built):
    cxr = lake(home, "embeddings", "cxr_densenet121_chex")
    dense = {r["dicom_id"]: np.asarray(r["dense"]) for r in cxr.iter_rows(named=True)}
    paths = {r["dicom_id"]: np.asarray(r["pathologies"]) for r in cxr.iter_rows(named=True)}
    split = lake(home, "raw", "cxr_split").sort("file", "row")
    times = dict(cxr.select("dicom_id", "study_datetime").iter_rows())
    cohort = lake(home, "cohorts", "haim_samples")
    admit = dict(cohort.select("sample_id", "admittime").iter_rows())
    for mode in ("fixed", "faithful"):
        frame = built[mode][0]
        got_vd = frame.select([f"vd_{i}" for i in range(1024)]).to_numpy()
        got_vmd = frame.select([f"vmd_{i}" for i in range(1024)]).to_numpy()
        got_vmp = frame.select([f"vmp_{i}" for i in range(18)]).to_numpy()
        for i, s in enumerate(frame.iter_rows(named=True)):
            np.testing.assert_allclose(got_vd[i], dense[s["dicom_id"]])
            pt = s["prediction_time"]
            subject_images = [d for d in split.filter(pl.col("subject_id") == s["subject_id"])["dicom_id"]]
            if mode == "fixed":
                used = [d for d in subject_images if admit[s["sample_id"]] <= times[d] < pt]
                t = np.array([(times[d] - pt).total_seconds() for d in used])
                w = 1 + (t - t.min()) / (t.max() - t.min()) if len(t) and t.max() > t.min() else np.ones(len(t))
                vectors = used
            else:
                kept = [d for d in subject_images if floor_minute(times[d]) <= floor_minute(pt)]
                t = np.array([(floor_minute(times[d]) - pt).total_seconds() for d in kept])
                with np.errstate(invalid="ignore", divide="ignore"):
                    w = (t - t.min()) / (t.max() - t.min())
                vectors = subject_images[:len(kept)]  # HAIM's misaligned image list
            want_vmd, want_vmp = np.zeros(1024), np.zeros(18)
            if len(vectors) and np.isfinite(w).all() and w.sum() != 0:
                want_vmd = np.average([dense[d] for d in vectors], axis=0, weights=w)
                want_vmp = np.average([paths[d] for d in vectors], axis=0, weights=w)
            np.testing.assert_allclose(got_vmd[i], want_vmd, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(got_vmp[i], want_vmp, rtol=1e-5, atol=1e-6)
            assert s["has_prior_cxr"] == bool(np.any(want_vmd))
        assert frame["has_prior_cxr"].sum() > 0


def test_note_blocks_match_a_per_sample_reimplementation(home, built):
    notes = lake(home, "embeddings", "notes_clinicalbert_notes")
    stored = dict(pl.concat([lake(home, "raw", t).select("note_id", "storetime")
                             for t in ("note_radiology", "note_discharge")]).iter_rows())
    cohort = lake(home, "cohorts", "haim_samples")
    admit = dict(cohort.select("sample_id", "admittime").iter_rows())
    for mode in ("fixed", "faithful"):
        frame = built[mode][0]
        for prefix, source in (("n_rad", "radiology"), ("n_dis", "discharge")):
            got = frame.select([f"{prefix}_{i}" for i in range(768)]).to_numpy()
            for i, s in enumerate(frame.iter_rows(named=True)):
                pt = s["prediction_time"]
                cand = notes.filter((pl.col("subject_id") == s["subject_id"]) & (pl.col("hadm_id") == s["hadm_id"])
                                    & (pl.col("source") == source))
                vecs, w = [], []
                for n in cand.iter_rows(named=True):
                    ct, st = n["charttime"], stored.get(n["note_id"])
                    if mode == "fixed":
                        ok = ct < pt and (st < pt if st is not None else
                                          (source != "radiology" or ct < floor_minute(pt)))
                    else:
                        ok = ct <= floor_minute(pt)
                    if ok:
                        vecs.append(np.asarray(n["embedding"]))
                        w.append((ct - admit[s["sample_id"]]).total_seconds() / 3600 * n["n_chunks"]
                                 if mode == "faithful" else (ct - pt).total_seconds())
                want = np.zeros(768)
                if vecs:
                    w = np.asarray(w, dtype=float)
                    if mode == "fixed":
                        w = 1 + (w - w.min()) / (w.max() - w.min()) if w.max() > w.min() else np.ones(len(w))
                    if w.sum() != 0:
                        want = np.average(vecs, axis=0, weights=w)
                np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-5)
                assert s[f"{source}_note_count"] == len(vecs)
        assert frame["radiology_note_count"].sum() > 0


def test_demographics_are_whole_table_categorical_codes(home, built):
    pats = lake(home, "raw", "hosp_patients")
    adm = lake(home, "raw", "hosp_admissions")
    frame = built["fixed"][0]
    rows = frame.select("subject_id", "hadm_id", *[f"de_{i}" for i in range(6)]) \
        .join(pats.select("subject_id", "anchor_age", "gender"), on="subject_id") \
        .join(adm.select("hadm_id", "race", "marital_status", "language", "insurance"), on="hadm_id")
    assert (rows["de_0"] == rows["anchor_age"]).all()
    for k, (col, table) in enumerate([("gender", pats), ("race", adm), ("marital_status", adm),
                                      ("language", adm), ("insurance", adm)], start=1):
        vocab = sorted(table[col].drop_nulls().unique().to_list())
        want = [vocab.index(v) if v is not None else -1 for v in rows[col]]
        assert rows[f"de_{k}"].cast(pl.Int64).to_list() == want


# ---------------------------------------------------------------- missing tables, shards, writing


def test_missing_embedding_tables_give_null_blocks_counts_and_warnings(home, built):
    from features.haim import build_haim

    moved = home.lake / "embeddings_off"
    shutil.move(home.lake / "embeddings", moved)
    try:
        with pytest.warns(UserWarning, match="missing"):
            frame, stats = build_haim(home, mode="fixed")
    finally:
        shutil.move(moved, home.lake / "embeddings")
    assert len(stats["warnings"]) == 2 and all("missing" in w for w in stats["warnings"])
    assert not frame["has_cxr_embedding"].any() and not frame["has_prior_cxr"].any()
    assert frame["radiology_note_count"].sum() == 0
    # never a zero vector: the own image and note blocks are null for every sample, vmd/vmp wherever the
    # sample has earlier images (the others have nothing to embed: HAIM's zeros)
    n = frame.height
    assert frame.select(pl.col("^(vd|vp|n_rad|n_dis)_.*$").null_count()).to_numpy().min() == n
    with_prior = built["fixed"][0]["has_prior_cxr"].to_numpy()
    assert stats["missing_embeddings"] == {"own_cxr": n, "prior_cxr": int(with_prior.sum()),
                                           "note_radiology": n, "note_discharge": n}
    assert 0 < with_prior.sum() < n
    assert frame.filter(pl.Series(with_prior))["vmd_0"].null_count() == with_prior.sum()
    assert not frame.filter(pl.Series(~with_prior)).select(pl.col("^(vmd|vmp)_.*$")).to_numpy().any()
    ts = pl.col("^ts_.*$")
    assert frame.select(ts).equals(built["fixed"][0].select(ts))  # the rest is unchanged


def test_shards_union_equals_the_all_at_once_build(home, built):
    from features.haim import build_haim

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = [build_haim(home, shard=k, shards=SHARDS, mode="fixed")[0] for k in range(SHARDS)]
    union = pl.concat(parts).sort("sample_id")
    # equal up to float summation order (Polars' SIMD sums depend on where a group sits in memory: ~1e-14)
    assert_frame_equal(union, built["fixed"][0].sort("sample_id"), check_exact=False, rel_tol=1e-12, abs_tol=1e-12)


def test_the_haim_asset_publishes_a_deterministic_view(home):
    from tests.graph import materialise
    from warehouse.lake import catalog
    from warehouse.sources import resolve_sources

    def digests():
        table_dir = home.table_dir("features", "haim")
        return {str(p.relative_to(table_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(table_dir.rglob("*.parquet"))}

    first = materialise(home, resolve_sources(home), "features/haim", shards=SHARDS)["metadata"]["features/haim"]
    files = digests()
    second = materialise(home, resolve_sources(home), "features/haim", shards=SHARDS)["metadata"]["features/haim"]
    assert digests() == files and first["rows"] == second["rows"]
    assert set(files) == {f"shard={k}/data.parquet" for k in range(SHARDS)}
    assert "random-init" in first["weights_source"]
    with catalog(home, write=False) as con:
        n, n_cohort, width = con.execute(
            "SELECT (SELECT count(*) FROM features.haim), (SELECT count(*) FROM cohorts.haim_samples), "
            "(SELECT count(*) FROM (DESCRIBE features.haim))").fetchone()
        leaks = con.execute("SELECT count(*) FROM features.haim WHERE asof_time > prediction_time").fetchone()[0]
    assert n == n_cohort == first["rows"] and leaks == 0
    assert width == 8 + 8 + 6 + 451 + 2084 + 2 * 768 + 1  # + the hive `shard` column


def test_one_study_time_for_haim_and_the_pairing(home):
    """cohorts.haim_samples, the HAIM image selection and the chest X-ray pairing read the same study time (the
    lake's study_datetime macro): whole seconds, although the source's StudyTime has millisecond fractions."""
    from features.cxr.pairing import load_metadata
    from features.haim.build import load_samples, select_sources
    from warehouse.lake import open_lake

    con = open_lake(home)
    try:
        pairing = load_metadata(con, home).select("dicom_id", "study_datetime")
        samples = load_samples(con)
        images = select_sources(con, home, samples).images
        fractions = con.execute("SELECT count(*) FROM raw.cxr_metadata WHERE StudyTime <> floor(StudyTime)").fetchone()[0]
    finally:
        con.close()
    assert fractions > 0  # not vacuous
    joined = samples.join(pairing, on="dicom_id")
    assert joined.height == samples.height
    assert (joined["prediction_time"] == joined["study_datetime"]).all()
    assert (joined["prediction_time"].dt.microsecond() == 0).all()
    used = images.join(pairing, left_on="used_dicom_id", right_on="dicom_id")
    assert used.height > 0 and (used["used_image_time"] == used["study_datetime"]).all()


def test_prediction_minute_bound_and_one_second_earlier(home):
    """Fixed mode bounds are strict at full resolution: an event one second before counts, at the time not."""
    from features.haim.build import select_sources
    from warehouse.lake import open_lake

    con = open_lake(home)
    try:
        samples = con.sql("SELECT sample_id, subject_id, hadm_id, stay_id, dicom_id, study_id, prediction_time, "
                          "admittime FROM cohorts.haim_samples ORDER BY sample_id").pl()
        # one sample with events: move its prediction time exactly onto the time of one of them
        for s in samples.filter(pl.col("stay_id").is_not_null()).iter_rows(named=True):
            one = samples.filter(pl.col("sample_id") == s["sample_id"])
            times = select_sources(con, home, one, "fixed").events["event_time"].unique().sort()
            if len(times) >= 2:
                break
        t = times[len(times) // 2]
        moved = one.with_columns(pl.lit(t).alias("prediction_time"))
        at = select_sources(con, home, moved, "fixed").events
        before = select_sources(con, home, moved.with_columns(pl.col("prediction_time") + timedelta(seconds=1)),
                                "fixed").events
    finally:
        con.close()
    assert at.filter(pl.col("event_time") >= t).height == 0
    assert before.filter(pl.col("event_time") == t).height >= 1


def test_a_source_without_chest_xrays_gives_an_empty_cohort_and_table(home, tmp_path):
    from features.haim import build_haim, build_haim_samples
    from warehouse.ingest import ingest
    from warehouse.lake import ClinfuseError, Home
    from warehouse.sources import Sources

    bare = Home.open(tmp_path / "bare")
    ingest(bare, Sources(mimic_iv=home.root.parent / "src" / "mimic-iv"), shards=SHARDS)
    assert build_haim_samples(bare, SHARDS) == 0
    with pytest.raises(ClinfuseError, match="empty"):
        build_haim_samples(bare, SHARDS, allow_empty=False)
    with pytest.warns(UserWarning, match="missing"):
        frame, stats = build_haim(bare, shards=SHARDS)
    assert frame.height == 0 and frame.width == 8 + 8 + 6 + 451 + 2084 + 2 * 768
