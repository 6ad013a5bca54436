"""CXR pairing, tensors and embeddings on a small synthetic source with images."""

from __future__ import annotations

from datetime import timedelta

import cv2
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.cxr.pairing import PARTIAL_COLUMNS, build_pairs, paired_samples
from features.cxr.tensors import CROP, FAILURE_SCHEMA, TENSOR_BYTES, TENSOR_SCHEMA, build_tensors, preprocess

SHARDS = 4


@pytest.fixture(scope="module")
def synth_home(tmp_path_factory):
    from tests.graph import materialise
    from warehouse.cohorts import build_cohorts
    from warehouse.ingest import ingest
    from warehouse.lake import Home
    from warehouse.sources import synthetic_sources
    from warehouse.synth import generate

    root = tmp_path_factory.mktemp("synth-cxr")
    generate(root / "src", patients=30, seed=5, images=True)
    home = Home.open(root / "home")
    ingest(home, synthetic_sources(root / "src"), shards=SHARDS)
    build_cohorts(home, shards=SHARDS)
    materialise(home, synthetic_sources(root / "src"), "key:features/timeseries_events or key:features/timeseries_ihm", shards=SHARDS)
    return home


def _sql(home, query: str) -> pl.DataFrame:
    from warehouse.lake import open_lake

    con = open_lake(home)
    try:
        return con.sql(query).pl()
    finally:
        con.close()


@pytest.mark.parametrize("task", ["ihm", "pheno"])
def test_pairs_are_the_latest_in_window_ap_images(synth_home, task):
    frame, counts = build_pairs(synth_home, task, shards=SHARDS)
    cohort = "ihm_48h" if task == "ihm" else "phenotyping"
    stays = _sql(synth_home, f"SELECT * FROM cohorts.{cohort}")
    assert frame.columns == list(PARTIAL_COLUMNS)
    assert sorted(frame["stay_id"].to_list()) == sorted(stays["stay_id"].to_list())  # PARTIAL = every sample
    paired = paired_samples(frame)
    assert counts["partial"] == frame.height and counts["paired"] == paired.height > 0
    assert counts["paired_fraction"] == round(paired.height / frame.height, 4)
    assert (paired["view_position"] == "AP").all()
    assert paired["dicom_id"].null_count() == 0 and frame.filter(~pl.col("has_cxr"))["dicom_id"].null_count() \
        == frame.height - paired.height

    # An independent SQL statement of the rule: latest AP image in [intime, end], ties by greatest dicom_id.
    end = "c.intime + INTERVAL 48 HOUR" if task == "ihm" else "c.outtime"
    expected = _sql(synth_home, f"""
        WITH img AS (
            SELECT dicom_id, subject_id,
                   strptime(CAST(StudyDate AS VARCHAR) || lpad(CAST(CAST(trunc(StudyTime) AS BIGINT) AS VARCHAR), 6, '0'),
                            '%Y%m%d%H%M%S') AS t
            FROM raw.cxr_metadata WHERE ViewPosition = 'AP')
        SELECT c.stay_id, arg_max(img.dicom_id, (img.t, img.dicom_id)) AS dicom_id, max(img.t) AS t
        FROM cohorts.{cohort} c JOIN img ON img.subject_id = c.subject_id AND img.t BETWEEN c.intime AND {end}
        GROUP BY c.stay_id ORDER BY c.stay_id""")
    got = paired.select("stay_id", "dicom_id", pl.col("study_datetime").alias("t")).sort("stay_id")
    assert_frame_equal(got, expected, check_dtypes=False)

    windows = paired.join(stays.select("stay_id", "intime", *(["outtime"] if task == "pheno" else [])), on="stay_id")
    assert (windows["study_datetime"] >= windows["intime_right"]).all()
    limit = windows["intime"] + timedelta(hours=48) if task == "ihm" else windows["outtime"]
    assert (windows["study_datetime"] <= limit).all()


@pytest.mark.parametrize("task", ["ihm", "pheno"])
def test_sharded_pairs_equal_all_at_once(synth_home, task):
    whole, _ = build_pairs(synth_home, task, shards=SHARDS)
    parts = [build_pairs(synth_home, task, shard=k, shards=SHARDS)[0] for k in range(SHARDS)]
    assert_frame_equal(pl.concat(parts).sort("subject_id", "stay_id"), whole)


def test_views_option_widens_the_choice(synth_home):
    ap, _ = build_pairs(synth_home, "pheno", shards=SHARDS)
    every, counts = build_pairs(synth_home, "pheno", shards=SHARDS, views=None)
    assert counts["views"] is None and counts["paired"] >= int(ap["has_cxr"].sum())


