"""`cohorts/haim_samples` (one sample per chest X-ray in an admission) and the HAIM feature table."""

import warnings as warnings_module

import dagster as dg

from features.haim.build import CXR_TABLE, HAIM_ORDER_BY, HAIM_SQL_FILES, build_haim, haim_table_name
from features.haim.cohort import build_haim_samples, describe_haim_samples
from features.haim.cohort import sql_path as haim_samples_sql_path
from features.haim.layout import MODES
from pipelines.assets.sqldeps import sql_deps
from pipelines.partitions import shard_partitions, shards_data_version, write_partitions
from pipelines.resources import ClinfuseResource
from warehouse.lake import ShardedTable
from warehouse.versions import TIME_RULES, content_version, source_version

SAMPLES_CODE = source_version("features/haim/cohort.py", "warehouse/cohorts.py", haim_samples_sql_path(), *TIME_RULES)
CODE_VERSION = source_version("features/haim", *TIME_RULES)  # build.py, its SQL files and helpers
_SAMPLE_INPUTS = sql_deps(haim_samples_sql_path(), produces=("cohorts", "haim_samples"))  # what its SQL reads


@dg.asset(key=["cohorts", "haim_samples"], group_name="cohorts", code_version=SAMPLES_CODE, deps=_SAMPLE_INPUTS,
          kinds={"duckdb", "sql"}, description=describe_haim_samples())
def haim_samples(context: dg.AssetExecutionContext, clinfuse: ClinfuseResource,
                 shards: dg.ResourceParam[int]) -> dg.MaterializeResult:
    home = clinfuse.open_home(context)
    rows = build_haim_samples(home, shards)
    return dg.MaterializeResult(metadata={"rows": rows},
                                data_version=dg.DataVersion(content_version(home.table_dir("cohorts", "haim_samples"))))


_MODE_TEXT = {
    "fixed": "HAIM features per haim_samples row, from data strictly before each image: demographics 6, "
             "time-series statistics 451 (99 chart, 242 lab, 110 procedure), vision 2,084, notes 768 per note "
             "type. A missing embedding is null (counted, and the `embeddings_present` check warns).",
    "faithful": "HAIM's code reproduced for comparison runs, leaks included (procedures not time-filtered, the "
                "own image and its report, table-order statistics with an appended zero); same layout as "
                "features/haim, never a replacement for it.",
}


def _haim_asset(mode: str, shards: int, deps: list) -> dg.AssetsDefinition:
    key = dg.AssetKey(["features", haim_table_name(mode)])

    @dg.asset(key=key, group_name="features", code_version=CODE_VERSION, deps=deps,
              partitions_def=shard_partitions(shards), backfill_policy=dg.BackfillPolicy.single_run(),
              kinds={"polars", "parquet"}, description=_MODE_TEXT[mode],
              check_specs=[dg.AssetCheckSpec("embeddings_present", asset=key,
                                             description="every embedding a row needs exists (else its block "
                                                         "is null)")])
    def haim(context: dg.AssetExecutionContext, clinfuse: ClinfuseResource):
        home = clinfuse.open_home(context)
        table = key.path[1]

        def build(con, shard: int, shards: int):
            with warnings_module.catch_warnings():  # reported once below, through the Dagster log
                warnings_module.simplefilter("ignore")
                frame, stats = build_haim(home, shard, shards, mode, con=con)
            return {table: frame}, stats

        written = write_partitions(context, home, [ShardedTable("features", table, HAIM_ORDER_BY)], build)
        rows = written.rows[table]
        warnings = {w for stats in written.stats for w in stats["warnings"] if " lacks images of " not in w}
        sources = {s for stats in written.stats for block in ("cxr_weights_source", "notes_weights_source")
                   for s in stats.get(block, [])}
        missing = {}
        for stats in written.stats:
            for group, n in stats["missing_embeddings"].items():
                missing[group] = missing.get(group, 0) + n
        for message in sorted(warnings):
            context.log.warning(message)
        yield dg.MaterializeResult(metadata={
            "rows": rows, "mode": mode, "table": f"features.{key.path[1]}",
            "warnings": "; ".join(sorted(warnings)) or "none", "weights_source": ", ".join(sorted(sources)) or "n/a",
            **{f"null_{group}": n for group, n in missing.items()}},
            data_version=shards_data_version(context, home, key.path))
        yield dg.AssetCheckResult(check_name="embeddings_present", passed=not any(missing.values()),
                                  severity=dg.AssetCheckSeverity.WARN,
                                  metadata={f"samples_missing_{group}": n for group, n in missing.items()})

    return haim


def build_haim_assets(shards: int) -> list:
    """features/haim (fixed) and features/haim_faithful: one asset key per table, so lineage says which."""
    # the tables its SQL files read, plus what build.py reads from Python: the samples, the image embeddings and
    # the demographics' patients and admissions
    deps = sorted({*sql_deps(*HAIM_SQL_FILES), haim_samples.key, dg.AssetKey(["embeddings", CXR_TABLE]),
                   dg.AssetKey(["raw", "hosp_patients"]), dg.AssetKey(["raw", "hosp_admissions"])},
                  key=lambda k: k.path)
    return [_haim_asset(mode, shards, deps) for mode in MODES]
