"""MedFuse cleaned events, task cohorts and 2-hour time series per subject shard, subject-level splits,
normalisers. The cleaned events are their own asset so that a new timestep re-discretises only."""

from typing import Literal

import dagster as dg
import polars as pl

from features.mimic3_benchmarks import phenotype_names
from features.splits import make_splits, reference_splits, split_fractions, subjects_in_several_splits
from features.timeseries.build import (
    EVENTS_TABLE,
    ORDER_BY,
    SCHEMA_OF,
    build_task_frames,
    describe_cohort,
    read_shard_events,
    shard_events,
)
from features.timeseries.layout import CONTINUOUS_COLUMNS
from features.timeseries.normalizer import empty_training_split, fit_normalizer
from pipelines.partitions import shard_partitions, shards_data_version, write_partitions
from pipelines.resources import ClinfuseResource
from warehouse.lake import ClinfuseError, ShardedTable, parquet_glob
from warehouse.versions import TIME_RULES, frame_version, source_version

CODE_VERSION = source_version("features/timeseries", "features/labels.py", "features/mimic3_benchmarks.py",
                              "warehouse/resources/mimic3_benchmarks", *TIME_RULES)
SPLITS_CODE = source_version("features/splits.py", "warehouse/resources/mimic3_benchmarks/testset_iv.csv",
                             "warehouse/resources/mimic3_benchmarks/valset_iv.csv")
NORMALIZER_CODE = source_version("features/timeseries/normalizer.py", "features/timeseries/layout.py")
TABLES = ("ihm_48h", "phenotyping", "timeseries_ihm", "timeseries_pheno")
SHARDED_TABLES = [ShardedTable(SCHEMA_OF[t], t, ORDER_BY[t]) for t in TABLES]
_DESCRIPTIONS = {
    "ihm_48h": describe_cohort("ihm_48h"),
    "phenotyping": describe_cohort("phenotyping"),
    "timeseries_ihm": "First 48 h of each ihm_48h stay on the discretizer grid: 76 columns per step "
                      "(24 steps at 2 h), one row per (stay_id, step), with asof_time.",
    "timeseries_pheno": "Whole ICU stay of each phenotyping stay on the discretizer grid: 76 columns per step.",
}
_STAYS = dg.AssetKey(["cohorts", "icu_stays"])
_EVENT_INPUTS = [_STAYS, dg.AssetKey(["raw", "icu_chartevents"]), dg.AssetKey(["raw", "hosp_labevents"])]
_INPUTS = [_STAYS, dg.AssetKey([SCHEMA_OF[EVENTS_TABLE], EVENTS_TABLE])] + [
    dg.AssetKey(["raw", t]) for t in ("hosp_diagnoses_icd", "hosp_d_icd_diagnoses")
]


class EventsConfig(dg.Config):
    """Cleaning `fixed` (default) repairs the reference's unit bugs; `faithful` reproduces MedFuse's code exactly."""

    mode: Literal["fixed", "faithful"] = "fixed"


class TimeseriesConfig(dg.Config):
    """`phenotype_mode` `same`: the cleaning mode of features/timeseries_events."""

    timestep_hours: float = 2.0
    phenotype_mode: Literal["same", "fixed", "faithful"] = "same"


