"""M3H: `cohorts/m3h_tasks` -> `frames/m3h` -> `models/m3h` -> `reports/m3h` (models-reference.md part C).

The labels are SQL over the discharge diagnoses, the admissions and cohorts.haim_samples (a documented ICD code
table per task); the frame joins them to the frozen HAIM embeddings of features.haim, missing blocks NULL; the
model asset trains the multi-task model, the single-task models and the TIM task sets; the report compares
single- and multi-task per trained task and lists the skipped tasks.
"""

from typing import Literal

import dagster as dg

from features.m3h.frame import INPUTS as FRAME_INPUTS
from features.m3h.tasks import COHORT_INPUTS, RAW_INPUTS, describe_m3h_tasks
from models.m3h.runner import SOURCES
from pipelines.assets.models import latest_materialization
from pipelines.resources import ClinfuseResource
from warehouse.versions import TIME_RULES, content_version, source_version

TASKS_CODE = source_version("features/m3h/tasks.py", "warehouse/sql/cohorts/m3h_tasks.sql",
                            "warehouse/resources/m3h_tasks.csv", "warehouse/cohorts.py", *TIME_RULES)
FRAME_CODE = source_version("features/m3h", "features/frames.py")
MODEL_CODE = source_version(*SOURCES)
TASKS_DEPS = [dg.AssetKey(["raw", t]) for t in RAW_INPUTS] + [dg.AssetKey(["cohorts", c]) for c in COHORT_INPUTS]
FRAME_DEPS = [dg.AssetKey(source.split("/")) for source in FRAME_INPUTS]


@dg.asset(key=["cohorts", "m3h_tasks"], group_name="cohorts", deps=TASKS_DEPS, code_version=TASKS_CODE,
          kinds={"duckdb", "sql"}, description=describe_m3h_tasks())
def m3h_tasks(context: dg.AssetExecutionContext, clinfuse: ClinfuseResource,
              shards: dg.ResourceParam[int]) -> dg.MaterializeResult:
    from features.m3h.tasks import build_m3h_tasks, label_summary

    home = clinfuse.open_home(context)
    rows = build_m3h_tasks(home, shards)
    summary = label_summary(home)
    return dg.MaterializeResult(metadata={
        "rows": rows, "labels_all_samples": dg.MetadataValue.json({k: v for k, v in summary.items() if k != "rows"}),
        "rules": dg.MetadataValue.md(describe_m3h_tasks())},
        data_version=dg.DataVersion(content_version(home.table_dir("cohorts", "m3h_tasks"))))


@dg.asset(key=["frames", "m3h"], group_name="frames", deps=FRAME_DEPS, code_version=FRAME_CODE,
          kinds={"duckdb", "parquet"},
          description="One row per HAIM sample: the HAIM embedding blocks of features.haim (tabular, time series, "
                      "vision, language; NULL where the source had nothing before the image time), the M3H task "
                      "labels of cohorts.m3h_tasks, the subject's split and sex/age/race for subgroups.")
def m3h_frame(context: dg.AssetExecutionContext, clinfuse: ClinfuseResource,
              shards: dg.ResourceParam[int]) -> dg.MaterializeResult:
    from features.m3h.frame import write_m3h_frame

    summary = write_m3h_frame(clinfuse.open_home())
    inputs = {key.to_user_string(): latest_materialization(context, key).get("data_version") for key in FRAME_DEPS}
    return dg.MaterializeResult(
        metadata={**{k: v for k, v in summary.items() if not isinstance(v, dict)},
                  "train_prevalence": dg.MetadataValue.json(summary["tasks"]),
                  "build_settings": dg.MetadataValue.json({"haim_table": "features.haim", "shards": shards}),
                  "input_data_versions": dg.MetadataValue.json(inputs)},
        data_version=dg.DataVersion(summary["fingerprint"]))


