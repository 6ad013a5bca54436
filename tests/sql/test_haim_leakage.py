"""features.haim uses nothing at or after a sample's prediction time (fixed mode), and the check can fail:
HAIM's faithful mode leaks procedures (a constructed case), the own image/study and the own radiology report.

Source: a small synthetic MIMIC (30 patients, no image files, with notes) → ingest → cohorts.haim_samples, with
hand-made embedding tables in the exact schemas of embeddings.cxr_densenet121_chex and
embeddings.notes_clinicalbert_notes (random vectors; study_datetime parsed from the metadata independently).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

SHARDS = 4
LEAK_HOURS = 1.0  # the constructed procedure starts this long after its sample's prediction time


def study_datetime(meta: pl.DataFrame) -> pl.Expr:
    """StudyDate + StudyTime truncated to whole seconds, parsed with Polars (independent of the lake's macro)."""
    s = pl.col("StudyTime").floor().cast(pl.Int64)
    return (pl.col("StudyDate").cast(pl.String).str.strptime(pl.Datetime("us"), "%Y%m%d")
            + pl.duration(hours=s // 10_000, minutes=(s // 100) % 100, seconds=s % 100))


def write_embedding_tables(home, seed: int = 0, nan_pathologies: bool = False) -> None:
    """embeddings.cxr_densenet121_chex and embeddings.notes_clinicalbert_notes, hive-sharded, exact schemas."""
    from warehouse.lake import publish, write_arrow

    rng = np.random.default_rng(seed)
    meta = pl.read_parquet(home.table_dir("raw", "cxr_metadata") / "**" / "*.parquet", hive_partitioning=False)
    cxr = meta.sort("dicom_id").select(
        "dicom_id", "subject_id", "study_id", study_datetime(meta).alias("study_datetime"),
        pl.col("ViewPosition").alias("view_position"))
    n = cxr.height
    paths = rng.random((n, 18), dtype=np.float32)
    if nan_pathologies:
        paths[:, 2] = np.nan  # Infiltration: untrained in the chex weights
    cxr = cxr.with_columns(
        pl.Series("dense", rng.random((n, 1024), dtype=np.float32), dtype=pl.Array(pl.Float32, 1024)),
        pl.Series("pathologies", paths, dtype=pl.Array(pl.Float32, 18)),
        pl.lit("random-init").alias("weights_source"),
        (pl.col("subject_id") % SHARDS).cast(pl.Int32).alias("shard"))
    notes = []
    for source, table in (("radiology", "note_radiology"), ("discharge", "note_discharge")):
        raw = pl.read_parquet(home.table_dir("raw", table) / "**" / "*.parquet", hive_partitioning=False)
        notes.append(raw.select("note_id", "subject_id", "hadm_id", "note_type", pl.lit(source).alias("source"),
                                "charttime"))
    notes = pl.concat(notes).sort("note_id")
    m = notes.height
    notes = notes.with_columns(
        pl.Series("n_chunks", rng.integers(1, 4, m), dtype=pl.Int32),
        pl.Series("embedding", rng.standard_normal((m, 768), dtype=np.float32), dtype=pl.Array(pl.Float32, 768)),
        pl.lit("random-init").alias("weights_source"),
        (pl.col("subject_id") % SHARDS).cast(pl.Int32).alias("shard"))
    write_arrow(home, "embeddings", "cxr_densenet121_chex", cxr.to_arrow(), partition_by_shard=True)
    write_arrow(home, "embeddings", "notes_clinicalbert_notes", notes.to_arrow(), partition_by_shard=True)
    publish(home, "embeddings", "cxr_densenet121_chex")
    publish(home, "embeddings", "notes_clinicalbert_notes")


def add_future_procedure(home) -> dict:
    """Append one Intubation procedure event, starting LEAK_HOURS after the prediction time of a sample whose
    stay has no Intubation at all, to raw.icu_procedureevents (a second Parquet file of that shard)."""
    import duckdb

    from features.haim.build import table_scan
    from warehouse.lake import sql_str

    con = duckdb.connect()
    procs = table_scan(home, "raw", "icu_procedureevents")
    items = table_scan(home, "raw", "icu_d_items")
    samples = table_scan(home, "cohorts", "haim_samples")
    row = con.sql(
        f"SELECT s.sample_id, s.subject_id, s.hadm_id, s.stay_id, s.prediction_time, "
        f"(SELECT min(itemid) FROM {items} WHERE label = 'Intubation') AS itemid FROM {samples} AS s "
        f"WHERE s.stay_id IS NOT NULL AND s.stay_id NOT IN (SELECT p.stay_id FROM {procs} AS p JOIN {items} AS d "
        f"ON d.itemid = p.itemid WHERE d.label = 'Intubation') ORDER BY s.sample_id LIMIT 1").pl().row(0, named=True)
    start = row["prediction_time"] + timedelta(hours=LEAK_HOURS)
    shard_dir = home.table_dir("raw", "icu_procedureevents") / f"shard={row['subject_id'] % SHARDS}"
    assert shard_dir.is_dir()
    con.execute(
        f"COPY (SELECT * REPLACE ({row['subject_id']}::BIGINT AS subject_id, {row['hadm_id']}::BIGINT AS hadm_id, "
        f"{row['stay_id']}::BIGINT AS stay_id, TIMESTAMP '{start}' AS starttime, "
        f"TIMESTAMP '{start + timedelta(minutes=1)}' AS endtime, TIMESTAMP '{start + timedelta(hours=2)}' AS storetime, "
        f"{row['itemid']}::INTEGER AS itemid, 1.0::DOUBLE AS value, 'None' AS valueuom) "
        f"FROM read_parquet({sql_str(shard_dir / '*.parquet')}) LIMIT 1) TO {sql_str(shard_dir / 'zz_constructed.parquet')} "
        f"(FORMAT parquet)")
    con.close()
    return {**row, "starttime": start}


def make_haim_home(root: Path, *, embeddings: bool = True):
    """Generate, ingest, build cohorts.haim_samples (+ the hand-made embedding tables); returns the Home."""
    from features.haim import build_haim_samples
    from warehouse.ingest import ingest
    from warehouse.lake import Home
    from warehouse.sources import synthetic_sources
    from warehouse.synth import generate

    generate(root / "src", patients=30, seed=9, images=False, notes=True)
    home = Home.open(root / "home")
    ingest(home, synthetic_sources(root / "src"), shards=SHARDS)
    build_haim_samples(home, SHARDS)
    if embeddings:
        write_embedding_tables(home)
    return home


@pytest.fixture(scope="module")
def leak_home(tmp_path_factory):
    home = make_haim_home(tmp_path_factory.mktemp("haim-leak"))
    return home, add_future_procedure(home)


def assert_no_leakage(times: pl.DataFrame) -> None:
    """Every (sample, source) of features.haim.feature_times must be strictly before the prediction time."""
    bad = times.filter(pl.col("max_time").is_null() | (pl.col("max_time") >= pl.col("prediction_time")))
    assert bad.height == 0, (f"{bad.height} (sample, source) pairs use data at or after the prediction time:\n"
                             f"{bad.group_by('source').len().sort('source')}")


def test_fixed_mode_uses_only_data_strictly_before_the_prediction_time(leak_home):
    from features.haim import feature_times

    home, _ = leak_home
    times = feature_times(home, mode="fixed")
    assert_no_leakage(times)
    # not vacuous: every kind of source contributes to some sample
    assert {"chart", "lab", "procedure", "prior_cxr", "note_radiology"} <= set(times["source"])
    # the same holds shard by shard
    for shard in range(SHARDS):
        assert_no_leakage(feature_times(home, shard=shard, shards=SHARDS, mode="fixed"))


def test_the_check_fails_on_haims_faithful_mode(leak_home):
    from features.haim import feature_times

    home, _ = leak_home
    times = feature_times(home, mode="faithful")
    with pytest.raises(AssertionError, match="at or after the prediction time"):
        assert_no_leakage(times)
    leaking = set(times.filter(pl.col("max_time") >= pl.col("prediction_time"))["source"])
    # procedures never time-filtered; own image and study (<=); the report of the own study
    assert {"procedure", "prior_cxr", "note_radiology"} <= leaking


def test_constructed_future_procedure_leaks_only_in_faithful_mode(leak_home):
    from features.haim import build_haim, feature_times
    from features.haim.layout import PROCEDURE_SIGNALS, STATISTICS

    home, case = leak_home
    sid = case["sample_id"]
    col = f"ts_pe_{PROCEDURE_SIGNALS.index('Intubation') * len(STATISTICS)}"  # Intubation max
    faithful = feature_times(home, mode="faithful").filter((pl.col("sample_id") == sid)
                                                           & (pl.col("source") == "procedure"))
    assert faithful["max_time"].item() == case["starttime"] >= case["prediction_time"]
    fixed = feature_times(home, mode="fixed").filter((pl.col("sample_id") == sid) & (pl.col("source") == "procedure"))
    assert fixed.height == 0 or fixed["max_time"].item() < case["prediction_time"]
    with pytest.warns(UserWarning):
        f_fixed, _ = build_haim(home, mode="fixed")
        f_faithful, _ = build_haim(home, mode="faithful")
    assert f_fixed.filter(pl.col("sample_id") == sid)[col].item() == 0.0  # no Intubation before the image
    assert f_faithful.filter(pl.col("sample_id") == sid)[col].item() == 1.0  # HAIM sees the future intubation


def test_asof_time_never_passes_the_prediction_time_in_fixed_mode(leak_home):
    from features.haim import build_haim

    home, _ = leak_home
    with pytest.warns(UserWarning):
        frame, _ = build_haim(home, mode="fixed")
    assert frame.filter(pl.col("asof_time") > pl.col("prediction_time")).height == 0
    # the own image is the sample: its time is the as-of time whenever nothing later than it was used
    assert frame.filter(pl.col("has_cxr_embedding"))["asof_time"].to_list() == \
        frame.filter(pl.col("has_cxr_embedding"))["prediction_time"].to_list()
