"""The HAIM assets through Dagster: each mode under its own asset key, and a missing embedding is a null block
reported by a warning check (never a silent zero vector)."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest

from pipelines.assets.haim import build_haim_assets
from pipelines.resources import ClinfuseResource
from tests.sql.test_haim_leakage import SHARDS, make_haim_home
from warehouse.lake import catalog


@pytest.fixture(scope="module")
def haim_home(tmp_path_factory):
    return make_haim_home(tmp_path_factory.mktemp("haim-assets"))


def _materialise(home, key: str) -> dg.ExecuteInProcessResult:
    resource = ClinfuseResource(home=str(home.root), shards=SHARDS, weights="auto")
    tags = {"dagster/asset_partition_range_start": "0", "dagster/asset_partition_range_end": str(SHARDS - 1)}
    return dg.materialize(build_haim_assets(SHARDS), selection=[dg.AssetKey(key.split("/"))],
                          resources={"clinfuse": resource}, instance=dg.DagsterInstance.ephemeral(), tags=tags)


def test_each_mode_is_its_own_asset_key_and_table(haim_home):
    for key, table, mode in (("features/haim_faithful", "haim_faithful", "faithful"),
                             ("features/haim", "haim", "fixed")):
        result = _materialise(haim_home, key)
        assert result.success
        events = result.get_asset_materialization_events()  # one per shard, the same metadata
        assert {e.asset_key.to_user_string() for e in events} == {key} and len(events) == SHARDS
        meta = events[0].materialization.metadata
        assert meta["table"].value == f"features.{table}" and meta["mode"].value == mode
    with catalog(haim_home, write=False) as con:
        # the two tables differ (faithful leaks the sample's own image into vmd), so neither replaced the other
        leaking = con.execute("SELECT count(*) FROM features.haim_faithful f JOIN features.haim h USING (sample_id) "
                              "WHERE f.prior_cxr_count > h.prior_cxr_count").fetchone()[0]
    assert leaking > 0


def test_a_missing_image_embedding_is_null_counted_and_warned(haim_home):
    table_dir = haim_home.table_dir("embeddings", "cxr_densenet121_chex")
    files = sorted(table_dir.rglob("*.parquet"))
    originals = {f: f.read_bytes() for f in files}
    with catalog(haim_home, write=False) as con:
        dropped = con.execute("SELECT dicom_id FROM cohorts.haim_samples ORDER BY sample_id LIMIT 1").fetchone()[0]
    try:
        for f in files:
            frame = pl.read_parquet(f, hive_partitioning=False)
            frame.filter(pl.col("dicom_id") != dropped).write_parquet(f)
        result = _materialise(haim_home, "features/haim")
    finally:
        for f, data in originals.items():
            f.write_bytes(data)
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "embeddings_present" and not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    event = result.get_asset_materialization_events()[0]
    assert event.materialization.metadata["null_own_cxr"].value >= 1
    with catalog(haim_home, write=False) as con:
        nulls, zeros = con.execute(
            "SELECT count(*) FILTER (WHERE vd_0 IS NULL AND vp_0 IS NULL), count(*) FILTER (WHERE vd_0 = 0) "
            "FROM features.haim WHERE dicom_id = ?", [dropped]).fetchone()
    assert nulls >= 1 and zeros == 0
    # with every embedding present the check passes
    clean = _materialise(haim_home, "features/haim")
    assert [c.passed for c in clean.get_asset_check_evaluations()] == [True]