def build_timeseries_assets(shards: int) -> list:
    partitions = shard_partitions(shards)

    @dg.asset(key=[SCHEMA_OF[EVENTS_TABLE], EVENTS_TABLE], group_name="features", code_version=CODE_VERSION,
              partitions_def=partitions, backfill_policy=dg.BackfillPolicy.single_run(), deps=_EVENT_INPUTS,
              kinds={"duckdb", "polars", "parquet"},
              description="The 17 MedFuse variables' events of every cohorts.icu_stays episode, extracted and "
                          "cleaned (`mode`), one value per (stay_id, charttime, variable), with hours since intime.")
    def timeseries_events(context: dg.AssetExecutionContext, config: EventsConfig, clinfuse: ClinfuseResource):
        home = clinfuse.open_home(context)

        def build(con, shard: int, shards: int):
            events = shard_events(con, shard, shards, config.mode)
            return {EVENTS_TABLE: events}, {"stays": events["stay_id"].n_unique()}

        written = write_partitions(context, home, [ShardedTable("features", EVENTS_TABLE, ORDER_BY[EVENTS_TABLE])],
                                   build)
        return dg.MaterializeResult(metadata={"rows": written.rows[EVENTS_TABLE], "stays": written.total("stays"),
                                              "mode": config.mode},
                                    data_version=shards_data_version(context, home, ("features", EVENTS_TABLE)))
    specs = [dg.AssetSpec(key=[SCHEMA_OF[t], t], group_name=SCHEMA_OF[t], description=_DESCRIPTIONS[t],
                          code_version=CODE_VERSION, partitions_def=partitions, deps=_INPUTS, kinds={"polars", "parquet"})
             for t in TABLES]
    checks = [dg.AssetCheckSpec("label_prevalence", asset=["cohorts", "ihm_48h"],
                                description="IHM positives are neither none nor all (warning)"),
              dg.AssetCheckSpec("no_unseen_categories", asset=["features", "timeseries_pheno"],
                                description="every categorical string is in the discretizer config (warning)")]

    @dg.multi_asset(specs=specs, check_specs=checks, name="medfuse_task_tables",
                    backfill_policy=dg.BackfillPolicy.single_run(), can_subset=False)
    def medfuse_task_tables(context: dg.AssetExecutionContext, config: TimeseriesConfig, clinfuse: ClinfuseResource):
        home = clinfuse.open_home(context)
        phenotype_mode = None if config.phenotype_mode == "same" else config.phenotype_mode
        modes = set()

        def build(con, shard: int, shards: int):
            events, mode = read_shard_events(home, shard)
            modes.add(mode)
            frames = build_task_frames(home, shard, shards, mode or "fixed", config.timestep_hours, phenotype_mode,
                                       con=con, events=events)
            context.log.info(f"shard {shard}: {frames.stats['stays']} stays, {frames.stats['ihm_48h']} IHM samples")
            return {name: frames.table(name) for name in TABLES}, frames.stats

        written = write_partitions(context, home, SHARDED_TABLES, build)
        totals, positives, unseen = written.rows, written.total("ihm_positives"), written.total("n_unseen_pheno")
        pheno_prevalence = _phenotype_prevalence(home)
        settings = {"mode": _one_mode(modes), "timestep_hours": config.timestep_hours,
                    "shards_built": ",".join(context.partition_keys)}
        prevalence = positives / totals["ihm_48h"] if totals["ihm_48h"] else 0.0
        for name in TABLES:
            extra = {"positives": positives, "prevalence": round(prevalence, 4)} if name == "ihm_48h" else {}
            if name == "phenotyping":
                extra = {"label_prevalence": dg.MetadataValue.json(pheno_prevalence)}
            yield dg.MaterializeResult(asset_key=[SCHEMA_OF[name], name],
                                       metadata={"rows": totals[name], **settings, **extra},
                                       data_version=shards_data_version(context, home, (SCHEMA_OF[name], name)))
        yield dg.AssetCheckResult(asset_key=["cohorts", "ihm_48h"], check_name="label_prevalence",
                                  passed=0 < positives < totals["ihm_48h"], severity=dg.AssetCheckSeverity.WARN,
                                  metadata={"positives": positives, "samples": totals["ihm_48h"]})
        yield dg.AssetCheckResult(asset_key=["features", "timeseries_pheno"], check_name="no_unseen_categories",
                                  passed=unseen == 0, severity=dg.AssetCheckSeverity.WARN,
                                  metadata={"unseen_values": unseen})

    return [timeseries_events, medfuse_task_tables]


def _one_mode(modes: set) -> str:
    """The cleaning mode of the events the run discretised (shards without events have none)."""
    known = sorted(m for m in modes if m)
    if len(known) > 1:
        raise ClinfuseError(f"features/{EVENTS_TABLE} shards were cleaned in different modes {known}: "
                            f"materialise features/{EVENTS_TABLE} again for every shard")
    return known[0] if known else "fixed"


