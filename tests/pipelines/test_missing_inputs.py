"""An asset whose input tables were never materialised fails with "materialise X first" and writes nothing; it
never publishes an empty table as a success (features/cxr_tensors once did, on a fresh home)."""

from __future__ import annotations

import dagster as dg
import pytest

from pipelines.definitions import build_assets, build_definitions, defs
from pipelines.resources import ClinfuseResource
from warehouse.lake import Home

SHARDS = 2
DATA_SCHEMAS = ("cohorts", "features", "embeddings")
DATA_ASSETS = sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()
                     if k.path[0] in DATA_SCHEMAS)


def test_every_data_asset_is_checked():
    assert {"features/cxr_tensors", "features/haim", "cohorts/haim_samples", "embeddings/cxr_densenet121_chex",
            "features/note_chunks", "features/timeseries_ihm", "cohorts/icu_stays"} <= set(DATA_ASSETS)


@pytest.mark.parametrize("asset", DATA_ASSETS)
def test_an_asset_alone_on_a_fresh_home_says_which_input_to_materialise(asset, tmp_path):
    home = Home.open(tmp_path / "home")
    assets = build_assets(SHARDS)
    key = dg.AssetKey(asset.split("/"))
    partitioned = defs.resolve_asset_graph().get(key).is_partitioned
    resource = ClinfuseResource(home=str(home.root), shards=SHARDS, weights="auto", notes_model="random-init:L1")
    result = dg.materialize(assets, selection=dg.AssetSelection.assets(key).required_multi_asset_neighbors(),
                            resources=build_definitions(resource).resources, instance=dg.DagsterInstance.ephemeral(),
                            partition_key="0" if partitioned else None, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
    while failure.cause is not None:
        failure = failure.cause
    assert "was never materialised" in failure.message and "first" in failure.message, failure.message
    assert not any((home.lake / schema).is_dir() and any((home.lake / schema).iterdir())
                   for schema in DATA_SCHEMAS), "nothing is written"
