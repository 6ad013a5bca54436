"""Strong tabular baselines for every target of every frame, on the frames' own rows and splits.

For each `Target` of a `models.tabular.TabularTask` and each baseline:

- fit on the training split only, for every entry of the baseline's hyper-parameter grid;
- score each entry on the validation split only and keep the best (ties: the first in grid order):
  binary = mean validation AUROC over the labels that have both classes there (mean log loss when no label
  has); multiclass = validation log loss (sklearn, over the target's K classes); regression = validation
  MAE. Test rows never reach `select_and_fit`, so they cannot influence what is chosen;
- predict the test split once, with the fitted estimator of the chosen entry (no refit on train + val).

Baselines (`BASELINES`, leaderboard name `baseline_<name>`):
    dummy          sklearn DummyClassifier(prior) / DummyRegressor(mean): the control every baseline must beat
    linear         logistic regression / ridge regression, after median imputation and standardisation
    random_forest  sklearn RandomForest* (takes NaN natively)
    hist_gbm       sklearn HistGradientBoosting* (takes NaN natively; no internal early stopping)
    xgboost        xgboost XGB* with the hist tree method (takes NaN natively)
    mlp            sklearn MLPClassifier / MLPRegressor, after median imputation and standardisation
Imputation medians and standardisation statistics are fitted inside each estimator's pipeline, on the
training rows it is fitted on.

Targets: several binary labels (pheno's 25, cxr's 14) are fitted one-vs-rest, one estimator per label; a
label without both classes among its training rows is not fitted, predicted by its training prevalence
(a constant) and counted in `labels_skipped`. Multiclass targets use the estimators' native multiclass over
the classes present in training (a class absent from training gets probability 0). Rows whose label is NaN
are left out per label (fitting, validation) and per target (test: a row with any missing label).

Profiles (`models.profiles.profile_name`): `paper` = full grids (500 trees, 5-value regularisation grids);
`demo` = tiny grids (30 trees) for `make demo` on a 2-core CPU. Everything is seeded, with at most
`n_jobs` threads (estimators' n_jobs and BLAS/OpenMP pools).
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.tabular import SPLITS, TabularTask, Target, tabular_task
from warehouse.lake import ClinfuseError, Home, atomic_dir

BASELINES = ("dummy", "linear", "random_forest", "hist_gbm", "xgboost", "mlp")
FRAMES = ("ihm", "pheno", "cxr", "m3tlm", "m3h")
# What the baseline assets' code version hashes.
BASELINE_SOURCES = ("models/baselines.py", "models/observed_columns.py", "models/tabular.py", "models/metrics.py",
                    "models/reports", "features/frames.py", "models/data.py")
# What each family's tabular view adds to that (their frame and data modules).
FRAME_SOURCES = {"m3tlm": ("models/m3tlm/data.py", "features/m3tlm"), "m3h": ("models/m3h/data.py", "features/m3h")}
# Parameters that exist only for one problem class (the linear baseline's two estimators).
CLASSIFIER_ONLY = {"C"}
REGRESSOR_ONLY = {"ridge_alpha"}

COMMON = {
    "seed": 1002,
    "n_jobs": 1,
    "baselines": list(BASELINES),
    "n_bootstrap": 1000,
    "subgroup_n_bootstrap": 200,
}

# fixed: values every grid entry shares; grid: the values searched (every combination).
PAPER_GRIDS = {
    "dummy": {"fixed": {}, "grid": {}},
    "linear": {"fixed": {"max_iter": 2000},
               "grid": {"C": [0.001, 0.01, 0.1, 1.0, 10.0], "ridge_alpha": [0.1, 1.0, 10.0, 100.0, 1000.0]}},
    "random_forest": {"fixed": {"n_estimators": 500, "max_features": "sqrt"},
                      "grid": {"min_samples_leaf": [1, 5, 20]}},
    "hist_gbm": {"fixed": {"max_iter": 500, "max_bins": 255},
                 "grid": {"learning_rate": [0.03, 0.1], "max_leaf_nodes": [15, 31]}},
    "xgboost": {"fixed": {"n_estimators": 500, "subsample": 0.8, "colsample_bytree": 0.8, "max_bin": 256},
                "grid": {"learning_rate": [0.03, 0.1], "max_depth": [3, 6]}},
    "mlp": {"fixed": {"max_iter": 200}, "grid": {"hidden_layer_sizes": [[64], [128, 64]], "alpha": [1e-4, 1e-2]}},
}
DEMO_GRIDS = {
    "dummy": {"fixed": {}, "grid": {}},
    "linear": {"fixed": {"max_iter": 500}, "grid": {"C": [0.1, 1.0], "ridge_alpha": [1.0, 10.0]}},
    "random_forest": {"fixed": {"n_estimators": 30, "max_features": "sqrt"}, "grid": {"min_samples_leaf": [1, 5]}},
    # 63 / 64 histogram bins: binning 1,024 image-embedding columns dominates the demo's cost otherwise
    "hist_gbm": {"fixed": {"max_iter": 30, "max_bins": 63}, "grid": {"learning_rate": [0.1], "max_leaf_nodes": [15]}},
    "xgboost": {"fixed": {"n_estimators": 30, "subsample": 0.8, "colsample_bytree": 0.8, "max_bin": 64},
                "grid": {"learning_rate": [0.1], "max_depth": [3]}},
    "mlp": {"fixed": {"max_iter": 100}, "grid": {"hidden_layer_sizes": [[32]], "alpha": [1e-3]}},
}
# The demo profile's bootstrap sizes (the deep models' demo values): 6 baselines x 25 labels per report.
DEMO_COMMON = {"n_bootstrap": 200, "subgroup_n_bootstrap": 50}

SELECTION_METRIC = {"binary": "auroc", "multiclass": "log_loss", "regression": "mae"}
MODE_TEXT = {
    "fixed": "baselines are fitted on the training split, their hyper-parameters chosen on the validation split "
             "only, and evaluated once on the test split, on the frame's leak-free view.",
    "faithful": "the frame was built in faithful mode (the paper's inputs, with the leaks its report names); the "
                "baselines are fitted, chosen and evaluated exactly as in fixed mode, on that frame.",
}
TEST_SUBSET = {"ihm": "test_partial", "pheno": "test_partial", "cxr": "test_images"}


# --------------------------------------------------------------------------------------------------------
# settings


def baseline_settings(profile: str | None = None, overrides: dict | None = None) -> dict:
    """Common values, the profile's grids, then the user's overrides (seed, n_jobs, baselines, bootstrap)."""
    from models.profiles import profile_name

    profile = profile_name(profile)
    settings = dict(COMMON) | ({} if profile == "paper" else DEMO_COMMON)
    settings["grids"] = json.loads(json.dumps(PAPER_GRIDS if profile == "paper" else DEMO_GRIDS))
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None and v != "" and v != []}
    unknown = sorted(set(overrides) - set(settings))
    if unknown:
        raise ClinfuseError(f"unknown baseline setting(s): {', '.join(unknown)}")
    settings |= overrides
    bad = sorted(set(settings["baselines"]) - set(BASELINES))
    if bad or not settings["baselines"]:
        raise ClinfuseError(f"baselines {bad or '[]'}: expected some of {', '.join(BASELINES)}")
    settings["baselines"] = [b for b in BASELINES if b in settings["baselines"]]
    if not 1 <= int(settings["n_jobs"]) <= 2:
        raise ClinfuseError(f"n_jobs {settings['n_jobs']}: expected 1 or 2 (the machine's cores are shared)")
    settings["profile"] = profile
    return settings


def problem_of(kind: str) -> str:
    return "regressor" if kind == "regression" else "classifier"


def param_grid(baseline: str, kind: str, settings: dict) -> list[dict]:
    """Every hyper-parameter combination searched for `baseline` on a `kind` target, in grid order."""
    from sklearn.model_selection import ParameterGrid

    spec = settings["grids"][baseline]
    drop = REGRESSOR_ONLY if problem_of(kind) == "classifier" else CLASSIFIER_ONLY
    grid = {k: v for k, v in spec["grid"].items() if k not in drop}
    # ParameterGrid sorts keys; keep the user's value order within each key
    return [dict(spec["fixed"]) | dict(entry) for entry in ParameterGrid(grid)] if grid else [dict(spec["fixed"])]


def make_estimator(baseline: str, kind: str, params: dict, seed: int, n_jobs: int = 1):
    """An unfitted sklearn-compatible estimator for one grid entry (a Pipeline whose first step drops the
    columns without any training value)."""
    from sklearn.pipeline import make_pipeline

    from models.observed_columns import ObservedColumns  # sklearn classes: imported when a baseline is fitted

    return make_pipeline(ObservedColumns(), _estimator(baseline, kind, params, seed, n_jobs))


def _estimator(baseline: str, kind: str, params: dict, seed: int, n_jobs: int):
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classifier = problem_of(kind) == "classifier"
    p = dict(params)

    def scaled(estimator):  # imputation and scaling statistics come from the rows it is fitted on
        return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(), estimator)

    if baseline == "dummy":
        from sklearn.dummy import DummyClassifier, DummyRegressor

        return DummyClassifier(strategy="prior") if classifier else DummyRegressor(strategy="mean")
    if baseline == "linear":
        from sklearn.linear_model import LogisticRegression, Ridge

        if classifier:
            return scaled(LogisticRegression(C=p["C"], max_iter=p["max_iter"], random_state=seed))
        return scaled(Ridge(alpha=p["ridge_alpha"], random_state=seed))
    if baseline == "random_forest":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        cls = RandomForestClassifier if classifier else RandomForestRegressor
        return cls(n_estimators=p["n_estimators"], min_samples_leaf=p["min_samples_leaf"],
                   max_features=p["max_features"], random_state=seed, n_jobs=n_jobs)
    if baseline == "hist_gbm":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingClassifier if classifier else HistGradientBoostingRegressor
        return cls(max_iter=p["max_iter"], learning_rate=p["learning_rate"], max_leaf_nodes=p["max_leaf_nodes"],
                   max_bins=p["max_bins"], early_stopping=False, random_state=seed)
    if baseline == "xgboost":
        from xgboost import XGBClassifier, XGBRegressor

        cls = XGBClassifier if classifier else XGBRegressor
        return cls(n_estimators=p["n_estimators"], learning_rate=p["learning_rate"], max_depth=p["max_depth"],
                   subsample=p["subsample"], colsample_bytree=p["colsample_bytree"], tree_method="hist", max_bin=p["max_bin"],
                   random_state=seed, n_jobs=n_jobs, verbosity=0)
    if baseline == "mlp":
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        cls = MLPClassifier if classifier else MLPRegressor
        return scaled(cls(hidden_layer_sizes=tuple(p["hidden_layer_sizes"]), alpha=p["alpha"],
                          max_iter=p["max_iter"], random_state=seed))
    raise ClinfuseError(f"unknown baseline {baseline!r}: expected one of {', '.join(BASELINES)}")


# --------------------------------------------------------------------------------------------------------
# fitting and selection


@dataclass
class FittedBaseline:
    """One baseline fitted for one target: what is saved (joblib) and what predicts the test split."""

    baseline: str
    target: str
    kind: str
    label_names: list[str]
    params: dict  # the chosen grid entry
    estimators: list  # binary: one per label (None = skipped); multiclass / regression: [estimator]
    priors: list[float]  # binary: per-label training prevalence (the prediction of a skipped label)
    classes: list[int] = field(default_factory=list)  # multiclass: the class indices seen in training
    selection: dict = field(default_factory=dict)  # metric, per-entry validation scores, chosen score
    labels_skipped: list[str] = field(default_factory=list)
    n_train: int = 0
    n_val: int = 0
    seconds: float = 0.0

    def predict(self, X: np.ndarray, n_jobs: int = 1) -> np.ndarray:
        """binary: probabilities [N, C]; multiclass: [N, K] (rows sum to 1); regression: values [N]."""
        from threadpoolctl import threadpool_limits

        X = np.asarray(X, dtype=np.float32)
        with threadpool_limits(limits=n_jobs):
            if self.kind == "binary":
                out = np.empty((len(X), len(self.label_names)), dtype=np.float64)
                for j, estimator in enumerate(self.estimators):
                    out[:, j] = self.priors[j] if estimator is None else _positive_probability(estimator, X)
                return out
            if self.kind == "multiclass":
                out = np.zeros((len(X), len(self.label_names)), dtype=np.float64)
                if self.estimators[0] is None:  # fewer than two classes in training: their frequencies
                    out[:, self.classes] = np.asarray(self.priors)[None, :]
                else:
                    out[:, self.classes] = self.estimators[0].predict_proba(X)
                return out / out.sum(axis=1, keepdims=True)
            return np.asarray(self.estimators[0].predict(X), dtype=np.float64)


def _positive_probability(estimator, X: np.ndarray) -> np.ndarray:
    proba = estimator.predict_proba(X)
    return proba[:, list(estimator.classes_).index(1)]


def _fit(estimator, X, y):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        # small grids of iterative solvers (logistic, MLP) may stop at max_iter; the validation score judges them
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def _binary_validation(y_val: list[np.ndarray], p_val: list[np.ndarray | None]) -> tuple[str, float]:
    """(metric, score; higher is better) over the fitted labels."""
    from sklearn.metrics import log_loss, roc_auc_score

    aurocs = [roc_auc_score(y, p) for y, p in zip(y_val, p_val, strict=True)
              if p is not None and len(np.unique(y)) == 2]
    if aurocs:
        return "auroc", float(np.mean(aurocs))
    losses = [log_loss(y, np.clip(p, 1e-7, 1 - 1e-7), labels=[0, 1]) for y, p in zip(y_val, p_val, strict=True)
              if p is not None and len(y)]
    return ("log_loss", -float(np.mean(losses))) if losses else ("none", math.nan)


def select_and_fit(baseline: str, target_name: str, kind: str, label_names: list[str], X_train: np.ndarray,
                   y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, settings: dict) -> FittedBaseline:
    """Fit every grid entry on the training rows, keep the one with the best validation score.

    `y_*` as the Target holds them (binary [n, C], else [n]; NaN = no label). Only training and validation
    rows are passed in: the test split cannot influence the choice."""
    from threadpoolctl import threadpool_limits

    start = time.monotonic()
    seed, n_jobs = int(settings["seed"]), int(settings["n_jobs"])
    grid = param_grid(baseline, kind, settings)
    y_train = np.asarray(y_train, np.float64)
    y_val = np.asarray(y_val, np.float64)
    if kind == "binary":
        y_train, y_val = y_train.reshape(len(y_train), -1), y_val.reshape(len(y_val), -1)
    best: tuple[float, int, list, list] | None = None  # score, entry index, estimators, priors
    scores, metric, classes, priors, skipped = [], SELECTION_METRIC[kind], [], [], []
    with threadpool_limits(limits=n_jobs):
        for index, params in enumerate(grid):
            if kind == "binary":
                estimators, priors, skipped, val_true, val_prob = [], [], [], [], []
                for j, name in enumerate(label_names):
                    tr, va = ~np.isnan(y_train[:, j]), ~np.isnan(y_val[:, j])
                    y = y_train[tr, j].astype(np.int64)
                    priors.append(float(y.mean()) if len(y) else 0.0)
                    if len(np.unique(y)) < 2:
                        estimators.append(None)
                        skipped.append(name)
                        continue
                    estimator = _fit(make_estimator(baseline, kind, params, seed, n_jobs), X_train[tr], y)
                    estimators.append(estimator)
                    val_true.append(y_val[va, j].astype(np.int64))
                    val_prob.append(_positive_probability(estimator, X_val[va]) if va.any() else None)
                metric, score = _binary_validation(val_true, val_prob)
            elif kind == "multiclass":
                from sklearn.metrics import log_loss

                tr, va = ~np.isnan(y_train), ~np.isnan(y_val)
                y = y_train[tr].astype(np.int64)
                classes = sorted(int(c) for c in np.unique(y))
                if len(classes) < 2:
                    estimators = [None]
                    priors = [1.0] * len(classes)
                    skipped = list(label_names)
                    score = math.nan
                else:
                    encoded = np.searchsorted(classes, y)
                    estimators = [_fit(make_estimator(baseline, kind, params, seed, n_jobs), X_train[tr], encoded)]
                    fitted = FittedBaseline(baseline, target_name, kind, label_names, params, estimators, [],
                                            classes=classes)
                    score = math.nan
                    if va.any():
                        proba = np.clip(fitted.predict(X_val[va], n_jobs), 1e-7, 1.0)
                        proba /= proba.sum(axis=1, keepdims=True)
                        score = -float(log_loss(y_val[va].astype(np.int64), proba,
                                                labels=list(range(len(label_names)))))
            else:
                tr, va = ~np.isnan(y_train), ~np.isnan(y_val)
                if not tr.any():
                    raise ClinfuseError(f"{baseline} on {target_name}: no training row has a value")
                estimators = [_fit(make_estimator(baseline, kind, params, seed, n_jobs), X_train[tr], y_train[tr])]
                score = math.nan
                if va.any():
                    score = -float(np.mean(np.abs(estimators[0].predict(X_val[va]) - y_val[va])))
            scores.append({"params": params, "score": None if math.isnan(score) else
                           (-score if metric in ("log_loss", "mae") else score)})
            better = best is None or (not math.isnan(score) and (math.isnan(best[0]) or score > best[0]))
            if better:
                best = (score, index, estimators, priors)
    score, index, estimators, priors = best
    n_train = int((~np.isnan(y_train)).all(axis=1).sum() if y_train.ndim == 2 else (~np.isnan(y_train)).sum())
    n_val = int((~np.isnan(y_val)).all(axis=1).sum() if y_val.ndim == 2 else (~np.isnan(y_val)).sum())
    return FittedBaseline(
        baseline=baseline, target=target_name, kind=kind, label_names=list(label_names), params=grid[index],
        estimators=estimators, priors=priors, classes=classes, labels_skipped=skipped,
        selection={"metric": metric, "lower_is_better": metric in ("log_loss", "mae"),
                   "chosen_score": scores[index]["score"], "chosen_index": index, "grid": scores},
        n_train=n_train, n_val=n_val, seconds=round(time.monotonic() - start, 3))


def fit_target(task: TabularTask, target: Target, baseline: str, settings: dict) -> FittedBaseline:
    """`select_and_fit` on the task's training and validation rows of one target."""
    train, val = task.rows("train"), task.rows("val")
    return select_and_fit(baseline, target.name, target.kind, target.label_names, task.X[train], target.y[train],
                          task.X[val], target.y[val], settings)