def _phenotype_prevalence(home) -> dict[str, float]:
    frame = pl.scan_parquet(parquet_glob(home.table_dir("cohorts", "phenotyping")), hive_partitioning=True)
    means = frame.select(pl.col(n).cast(pl.Float64).mean() for n in phenotype_names()).collect()
    return {n: round(float(means[n][0] or 0.0), 4) for n in phenotype_names()}


# ---------------------------------------------------------------- splits


class SplitConfig(dg.Config):
    """Subject-level split shared by every task of the run. `reference` uses MedFuse's split files."""

    seed: int = 0
    train: float = 0.7
    val: float = 0.1
    test: float = 0.2
    reference: bool = False


@dg.asset(key=["features", "splits"], group_name="features", code_version=SPLITS_CODE,
          deps=[dg.AssetKey(["raw", "hosp_patients"])], kinds={"polars", "parquet"},
          description="subject_id -> split (train/val/test) for every patient, subject-level and seeded "
                      "(70/10/20 by default), shared by every task (MedFuse and HAIM cohorts alike).",
          check_specs=[dg.AssetCheckSpec("no_subject_in_two_splits", asset=["features", "splits"], blocking=True)])
def splits(context: dg.AssetExecutionContext, config: SplitConfig, clinfuse: ClinfuseResource):
    home = clinfuse.open_home(context)
    subjects = pl.scan_parquet(parquet_glob(home.table_dir("raw", "hosp_patients")), hive_partitioning=True) \
        .select("subject_id").unique().collect()["subject_id"]
    frame = reference_splits(subjects) if config.reference else \
        make_splits(subjects, config.seed, (config.train, config.val, config.test))
    crossing = subjects_in_several_splits(frame)
    fractions = split_fractions(frame)
    frame = frame.select("subject_id", pl.col("split").cast(pl.String))
    yield dg.Output(frame, data_version=dg.DataVersion(frame_version(frame)),
                    metadata={"subjects": frame.height, "seed": config.seed, "reference": config.reference,
                              **{f"fraction_{k}": round(v, 4) for k, v in fractions.items()}})
    yield dg.AssetCheckResult(check_name="no_subject_in_two_splits", passed=crossing.height == 0,
                              severity=dg.AssetCheckSeverity.ERROR, metadata={"crossing_subjects": crossing.height})


# ---------------------------------------------------------------- normalisers (training split only)


def _normalizer_asset(task: str) -> dg.AssetsDefinition:
    table = f"timeseries_{task}"

    @dg.asset(key=["features", f"normalizer_{task}"], group_name="features", code_version=NORMALIZER_CODE,
              deps=[dg.AssetKey(["features", table]), dg.AssetKey(["features", "splits"])], kinds={"polars"},
              description=f"Mean and std of the 12 continuous columns of features.{table}, fitted on "
                          f"training-split subjects only (validation and test never enter the statistics).")
    def normalizer(context: dg.AssetExecutionContext, clinfuse: ClinfuseResource) -> dg.Output[pl.DataFrame]:
        home = clinfuse.open_home(context)
        split = pl.read_parquet(parquet_glob(home.table_dir("features", "splits")))
        frame = pl.scan_parquet(parquet_glob(home.table_dir("features", table)), hive_partitioning=True)
        train_stays = frame.join(split.lazy().filter(pl.col("split") == "train"), on="subject_id") \
            .select("stay_id").unique().collect()["stay_id"]
        if len(train_stays) == 0:
            raise ClinfuseError(empty_training_split(home, task, table))
        state = fit_normalizer(frame, train_stays, metadata={"task": task, "table": table})
        context.add_output_metadata({"train_stays": len(train_stays), "rows_fitted": state.n_rows,
                                     "means": dg.MetadataValue.json(dict(zip(CONTINUOUS_COLUMNS, state.means, strict=True)))})
        frame = state.to_frame()
        return dg.Output(frame, data_version=dg.DataVersion(frame_version(frame)))

    return normalizer


NORMALIZERS = [_normalizer_asset("ihm"), _normalizer_asset("pheno")]