@pytest.fixture(scope="module")
def tensors(synth_home):
    """Tensors of every image, after damaging two files post-ingest (one truncated, one deleted)."""
    images = _sql(synth_home, "SELECT dicom_id, path FROM raw.cxr_images ORDER BY dicom_id")
    truncated, deleted = images["path"][0], images["path"][1]
    data = open(truncated, "rb").read()
    open(truncated, "wb").write(data[: len(data) // 3])
    import os

    os.remove(deleted)
    frame, failures, stats = build_tensors(synth_home, num_workers=2)
    return images, frame, failures, stats, (images["dicom_id"][0], images["dicom_id"][1])


def test_tensors_for_every_readable_image(synth_home, tensors):
    images, frame, failures, stats, (truncated, deleted) = tensors
    assert frame.schema == pl.Schema(TENSOR_SCHEMA) and failures.schema == pl.Schema(FAILURE_SCHEMA)
    assert dict(zip(failures["dicom_id"], failures["reason"], strict=True)) == {
        truncated: "truncated JPEG", deleted: "missing file"}
    assert sorted(frame["dicom_id"].to_list() + failures["dicom_id"].to_list()) == sorted(images["dicom_id"].to_list())
    assert frame["dicom_id"].n_unique() == frame.height == stats["tensors"] == images.height - 2
    assert stats["failures"] == 2 and stats["images"] == images.height and stats["images_per_second"] > 0
    assert (frame["height"] == CROP).all() and (frame["width"] == CROP).all()
    assert (frame["clahe"].bin.size() == TENSOR_BYTES).all() and (frame["plain"].bin.size() == TENSOR_BYTES).all()
    meta = _sql(synth_home, "SELECT dicom_id, ViewPosition AS view_position FROM raw.cxr_metadata")
    joined = frame.select("dicom_id", "view_position").join(meta, on="dicom_id", how="left")
    assert joined["view_position"].eq_missing(joined["view_position_right"]).all()
    assert frame["study_datetime"].null_count() == 0
    paths = dict(zip(images["dicom_id"], images["path"], strict=True))
    for row in frame.head(3).iter_rows(named=True):
        stored = np.frombuffer(row["clahe"], np.uint8).reshape(CROP, CROP)
        assert np.array_equal(stored, preprocess(paths[row["dicom_id"]]))


def test_tensors_by_shard_equal_all_at_once(synth_home, tensors):
    _, frame, failures, _, _ = tensors
    parts = [build_tensors(synth_home, shard=k, shards=SHARDS, num_workers=0) for k in range(SHARDS)]
    assert_frame_equal(pl.concat([p[0] for p in parts]).sort("subject_id", "dicom_id"), frame)
    assert_frame_equal(pl.concat([p[1] for p in parts]).sort("subject_id", "dicom_id"), failures)


def test_a_rebuild_decodes_only_the_files_the_tensor_cache_has_not_seen(synth_home, tensors, tmp_path):
    """The cache returns the tensors a full decode gives; a rewritten file (new size or time) is decoded again and
    bad files are tried again at every build."""
    import os

    from features.cxr.tensors import tensor_cache
    from warehouse.lake import Home

    images, frame, failures, _, _ = tensors
    cache = tensor_cache(Home.open(tmp_path / "cache-home"))  # the cache in its own home: synth_home stays as it was

    def build():
        parts = [build_tensors(synth_home, shard=k, shards=SHARDS, num_workers=0, cache=cache) for k in range(SHARDS)]
        stats = {k: sum(p[2][k] for p in parts) for k in ("cache_hits", "cache_misses")}
        return pl.concat([p[0] for p in parts]).sort("subject_id", "dicom_id"), \
            pl.concat([p[1] for p in parts]).sort("subject_id", "dicom_id"), stats

    first, first_failures, first_stats = build()
    assert first_stats == {"cache_hits": 0, "cache_misses": images.height}
    assert_frame_equal(first, frame) and assert_frame_equal(first_failures, failures)
    second, second_failures, second_stats = build()
    assert second_stats == {"cache_hits": frame.height, "cache_misses": 2}  # the truncated and the deleted file
    assert_frame_equal(second, frame) and assert_frame_equal(second_failures, failures)

    path = dict(zip(images["dicom_id"], images["path"], strict=True))[frame["dicom_id"][-1]]
    original = open(path, "rb").read()
    flipped = cv2.imencode(".jpg", cv2.flip(cv2.imread(path, cv2.IMREAD_GRAYSCALE), 1))[1].tobytes()
    try:
        open(path, "wb").write(flipped)
        third, _, third_stats = build()
        assert third_stats == {"cache_hits": frame.height - 1, "cache_misses": 3}
        changed = third.filter(pl.col("dicom_id") == frame["dicom_id"][-1])["clahe"][0]
        assert np.array_equal(np.frombuffer(changed, np.uint8).reshape(CROP, CROP), preprocess(path))
        assert changed != frame["clahe"][-1]
    finally:
        open(path, "wb").write(original)
        os.utime(path)


def test_embeddings_through_the_lake(synth_home, tensors, tmp_path):
    from features.cxr import densenet as dn
    from warehouse.lake import write_arrow

    _, frame, _, _, _ = tensors
    write_arrow(synth_home, "features", "cxr_tensors", frame.to_arrow())
    stored = dn.load_tensors(synth_home)
    assert stored.height == frame.height
    assert_frame_equal(stored.sort("dicom_id").select(frame.columns), frame.sort("dicom_id"), check_dtypes=False)

    emb, stats = dn.build_embeddings(stored, policy="auto", cache_dir=tmp_path / "no-weights", device="cpu")
    assert emb.schema == pl.Schema(dn.EMBEDDING_SCHEMA)
    assert emb.height == frame.height and emb["dicom_id"].to_list() == stored["dicom_id"].to_list()
    dense, paths = emb["dense"].to_numpy(), emb["pathologies"].to_numpy()
    assert dense.shape == (frame.height, 1024) and paths.shape == (frame.height, 18)
    assert np.isfinite(dense).all() and np.isfinite(paths).all()
    assert emb["weights_source"].unique().to_list() == ["random-init"] and stats["weights_source"] == "random-init"
    assert stats["input"] == "plain" and stats["pathologies"] == list(dn.PATHOLOGIES)