def evaluation_rows(task: TabularTask, target: Target) -> np.ndarray:
    """The test rows a target is evaluated on: test split, every label defined."""
    return np.flatnonzero((task.split == "test") & target.defined())


# --------------------------------------------------------------------------------------------------------
# model asset


def _rel(home: Home, path: Path | str) -> str:
    from models.runner import _rel as rel

    return rel(home, path)


def artifact_dir(home: Home, frame: str) -> Path:
    return home.root / "artifacts" / "baselines" / frame


def model_name(frame: str) -> str:
    return f"baselines_{frame}"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _skip_reason(task: TabularTask, target: Target) -> str | None:
    for split in SPLITS:
        if not (target.defined() & (task.split == split)).any():
            return f"no {split} row has a label"
    return None


def train_baselines(home: Home, frame: str, *, profile: str | None = None, overrides: dict | None = None,
                    frame_record: dict | None = None, progress=print) -> dict:
    """Fit every baseline on every target of `frames/<frame>`'s tabular view; save them (joblib, atomically)
    under artifacts/baselines/<frame>/ and return the model record."""
    import joblib

    if frame not in FRAMES:
        raise ClinfuseError(f"baselines: frame {frame!r}, expected one of {', '.join(FRAMES)}")
    settings = baseline_settings(profile, overrides)
    start = time.monotonic()
    # the frame family's own settings (e.g. M3H's task selection) follow the profile, never the baselines' keys
    task = tabular_task(home, frame, {"profile": settings["profile"]})
    sizes = task.split_sizes()
    if sizes["train"] == 0 or sizes["val"] == 0:
        raise ClinfuseError(f"{model_name(frame)}: frames/{frame} has {sizes['train']} training and {sizes['val']} "
                            f"validation rows; both must be > 0")
    progress(f"{model_name(frame)}: {task.X.shape[1]} features, split sizes {sizes}, "
             f"{len(task.targets)} target(s), baselines {', '.join(settings['baselines'])}, "
             f"profile {settings['profile']}")
    files, selection, skipped_targets = {}, [], []
    out = artifact_dir(home, frame)
    with atomic_dir(out) as tmp:  # a failed or killed fit leaves the previous estimators whole
        for target in task.targets:
            reason = _skip_reason(task, target)
            if reason:
                skipped_targets.append({"target": target.name, "reason": reason})
                progress(f"{model_name(frame)}: target {target.name} skipped ({reason})")
                continue
            for baseline in settings["baselines"]:
                fitted = fit_target(task, target, baseline, settings)
                path = tmp / baseline / f"{target.name}.joblib"
                path.parent.mkdir(parents=True, exist_ok=True)
                joblib.dump(fitted, path, compress=3)
                files[f"{baseline}/{target.name}"] = {"path": f"{baseline}/{target.name}.joblib", "sha256": _sha(path)}
                selection.append({
                    "baseline": baseline, "target": target.name, "kind": target.kind, "params": fitted.params,
                    "metric": fitted.selection["metric"], "validation_score": fitted.selection["chosen_score"],
                    "grid": fitted.selection["grid"], "labels_skipped": fitted.labels_skipped,
                    "n_train": fitted.n_train, "n_val": fitted.n_val, "seconds": fitted.seconds})
                progress(f"{model_name(frame)}: {baseline} on {target.name}: {fitted.params} "
                         f"(validation {fitted.selection['metric']} {fitted.selection['chosen_score']}, "
                         f"{fitted.seconds:.1f} s)")
    if not files:
        raise ClinfuseError(f"{model_name(frame)}: no target of frames/{frame} could be fitted: "
                            + "; ".join(f"{s['target']}: {s['reason']}" for s in skipped_targets))
    fingerprint = hashlib.sha256(json.dumps(
        {"files": files, "frame": task.fingerprint}, sort_keys=True).encode()).hexdigest()[:16]
    record = frame_record or {}
    build = dict(record.get("build_settings") or {})
    if "mode" not in build and isinstance(record.get("mode"), str):
        build["mode"] = record["mode"]
    return {
        "model": model_name(frame), "frame": frame, "artifact_dir": _rel(home, out), "files": files,
        "fingerprint": fingerprint, "settings": settings,
        "lineage": {"frame": {"task": frame, "fingerprint": task.fingerprint},
                    "build": build, "inputs": record.get("input_data_versions") or {}},
        "selection": selection, "skipped_targets": skipped_targets, "split_sizes": sizes,
        "n_features": int(task.X.shape[1]), "description": task.description, "notes": task.notes,
        "targets": [{"name": t.name, "kind": t.kind, "labels": len(t.label_names)} for t in task.targets],
        "seconds": round(time.monotonic() - start, 1),
    }


