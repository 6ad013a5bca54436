"""Training frames, models, their evaluation reports and the leaderboard.

Lineage reads raw -> features -> frames/<task> -> models/<model> -> reports/<model> -> reports/leaderboard.
A model asset writes its checkpoints under `<home>/artifacts/<family>/<task>/` and hands its report (and the
fusion models that load it as a stage-1 encoder) a record of what it wrote; a report never looks for "the
newest file".
"""


from typing import Literal

import dagster as dg

from features.frames import FRAMES
from models.profiles import FAMILY_TASKS, model_name
from models.runner import MODEL_SOURCES
from pipelines.resources import ClinfuseResource
from warehouse.versions import source_version

MODELS_CODE = source_version(*MODEL_SOURCES)
FRAMES_CODE = source_version("features/frames.py", "features/tasks.py", "features/store")
FUSIONS = ("medfuse", "tsfusion")  # they start from the stage-1 models


class ModelConfig(dg.Config):
    """Hyper-parameters. Unset (null or empty) values come from the profile: `paper` (the reference values) or
    `demo` (a few epochs, 64-pixel images, for a 2-core CPU); empty profile = the run's
    (CLINFUSE_MODEL_PROFILE, else paper). `mode: faithful` reproduces the reference code (Adam betas
    (0.9, 0.9), PAIRED-only validation, the transformer attending the zero token of a missing image)."""

    profile: Literal["", "paper", "demo"] = ""
    mode: Literal["", "fixed", "faithful"] = ""
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    patience: int | None = None
    seed: int | None = None
    device: str | None = None
    num_workers: int | None = None
    image_size: int | None = None
    image_column: Literal["", "clahe", "plain"] = ""
    augment: Literal["", "medfuse", "paper", "none"] = ""
    loss: Literal["", "bce", "uncertainty"] = ""
    uncertainty_form: Literal["", "code", "paper"] = ""
    missing: Literal["", "masked", "zero_token"] = ""
    hidden: int | None = None
    shuffle_train_labels: bool | None = None

    def overrides(self) -> dict:
        return {k: v for k, v in self.model_dump().items() if k != "profile" and v not in (None, "")}


class ReportConfig(dg.Config):
    """Evaluation: bootstrap resamples for the 95 % CIs (overall, and per subgroup) and the test-only noise
    fractions; unset = the model's profile (paper: 1,000 and 200; demo: 200 and 50)."""

    n_bootstrap: int | None = None
    subgroup_n_bootstrap: int | None = None
    noise_fractions: list[float] | None = None
    seed: int = 0
    device: str = "auto"


def latest_materialization(context: dg.AssetExecutionContext, key: dg.AssetKey) -> dict:
    """Metadata and data version of the latest materialisation of `key` (an upstream of this asset)."""
    event = context.instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return {}
    mat = event.asset_materialization
    meta = {k: v.value for k, v in mat.metadata.items() if isinstance(v.value, str | int | float | bool | dict)}
    return {"data_version": mat.tags.get("dagster/data_version") if mat.tags else None, "metadata": meta}


def _frame_asset(task: str) -> dg.AssetsDefinition:
    spec = FRAMES[task]
    deps = [dg.AssetKey(source.split("/")) for source in spec.inputs]

    @dg.asset(key=["frames", task], group_name="frames", deps=deps, code_version=FRAMES_CODE,
              kinds={"duckdb", "parquet"}, description=spec.description)
    def frame(context: dg.AssetExecutionContext, clinfuse: ClinfuseResource, shards: dg.ResourceParam[int]):
        from features.frames import write_task_frame

        home = clinfuse.open_home()
        inputs = {key.to_user_string(): latest_materialization(context, key) for key in deps}
        ts = inputs.get(f"features/timeseries_{task}", {}).get("metadata", {})
        settings = {"mode": ts.get("mode"), "timestep_hours": ts.get("timestep_hours"), "shards": shards}
        summary = write_task_frame(home, task)
        return dg.MaterializeResult(
            metadata={**{k: v for k, v in summary.items() if not isinstance(v, dict)},
                      "positives": dg.MetadataValue.json(summary["positives"]),
                      "build_settings": dg.MetadataValue.json(settings),
                      "input_data_versions": dg.MetadataValue.json(
                          {k: v.get("data_version") for k, v in inputs.items()})},
            data_version=dg.DataVersion(summary["fingerprint"]))

    return frame


def _model_asset(family: str, task: str) -> dg.AssetsDefinition:
    name = model_name(family, task)
    frame_key = dg.AssetKey(["frames", task])
    deps = [frame_key] + ([dg.AssetKey(["features", f"normalizer_{task}"])] if task != "cxr" else [])
    deps += [dg.AssetKey(["features", "cxr_tensors"])] if family != "uni_ehr" else []
    ins = {"stage1_ehr": dg.AssetIn(["models", f"uni_ehr_{task}"]), "stage1_cxr": dg.AssetIn(["models", "uni_cxr"])} \
        if family in FUSIONS else {}

    @dg.asset(key=["models", name], group_name="models", deps=deps, ins=ins, pool="gpu",
              io_manager_key="record_io", code_version=MODELS_CODE, kinds={"pytorch"},
              description=f"{family} trained on frames/{task}: checkpoints (best and last, with their config and "
                          f"the frame's lineage) under artifacts/{family}/{task}/."
                          + (" Its encoders start from the stage-1 models uni_ehr and uni_cxr." if ins else ""))
    def model(context: dg.AssetExecutionContext, config: ModelConfig, clinfuse: ClinfuseResource, **stage1) -> dict:
        from models.runner import train_model

        frame = latest_materialization(context, frame_key)
        home = clinfuse.open_home()
        record = train_model(
            home, family, task, profile=config.profile or clinfuse.model_profile_name(),
            overrides=config.overrides(), frame_record=frame.get("metadata", {}),
            stage1={k.removeprefix("stage1_"): v for k, v in stage1.items()},
            weights_policy=clinfuse.weights_policy(), progress=context.log.info)
        context.add_output_metadata({
            "best_val_auroc": record["best_val_auroc"], "best_epoch": record["best_epoch"],
            "epochs_run": record["epochs_run"], "stopped_early": record["stopped_early"],
            "checkpoint": dg.MetadataValue.path(str(home.root / record["checkpoint"])),
            "dagster/uri": (home.root / record["checkpoint"]).as_uri(),
            "fingerprint": record["fingerprint"], "weights_source": dg.MetadataValue.json(record["weights_source"]),
            "settings": dg.MetadataValue.json(record["settings"])})
        return record

    return model


