"""`cohorts/haim_samples` (one sample per chest X-ray in an admission) and the HAIM feature table."""

import warnings as warnings_module
from typing import Literal

import dagster as dg

from features.haim.build import HAIM_ORDER_BY, build_haim, haim_table_name
from features.haim.cohort import build_haim_samples, describe_haim_samples
from pipelines.partitions import shard_partitions, write_partitions
from pipelines.resources import ClinfuseResource
from warehouse.lake import ShardedTable

CODE_VERSION = "1"
_SAMPLE_INPUTS = [dg.AssetKey(["raw", t]) for t in
                  ("cxr_metadata", "cxr_chexpert", "hosp_admissions", "icu_icustays", "hosp_patients")]


@dg.asset(key=["cohorts", "haim_samples"], group_name="cohorts", code_version=CODE_VERSION, deps=_SAMPLE_INPUTS,
          kinds={"duckdb", "sql"}, description=describe_haim_samples())
def haim_samples(clinfuse: ClinfuseResource, shards: dg.ResourceParam[int]) -> dg.MaterializeResult:
    rows = build_haim_samples(clinfuse.open_home(), shards)
    return dg.MaterializeResult(metadata={"rows": rows})


class HaimConfig(dg.Config):
    """`fixed` (default) uses only data strictly before each image and writes features.haim; `faithful`
    reproduces HAIM's code, leaks included, and writes features.haim_faithful so it never replaces the
    leakage-free table."""

    mode: Literal["fixed", "faithful"] = "fixed"


def build_haim_assets(shards: int) -> list:
    deps = [haim_samples.key, dg.AssetKey(["embeddings", "cxr_densenet121_chex"]),
            dg.AssetKey(["embeddings", "notes_clinicalbert_notes"])] + [
        dg.AssetKey(["raw", t]) for t in ("icu_chartevents", "hosp_labevents", "icu_procedureevents")]

    @dg.asset(key=["features", "haim"], group_name="features", code_version=CODE_VERSION, deps=deps,
              partitions_def=shard_partitions(shards), backfill_policy=dg.BackfillPolicy.single_run(),
              kinds={"polars", "parquet"},
              description="HAIM features per haim_samples row: demographics 6, time-series statistics 451 "
                          "(99 chart, 242 lab, 110 procedure), vision 2,084, notes 768 per note type.")
    def haim(context: dg.AssetExecutionContext, config: HaimConfig, clinfuse: ClinfuseResource):
        home = clinfuse.open_home()
        table = haim_table_name(config.mode)

        def build(con, shard: int, shards: int):
            with warnings_module.catch_warnings():  # reported once below, through the Dagster log
                warnings_module.simplefilter("ignore")
                frame, stats = build_haim(home, shard, shards, config.mode, con=con)
            return {table: frame}, stats

        written = write_partitions(context, home, [ShardedTable("features", table, HAIM_ORDER_BY)], build)
        rows = written.rows[table]
        warnings = {w for stats in written.stats for w in stats["warnings"]}
        sources = {s for stats in written.stats for block in ("cxr_weights_source", "notes_weights_source")
                   for s in stats.get(block, [])}
        for message in sorted(warnings):
            context.log.warning(message)
        return dg.MaterializeResult(metadata={
            "rows": rows, "mode": config.mode, "table": f"features.{table}", "warnings": "; ".join(sorted(warnings)) or "none",
            "weights_source": ", ".join(sorted(sources)) or "n/a"})

    return [haim]
