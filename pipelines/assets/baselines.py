"""Tabular baselines per frame: `models/baselines_<frame>` fits logistic/linear regression, random forest,
histogram gradient boosting, XGBoost, an MLP and a prior/mean dummy on every target of the frame's tabular
view (models.tabular), choosing hyper-parameters on the validation split; `reports/baselines_<frame>`
evaluates the saved estimators on the test split in one multi-head report (a head per baseline x target).
"""


from typing import Literal

import dagster as dg

from models.baselines import BASELINES, FRAMES, code_version, model_name
from pipelines.assets.models import latest_materialization
from pipelines.resources import ClinfuseResource

# The frame assets each view reads (m3tlm and m3h frames are built by their own modules).
FRAME_DEPS = {frame: [["frames", frame]] for frame in FRAMES} | {
    "cxr": [["frames", "cxr"], ["embeddings", "cxr_densenet121_chex"]]}


class BaselineConfig(dg.Config):
    """Unset values come from the profile: `paper` (500 trees, 5-value regularisation grids) or `demo`
    (30 trees, 1-2 value grids); empty profile = the run's (CLINFUSE_MODEL_PROFILE, else paper)."""

    profile: Literal["", "paper", "demo"] = ""
    seed: int | None = None
    n_jobs: int | None = None
    baselines: list[str] | None = None  # a subset of dummy, linear, random_forest, hist_gbm, xgboost, mlp

    def overrides(self) -> dict:
        return {k: v for k, v in self.model_dump().items() if k != "profile" and v not in (None, "", [])}


class BaselineReportConfig(dg.Config):
    """Bootstrap resamples for the 95 % CIs (overall, per subgroup); unset = the profile's (paper 1,000 / 200,
    demo 200 / 50)."""

    n_bootstrap: int | None = None
    subgroup_n_bootstrap: int | None = None
    seed: int = 0


def _model_asset(frame: str) -> dg.AssetsDefinition:
    name = model_name(frame)
    deps = [dg.AssetKey(path) for path in FRAME_DEPS[frame]]

    @dg.asset(key=["models", name], group_name="models", deps=deps, pool="gpu", io_manager_key="record_io",
              code_version=code_version(frame), kinds={"sklearn"},
              description=f"Tabular baselines ({', '.join(BASELINES)}) on every target of frames/{frame}: fitted on "
                          f"the training split, hyper-parameters chosen on the validation split; estimators "
                          f"(joblib) under artifacts/baselines/{frame}/.")
    def model(context: dg.AssetExecutionContext, config: BaselineConfig, clinfuse: ClinfuseResource) -> dict:
        from models.baselines import train_baselines

        home = clinfuse.open_home()
        record = train_baselines(home, frame, profile=config.profile or clinfuse.model_profile_name(),
                                 overrides=config.overrides(), frame_record=latest_materialization(context, deps[0]).get("metadata"),
                                 progress=context.log.info)
        context.add_output_metadata({
            "fingerprint": record["fingerprint"], "seconds": record["seconds"], "n_features": record["n_features"],
            "estimators": len(record["files"]), "skipped_targets": len(record["skipped_targets"]),
            "artifacts": dg.MetadataValue.path(str(home.root / record["artifact_dir"])),
            "selection": dg.MetadataValue.json([{k: s[k] for k in ("baseline", "target", "params", "metric",
                                                                    "validation_score")}
                                                for s in record["selection"]])})
        return record

    return model


def _report_asset(frame: str) -> dg.AssetsDefinition:
    name = model_name(frame)

    @dg.asset(key=["reports", name], group_name="reports", ins={"model": dg.AssetIn(["models", name])},
              io_manager_key="record_io", code_version=code_version(frame), kinds={"html"},
              description=f"Evaluation of models/{name} on the test split: one head per baseline x target "
                          f"(metrics with bootstrap 95 % CIs, calibration, subgroups), the chosen hyper-parameters "
                          f"and validation scores; report.html, report.md, metrics.json under reports/{name}/.")
    def report(context: dg.AssetExecutionContext, config: BaselineReportConfig, clinfuse: ClinfuseResource,
               model: dict) -> dict:
        from models.baselines import evaluate_baselines

        home = clinfuse.open_home()
        record = evaluate_baselines(home, model, n_bootstrap=config.n_bootstrap,
                                    subgroup_n_bootstrap=config.subgroup_n_bootstrap, seed=config.seed,
                                    sources=clinfuse.source_releases(),
                                    progress=context.log.info)
        context.add_output_metadata({**record["headline"],
                                     "report": dg.MetadataValue.path(str(home.root / record["html"]))})
        return record

    return report


ASSETS = [*(_model_asset(frame) for frame in FRAMES), *(_report_asset(frame) for frame in FRAMES)]