def _report_asset(family: str, task: str) -> dg.AssetsDefinition:
    name = model_name(family, task)

    @dg.asset(key=["reports", name], group_name="reports", ins={"model": dg.AssetIn(["models", name])},
              io_manager_key="record_io", code_version=MODELS_CODE, kinds={"html"},
              description=f"Evaluation of models/{name} on the test split (PARTIAL and PAIRED apart): metrics with "
                          f"bootstrap 95 % CIs, calibration, subgroups, robustness and ablation; report.html, "
                          f"report.md, metrics.json and plots under reports/{name}/.")
    def report(context: dg.AssetExecutionContext, config: ReportConfig, clinfuse: ClinfuseResource,
               model: dict) -> dict:
        from models.runner import evaluate_model

        home = clinfuse.open_home()
        record = evaluate_model(home, model, n_bootstrap=config.n_bootstrap,
                                subgroup_n_bootstrap=config.subgroup_n_bootstrap,
                                noise_fractions=config.noise_fractions, seed=config.seed, device=config.device,
                                sources=clinfuse.source_releases(), progress=context.log.info)
        context.add_output_metadata({**record["headline"],
                                     "report": dg.MetadataValue.path(str(home.root / record["html"])),
                                     "roc": dg.MetadataValue.md(record["roc_markdown"])})
        return {k: v for k, v in record.items() if k != "roc_markdown"}

    return report


# Every report asset the leaderboard reads, as key strings (so this module imports no other asset module):
# today's fusion reports, the multitask models' and the baselines' (one multi-head report per frame).
BASELINE_FRAMES = ("ihm", "pheno", "cxr", "m3tlm", "m3h")
LEADERBOARD_REPORTS: tuple[str, ...] = (
    *(f"reports/{model_name(f, t)}" for f, t in FAMILY_TASKS),
    "reports/m3tlm", "reports/m3h",
    *(f"reports/baselines_{frame}" for frame in BASELINE_FRAMES),
)


def build_leaderboard_asset(available=None) -> dg.AssetsDefinition:
    """reports/leaderboard with one allow_missing input per LEADERBOARD_REPORTS key. `available` (the
    Definitions' assets or asset keys; None = all) drops the keys no asset of the graph produces, so a graph
    without some model family still loads; a key in the graph whose record was never written is None."""
    if available is None:
        keys = list(LEADERBOARD_REPORTS)
    else:
        produced: set[str] = set()
        for item in available:
            keys_of = [item] if isinstance(item, dg.AssetKey) else item.keys
            produced |= {key.to_user_string() for key in keys_of}
        keys = [key for key in LEADERBOARD_REPORTS if key in produced]
    ins = {f"r_{key.removeprefix('reports/')}": dg.AssetIn(key.split("/"), metadata={"allow_missing": True})
           for key in keys}

    @dg.asset(key=["reports", "leaderboard"], group_name="reports", code_version=MODELS_CODE, pool="duckdb",
              kinds={"duckdb", "html"}, ins=ins,
              description="Every model x task x subset x metric (any task kind; multi-head reports give a row set "
                          "per head) with its 95 % CI, beside the papers' published figures (real MIMIC-IV; not "
                          "comparable with a synthetic run): reports.leaderboard, leaderboard.html and "
                          "leaderboard.md under reports/leaderboard/.")
    def leaderboard(context: dg.AssetExecutionContext, clinfuse: ClinfuseResource, **reports: dict):
        from models.runner import build_leaderboard

        home = clinfuse.open_home()
        summary = build_leaderboard(home, list(reports.values()))
        missing = sorted(name.removeprefix("r_") for name, record in reports.items() if record is None)
        return dg.MaterializeResult(metadata={"rows": summary["rows"], "models": summary["models"],
                                              "not_materialised": ", ".join(missing) or "none",
                                              "inputs": ", ".join(sorted(reports)),
                                              "leaderboard": dg.MetadataValue.md(summary["markdown"]),
                                              "html": dg.MetadataValue.path(str(home.root / summary["html"]))})

    return leaderboard


# The leaderboard is not in ASSETS: pipelines.definitions builds it over the assets it has
# (`build_leaderboard_asset(assets)`).
ASSETS = [*(_frame_asset(t) for t in FRAMES),
          *(_model_asset(f, t) for f, t in FAMILY_TASKS),
          *(_report_asset(f, t) for f, t in FAMILY_TASKS)]