class M3hModelConfig(dg.Config):
    """Unset values come from the profile (`paper`: C4's 15 epochs, batch 256, lr 1e-4, every task with enough
    positives, TIM with |S| <= 2; `demo`: 6 epochs, small widths, at most 6 tasks, TIM over 4 tasks' pairs).
    `mode: faithful` reads the TIM matrix on test, as the paper (selection on test)."""

    profile: Literal["", "paper", "demo"] = ""
    mode: Literal["", "fixed", "faithful"] = ""
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    seed: int | None = None
    device: str | None = None
    threads: int | None = None
    attention_alpha: float | None = None
    temperature: float | None = None
    min_train_positives: int | None = None
    max_tasks: int | None = None
    tim_tasks: int | None = None
    tim_max_subset: int | None = None
    tim_subsets: int | None = None
    tim_epochs: int | None = None
    clusters: int | None = None

    def overrides(self) -> dict:
        return {k: v for k, v in self.model_dump().items() if k != "profile" and v not in (None, "")}


@dg.asset(key=["models", "m3h"], group_name="models", deps=[dg.AssetKey(["frames", "m3h"])], pool="gpu",
          io_manager_key="record_io", code_version=MODEL_CODE, kinds={"pytorch"},
          description="M3H on frames/m3h: the multi-task model (every task with enough training positives + the "
                      "clustering autoencoder, cross-task attention), one single-task model per task, the single "
                      "autoencoder and the TIM task sets; checkpoints under artifacts/m3h/.")
def m3h_model(context: dg.AssetExecutionContext, config: M3hModelConfig, clinfuse: ClinfuseResource) -> dict:
    from models.m3h.runner import train_m3h

    home = clinfuse.open_home()
    frame = latest_materialization(context, dg.AssetKey(["frames", "m3h"]))
    record = train_m3h(home, profile=config.profile or clinfuse.model_profile_name(), overrides=config.overrides(),
                       frame_record=frame.get("metadata", {}), progress=context.log.info)
    context.add_output_metadata({
        "trained_tasks": ", ".join(record["trained_tasks"]),
        "skipped_tasks": dg.MetadataValue.json(record["skipped_tasks"]),
        "train_counts": dg.MetadataValue.json(record["train_counts"]),
        "fingerprint": record["fingerprint"], "split_sizes": dg.MetadataValue.json(record["split_sizes"]),
        "settings": dg.MetadataValue.json(record["settings"])})
    return record


class M3hReportConfig(dg.Config):
    """Bootstrap resamples for the 95 % CIs (unset = the model's profile: paper 1,000 / 200, demo 200 / 50)."""

    n_bootstrap: int | None = None
    subgroup_n_bootstrap: int | None = None
    seed: int = 0


@dg.asset(key=["reports", "m3h"], group_name="reports", ins={"model": dg.AssetIn(["models", "m3h"])},
          io_manager_key="record_io", code_version=MODEL_CODE, kinds={"html"},
          description="M3H on the test split: one head per trained task for the multi-task model (m3h) and the "
                      "single-task models (m3h_single) with bootstrap 95 % CIs; single- vs multi-task table, skipped "
                      "tasks, TIM heatmap, clustering silhouettes and MSE; under reports/m3h/.")
def m3h_report(context: dg.AssetExecutionContext, config: M3hReportConfig, clinfuse: ClinfuseResource,
               model: dict) -> dict:
    from models.m3h.runner import evaluate_m3h

    home = clinfuse.open_home()
    record = evaluate_m3h(home, model, n_bootstrap=config.n_bootstrap, subgroup_n_bootstrap=config.subgroup_n_bootstrap,
                          seed=config.seed, sources=clinfuse.source_releases(),
                          progress=context.log.info)
    context.add_output_metadata({**record["headline"], "report": dg.MetadataValue.path(str(home.root / record["html"]))})
    return record


ASSETS = [m3h_tasks, m3h_frame, m3h_model, m3h_report]