# --------------------------------------------------------------------------------------------------------
# report asset


def load_fitted(home: Home, record: dict, key: str) -> FittedBaseline:
    """The estimator a record names, refused if the file is not the one its model asset wrote."""
    import joblib

    entry = record["files"][key]
    path = home.root / record["artifact_dir"] / entry["path"]
    if not path.is_file():
        raise ClinfuseError(f"{path}: missing; materialise models/{record['model']} again")
    if _sha(path) != entry["sha256"]:
        raise ClinfuseError(f"{path}: not the estimator models/{record['model']} recorded (sha256 "
                            f"{_sha(path)}, record {entry['sha256']}): materialise models/{record['model']} again")
    return joblib.load(path)


def _mode(record: dict) -> str:
    mode = (record["lineage"].get("build") or {}).get("mode") or "fixed"
    return mode if mode in MODE_TEXT else "fixed"


def _fmt(value, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and not math.isfinite(value)) else \
        (f"{value:.{digits}f}" if isinstance(value, float) else str(value))


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items())) or "(none)"


def selection_section(record: dict):
    from models.reports import Section

    lines = ["Hyper-parameters were chosen on the validation split only (training split fits; test rows never "
             "seen). Selection metric: binary = mean validation AUROC over labels with both classes (log loss "
             "when none has); multiclass = log loss; regression = MAE.", "",
             "| baseline | target | chosen hyper-parameters | validation metric | score | grid | labels skipped "
             "(one class in training) | train / val rows | seconds |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in record["selection"]:
        lines.append(f"| {s['baseline']} | {s['target']} | {_params_text(s['params'])} | {s['metric']} | "
                     f"{_fmt(s['validation_score'])} | {len(s['grid'])} | {len(s['labels_skipped'])} | "
                     f"{s['n_train']} / {s['n_val']} | {_fmt(s['seconds'], 1)} |")
    for s in record.get("skipped_targets", []):
        lines.append(f"\nTarget **{s['target']}** not fitted: {s['reason']}.")
    return Section(title="Baselines: model selection on the validation split", markdown="\n".join(lines),
                   images={}, data={"selection": record["selection"], "skipped_targets": record.get("skipped_targets"),
                                    "grids": record["settings"]["grids"]})


def features_section(record: dict, feature_names: list[str]):
    from models.reports import Section

    shown = ", ".join(f"`{n}`" for n in feature_names[:12]) + (", ..." if len(feature_names) > 12 else "")
    lines = [f"{record['description']}.", "",
             f"{len(feature_names)} columns: {shown}. Missing values are NaN: random forest, histogram gradient "
             f"boosting and XGBoost take them natively; the linear models and the MLP impute training medians and "
             f"standardise with training statistics (fitted in each estimator's pipeline).",
             "", f"Split sizes: {record['split_sizes']}."]
    if record.get("notes"):
        lines.append(f"Notes: {record['notes']}.")
    return Section(title="Baselines: features", markdown="\n".join(lines), images={},
                   data={"description": record["description"], "feature_names": feature_names,
                         "split_sizes": record["split_sizes"], "notes": record.get("notes") or {}})


def head_run(task: TabularTask, target: Target, fitted: FittedBaseline, subset_name: str, provenance: dict, *,
             seed: int = 0, n_bootstrap: int = 1000, subgroup_n_bootstrap: int | None = 200, n_jobs: int = 1):
    """The EvalRun of one head: `fitted`'s predictions on the target's test rows, in Contract 1's layout for
    the target's kind (binary [N, C] 0/1; multiclass [N] class index with [N, K] probabilities; regression
    [N] values)."""
    from models.metrics import EvalRun, Subset

    rows = evaluation_rows(task, target)
    y_prob = fitted.predict(task.X[rows], n_jobs)
    y_true = target.y[rows]
    if target.kind in ("binary", "multiclass"):
        y_true = y_true.astype(np.int64)
    subset = Subset(y_true=y_true, y_prob=y_prob, subject_id=task.subject_id[rows], sex=task.sex[rows],
                    age=task.age[rows], race=task.race[rows])
    head_provenance = provenance | {"settings": {"baseline": fitted.baseline, **fitted.params},
                                    "labels_skipped_in_training": fitted.labels_skipped,
                                    "validation": {"metric": fitted.selection["metric"],
                                                   "score": fitted.selection["chosen_score"]}}
    return EvalRun(model=f"baseline_{fitted.baseline}", task=target.name, kind=target.kind,
                   label_names=list(target.label_names), subsets={subset_name: subset}, provenance=head_provenance,
                   seed=seed, n_bootstrap=n_bootstrap, subgroup_n_bootstrap=subgroup_n_bootstrap, n_jobs=n_jobs)


def evaluate_baselines(home: Home, record: dict, *, n_bootstrap: int | None = None,
                       subgroup_n_bootstrap: int | None = None, seed: int = 0, sources: dict | None = None,
                       progress=print) -> dict:
    """Predict the test split with every saved estimator of a model record; one multi-head report
    (one head per baseline x target) under reports/baselines_<frame>/; returns the report record."""
    from models.metrics import evaluate_run
    from models.reports import write_multihead_report
    from models.runner import report_dir

    frame, settings, name = record["frame"], record["settings"], record["model"]
    n_bootstrap = settings["n_bootstrap"] if n_bootstrap is None else n_bootstrap
    subgroup_n_bootstrap = settings["subgroup_n_bootstrap"] if subgroup_n_bootstrap is None else subgroup_n_bootstrap
    task = tabular_task(home, frame, {"profile": settings["profile"]})
    if task.fingerprint != record["lineage"]["frame"]["fingerprint"]:
        raise ClinfuseError(f"frames/{frame} changed since models/{name} was fitted (frame {task.fingerprint}, "
                            f"record {record['lineage']['frame']['fingerprint']}): materialise models/{name} again")
    releases = sorted(v for v in (sources or {}).values() if v)
    mode = _mode(record)
    provenance = {
        "data_source": ", ".join(releases) or "not recorded",
        "synthetic": any(r.startswith("synthetic-") for r in releases),
        "split_sizes": task.split_sizes(), "seed": settings["seed"], "report_seed": seed,
        "code_version": code_version(frame), "build_settings": record["lineage"].get("build", {}),
        "frame_fingerprint": task.fingerprint, "checkpoint_fingerprint": record["fingerprint"],
        "mode": mode, "mode_description": MODE_TEXT[mode], "profile": settings["profile"],
        "features": task.description, "n_features": int(task.X.shape[1]), "python": platform.python_version(),
    }
    targets = {t.name: t for t in task.targets}
    subset_name = TEST_SUBSET.get(frame, "test")
    docs, runs = [], []
    for entry in record["selection"]:  # heads in BASELINES order, target by target (the files dict is sorted)
        baseline, target_name = entry["baseline"], entry["target"]
        key = f"{baseline}/{target_name}"
        fitted = load_fitted(home, record, key)
        target = targets[target_name]
        run = head_run(task, target, fitted, subset_name, provenance, seed=seed, n_bootstrap=n_bootstrap,
                       subgroup_n_bootstrap=subgroup_n_bootstrap, n_jobs=int(settings["n_jobs"]))
        rows = len(run.subsets[subset_name].y_true)
        docs.append(evaluate_run(run))
        runs.append(run)
        progress(f"{name}: {baseline} on {target_name} evaluated on {rows} {subset_name} rows")
    sections = [features_section(record, task.feature_names), selection_section(record)]
    out = report_dir(home, name)
    with atomic_dir(out) as tmp:  # a killed report leaves the previous one whole
        written = write_multihead_report(tmp, name, docs, runs, sections, provenance)
    paths = {k: out / Path(v).name for k, v in written.items()}
    progress(f"{name}: report written to {paths['html']}")
    return {"model": name, "frame": frame, "report_dir": _rel(home, out), "metrics": _rel(home, paths["json"]),
            "html": _rel(home, paths["html"]), "headline": report_headline(docs)}


def report_headline(docs: list[dict]) -> dict[str, float]:
    """`<baseline>_<task>_<metric>` = each head's main test metric (AUROC; MAE for regression) with its 95 % CI
    bounds, for Dagster metadata (a frame with 40 targets must not give thousands of entries)."""
    from models.metrics import PRIMARY_METRIC, primary_subset

    out = {}
    for doc in docs:
        metric = PRIMARY_METRIC.get(doc.get("kind", "binary"), "auroc")
        entry = doc["subsets"][primary_subset(doc)]["metrics"].get(metric) or {}
        prefix = f"{doc['model'].removeprefix('baseline_')}_{doc['task']}_{metric}"
        for suffix, key in (("", "value"), ("_ci_low", "ci_low"), ("_ci_high", "ci_high")):
            if entry.get(key) is not None:
                out[prefix + suffix] = float(entry[key])
    return out


def code_version(frame: str) -> str:
    """The hash of the code a frame's baselines depend on (the Dagster code_version of its assets)."""
    from warehouse.versions import source_version

    return source_version(*BASELINE_SOURCES, *FRAME_SOURCES.get(frame, ()))
