"""The one Definitions object: `dagster dev -m pipelines.definitions` or `clinfuse ui`."""

import dagster as dg

from pipelines.assets import baselines, cohorts, cxr, haim, m3h, m3tlm, models, notes, raw, store, timeseries
from pipelines.automation import SENSORS, retrain_cron, with_automation
from pipelines.io import LakeIOManager, RecordIOManager
from pipelines.resources import ClinfuseResource, resource_from_env
from warehouse.lake import shard_count


def build_assets(shards: int) -> list:
    assets = [*raw.ASSETS, *cohorts.ASSETS, *timeseries.build_timeseries_assets(shards), timeseries.splits,
              *timeseries.NORMALIZERS, *notes.build_notes_assets(shards), *cxr.build_cxr_assets(shards),
              haim.haim_samples, *haim.build_haim_assets(shards), store.registry, *models.ASSETS,
              *m3tlm.ASSETS, *m3h.ASSETS, *baselines.ASSETS]
    # the leaderboard reads every report asset the graph has (models.LEADERBOARD_REPORTS)
    return [*assets, models.build_leaderboard_asset(assets)]


def build_definitions(clinfuse: ClinfuseResource, shards: int | None = None) -> dg.Definitions:
    """The graph for `shards` subject shards (default $CLINFUSE_SHARDS, else 8): the partitions of the
    per-patient assets, and the same number as the `shards` resource of the unpartitioned ones that shard
    their tables (a fixed value, so no run config can make it disagree with the partitions)."""
    shards = shards or shard_count()
    return dg.Definitions(
        assets=with_automation(build_assets(shards), retrain_cron()),
        sensors=SENSORS,
        resources={"clinfuse": clinfuse, "io_manager": LakeIOManager(clinfuse=clinfuse),
                   "record_io": RecordIOManager(clinfuse=clinfuse), "shards": shards},
    )


defs = build_definitions(resource_from_env())
