"""M3T-LM: `frames/m3tlm` -> `models/m3tlm` -> `reports/m3tlm` (models-reference.md part A).

The frame is one row per adult admission with a prediction time (clean default: admittime + 24 h; `mode:
faithful` = the paper's leaky whole-admission inputs); the model trains LoS + mortality heads with GradNorm
weights; the report evaluates both heads on the test split with the weight trajectory and the mode's
leakage statement.
"""

from typing import Literal

import dagster as dg

from features.m3tlm.frame import DESCRIPTION, INPUTS
from models.m3tlm.runner import SOURCES
from pipelines.assets.models import latest_materialization
from pipelines.resources import ClinfuseResource
from warehouse.versions import source_version

FRAME_CODE = source_version("features/m3tlm", "features/frames.py")
MODEL_CODE = source_version(*SOURCES)
FRAME_DEPS = [dg.AssetKey(source.split("/")) for source in INPUTS]


class M3tlmFrameConfig(dg.Config):
    """`mode: faithful` = the paper's inputs (whole admission, same-admission ICD titles, total LoS: leaky);
    `window_hours` (fixed mode): the prediction time after admission, 24 or 48."""

    mode: Literal["fixed", "faithful"] = "fixed"
    window_hours: int = 24
    dx_length: int = 23
    px_length: int = 18
    image_lookback_hours: int = 24


@dg.asset(key=["frames", "m3tlm"], group_name="frames", deps=FRAME_DEPS, code_version=FRAME_CODE,
          kinds={"duckdb", "parquet"}, description=DESCRIPTION)
def m3tlm_frame(context: dg.AssetExecutionContext, config: M3tlmFrameConfig, clinfuse: ClinfuseResource,
                shards: dg.ResourceParam[int]):
    from features.m3tlm.frame import FrameSettings, describe_frame, write_frame

    settings = FrameSettings(**config.model_dump())
    summary = write_frame(clinfuse.open_home(), settings)
    inputs = {key.to_user_string(): latest_materialization(context, key).get("data_version") for key in FRAME_DEPS}
    return dg.MaterializeResult(
        metadata={**{k: v for k, v in summary.items() if not isinstance(v, dict)},
                  "build_settings": dg.MetadataValue.json({**summary["settings"], "shards": shards}),
                  "input_data_versions": dg.MetadataValue.json(inputs),
                  "rules": dg.MetadataValue.md(describe_frame())},
        data_version=dg.DataVersion(summary["fingerprint"]))


class M3tlmModelConfig(dg.Config):
    """Unset values come from the profile (`paper`: RMSprop lr 1e-3, batch 64, 30 epochs, 128 px; `demo`: 3
    epochs, 64 px, timm test_resnet); the mode follows the frame's."""

    profile: Literal["", "paper", "demo"] = ""
    mode: Literal["", "fixed", "faithful"] = ""
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    seed: int | None = None
    device: str | None = None
    image_size: int | None = None
    image_backbone: str | None = None
    cxr_weights: Literal["", "imagenet", "none"] = ""
    oversample: Literal["", "random", "class_weight", "none"] = ""
    gradnorm_alpha: float | None = None
    gradnorm_lr: float | None = None
    gradnorm_update: Literal["", "epoch", "step", "off"] = ""
    gradnorm_layer: Literal["", "dense32", "dense64"] = ""
    huber_delta: float | None = None
    shuffle_train_labels: bool | None = None

    def overrides(self) -> dict:
        return {k: v for k, v in self.model_dump().items() if k != "profile" and v not in (None, "")}


@dg.asset(key=["models", "m3tlm"], group_name="models", pool="gpu",
          deps=[dg.AssetKey(["frames", "m3tlm"]), dg.AssetKey(["features", "cxr_tensors"])],
          io_manager_key="record_io", code_version=MODEL_CODE, kinds={"pytorch"},
          description="M3T-LM trained on frames/m3tlm: LoS (Huber) + mortality (BCE) heads with GradNorm task "
                      "weights; best and last checkpoints under artifacts/m3tlm/los_mortality/.")
def m3tlm_model(context: dg.AssetExecutionContext, config: M3tlmModelConfig, clinfuse: ClinfuseResource) -> dict:
    from models.m3tlm.runner import train_m3tlm

    home = clinfuse.open_home()
    frame = latest_materialization(context, dg.AssetKey(["frames", "m3tlm"]))
    record = train_m3tlm(home, profile=config.profile or clinfuse.model_profile_name(), overrides=config.overrides(),
                         frame_record=frame.get("metadata", {}), weights_policy=clinfuse.weights_policy(),
                         progress=context.log.info)
    context.add_output_metadata({
        "best_epoch": record["best_epoch"], "best_val_loss": record["best_val_loss"],
        "final_weights": dg.MetadataValue.json(record["gradnorm"][-1]["weights"]),
        "checkpoint": dg.MetadataValue.path(str(home.root / record["checkpoint"])),
        "fingerprint": record["fingerprint"], "weights_source": dg.MetadataValue.json(record["weights_source"]),
        "split_sizes": dg.MetadataValue.json(record["split_sizes"]),
        "settings": dg.MetadataValue.json(record["settings"])})
    return record


class M3tlmReportConfig(dg.Config):
    """Bootstrap resamples for the 95 % CIs (unset = the model's profile: paper 1,000, demo 200)."""

    n_bootstrap: int | None = None
    seed: int = 0
    device: str = "auto"


@dg.asset(key=["reports", "m3tlm"], group_name="reports", ins={"model": dg.AssetIn(["models", "m3tlm"])},
          io_manager_key="record_io", code_version=MODEL_CODE, kinds={"html"},
          description="M3T-LM on the test split: LoS (MAE, RMSE, R², explained variance) and mortality (accuracy, "
                      "precision, recall, F1, AUROC) with bootstrap 95 % CIs, the GradNorm weight trajectory, the "
                      "mode's leakage statement and the mean-predictor reference, under reports/m3tlm/.")
def m3tlm_report(context: dg.AssetExecutionContext, config: M3tlmReportConfig, clinfuse: ClinfuseResource,
                 model: dict) -> dict:
    from models.m3tlm.runner import evaluate_m3tlm

    home = clinfuse.open_home()
    record = evaluate_m3tlm(home, model, n_bootstrap=config.n_bootstrap, seed=config.seed, device=config.device,
                            sources=clinfuse.source_releases(), progress=context.log.info)
    context.add_output_metadata({**record["headline"], "report": dg.MetadataValue.path(str(home.root / record["html"]))})
    return record


ASSETS = [m3tlm_frame, m3tlm_model, m3tlm_report]
