"""What the m3tlm assets call: `train_m3tlm` (frame -> checkpoint + record) and `evaluate_m3tlm`
(record -> test predictions -> one multi-head report: `los` regression + `mortality` binary, the GradNorm
weight trajectory, the mode / leakage statement and the mean-predictor reference)."""

from __future__ import annotations

import io
import json
import platform
from pathlib import Path

import numpy as np

from models.m3tlm.settings import MODE_TEXT, resolve_settings
from warehouse.lake import ClinfuseError, Home, atomic_dir

MODEL = "m3tlm"
# The files a trained m3tlm depends on: their hash is the model and report assets' code version.
SOURCES = ("models/m3tlm", "features/m3tlm", "models/train.py", "models/data.py", "models/metrics.py",
           "models/reports")


def artifact_dir(home: Home) -> Path:
    return home.root / "artifacts" / MODEL / "los_mortality"


def report_dir(home: Home) -> Path:
    return home.root / "reports" / MODEL


def _frame(home: Home):
    from features.frames import frame_fingerprint
    from features.m3tlm.frame import load_frame
    from models.m3tlm.data import FrameArrays

    return FrameArrays(load_frame(home)), frame_fingerprint(home, "m3tlm")


def _settings(arrays, profile: str | None, overrides: dict | None) -> dict:
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None and v != ""}
    if overrides.get("mode", arrays.mode) != arrays.mode:
        raise ClinfuseError(f"models/m3tlm: mode {overrides['mode']!r} but frames/m3tlm was built with mode "
                            f"{arrays.mode!r}: materialise frames/m3tlm with mode {overrides['mode']!r} first")
    return resolve_settings(profile, {**overrides, "mode": arrays.mode})


def _images(home: Home, arrays, settings: dict):
    from models.m3tlm.data import load_images

    return load_images(home, arrays, settings["image_column"]) if arrays.has_cxr.any() else None


def split_sizes(arrays, train_rows: np.ndarray | None = None) -> dict:
    out = {}
    for split in ("train", "val", "test"):
        rows = arrays.rows(split)
        out[split] = int(len(rows))
        out[f"{split}_with_cxr"] = int(arrays.has_cxr[rows].sum())
        out[f"{split}_deaths"] = int(arrays.mortality[rows].sum())
    if train_rows is not None:
        out["train_oversampled"] = int(len(train_rows))
    return out


def train_m3tlm(home: Home, *, profile: str | None = None, overrides: dict | None = None,
                frame_record: dict | None = None, weights_policy: str | None = None, progress=print) -> dict:
    """Train M3T-LM on frames.m3tlm; the model record (home-relative paths)."""
    import torch

    from models.m3tlm.data import Inputs, M3tlmDataset, oversample_rows
    from models.m3tlm.nets import build_m3tlm
    from models.m3tlm.train import fit_m3tlm
    from models.runner import _rel

    arrays, frame_fp = _frame(home)
    settings = _settings(arrays, profile, overrides)
    train, val = arrays.rows("train"), arrays.rows("val")
    if len(train) == 0 or len(val) == 0:
        raise ClinfuseError(f"models/m3tlm: frames/m3tlm has {len(train)} training and {len(val)} validation "
                            f"rows; both must be > 0")
    inputs = Inputs(arrays, settings, dx_length=int(settings["dx_length"]), px_length=int(settings["px_length"]))
    if settings["shuffle_train_labels"]:
        inputs.shuffle_training_labels(int(settings["seed"]))
        progress("m3tlm: training labels shuffled (negative control)")
    # oversampling after the subject split, of training rows only: validation and test rows never repeat
    train_rows = oversample_rows(train, inputs.mortality[train], settings["oversample"], int(settings["seed"]))
    images = _images(home, arrays, settings)
    torch.manual_seed(int(settings["seed"]))
    model = build_m3tlm(settings, dx_vocab=inputs.dx_vocab.size, px_vocab=inputs.px_vocab.size,
                        weights_policy=weights_policy)
    # the LoS head ends in a ReLU: started at the training mean it is active (a head starting below zero
    # for every row gets no gradient and predicts 0 for ever)
    model.init_los_bias(float(inputs.los[train].mean()))
    record_frame = frame_record or {}
    lineage = {"frame": {"task": "m3tlm", "fingerprint": frame_fp, "mode": arrays.mode,
                         "window_hours": arrays.window_hours},
               "build": record_frame.get("build_settings") or {}, "inputs": record_frame.get("input_data_versions") or {}}
    sizes = split_sizes(arrays, train_rows)
    progress(f"m3tlm: {sizes['train']} training rows ({len(train_rows)} after oversampling: {settings['oversample']}), "
             f"{sizes['val']} validation rows; profile {settings['profile']}, mode {settings['mode']}, image branch "
             f"{settings['image_backbone']} ({model.weights_source['image_branch']}), fusion width {model.fusion_dim}")
    result = fit_m3tlm(model, M3tlmDataset(inputs, train_rows, images, settings["image_size"]),
                       M3tlmDataset(inputs, val, images, settings["image_size"]), settings, artifact_dir(home),
                       lineage, inputs.state(), progress=progress)
    return {"model": MODEL, "family": MODEL, "task": "los+mortality",
            "checkpoint": _rel(home, result["best_path"]), "last": _rel(home, result["last_path"]),
            "fingerprint": result["fingerprint"], "settings": settings, "lineage": lineage,
            "best_epoch": result["best_epoch"], "best_val_loss": result["best_val_loss"],
            "history": result["history"], "gradnorm": result["gradnorm"], "fusion_dim": int(model.fusion_dim),
            "weights_source": model.weights_source, "split_sizes": sizes}


def _checkpoint(home: Home, record: dict) -> dict:
    from models.train import load_checkpoint

    path = home.root / record["checkpoint"]
    checkpoint = load_checkpoint(path, expect={"lineage": {"frame": record["lineage"]["frame"]}})
    if checkpoint.get("fingerprint") != record["fingerprint"]:
        raise ClinfuseError(f"{path}: not the checkpoint models/m3tlm recorded: materialise models/m3tlm again")
    return checkpoint


def _gradnorm_section(record: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from models.reports import Section

    rows = record["gradnorm"]
    updates = [r["update"] for r in rows]
    weights = np.array([r["weights"] for r in rows])
    fig, ax = plt.subplots(figsize=(5.5, 3.2), dpi=110)
    ax.plot(updates, weights[:, 0], marker="o", label="w_los (Huber)")
    ax.plot(updates, weights[:, 1], marker="o", label="w_mortality (BCE)")
    ax.set_xlabel(f"update ({record['settings']['gradnorm_update']})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("task weight")
    ax.set_title("GradNorm task weights")
    ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    s = record["settings"]
    table = "\n".join(f"| {r['update']} | {r['weights'][0]:.4f} | {r['weights'][1]:.4f} | "
                      + (" / ".join(f"{v:.3f}" for v in r["r"]) if "r" in r else "–") + " |" for r in rows)
    text = (f"Task weights start at 0.5 / 0.5 and follow GradNorm (M3T-LM Eqs. 4-6): alpha {s['gradnorm_alpha']}, "
            f"lambda {s['gradnorm_lr'] or s['lr']}, theta = the kernel of {s['gradnorm_layer']}, the target held "
            f"constant, weights renormalised to sum 1, updated per {s['gradnorm_update']}. A task whose loss falls "
            f"more slowly (r > 1) gains weight.\n\n| update | w_los | w_mortality | r (los / mortality) |\n"
            f"|---|---|---|---|\n{table}\n")
    return Section("GradNorm task weights", text, images={"m3tlm_gradnorm": buffer.getvalue()},
                   data={"trajectory": rows})


def _mode_section(settings: dict, arrays):
    from models.reports import Section

    mode = settings["mode"]
    text = (f"**Mode: {mode}.** {MODE_TEXT[mode]}\n\nFrame: prediction time "
            + ("= discharge (whole admission)" if arrays.window_hours is None
               else f"= admittime + {arrays.window_hours} h") + f"; oversampling `{settings['oversample']}` of the "
            "training split only (after the subject split); image branch "
            f"`{settings['image_backbone']}` ({settings['image_channels']} channel(s), {settings['image_size']} px).")
    return Section("Mode and leakage", text, data={"mode": mode, "window_hours": arrays.window_hours,
                                                   "oversample": settings["oversample"]})


def _constant_predictor(arrays, rows: np.ndarray, value: float, n_bootstrap: int, seed: int) -> dict:
    """The test metrics (with CIs) of predicting one LoS `value` for every admission."""
    from models.metrics import EvalRun, Subset, evaluate_run

    run = EvalRun(model="constant", task="los", label_names=["los"], kind="regression",
                  subsets={"test_partial": Subset(y_true=arrays.los[rows].astype(np.float64),
                                                  y_prob=np.full(len(rows), value))},
                  seed=seed, n_bootstrap=n_bootstrap, subgroup_n_bootstrap=0)
    return evaluate_run(run)["subsets"]["test_partial"]["metrics"]


def evaluate_m3tlm(home: Home, record: dict, *, n_bootstrap: int | None = None, seed: int = 0,
                   device: str = "auto", sources: dict | None = None, progress=print) -> dict:
    """Evaluate the record's checkpoint on the test split; write reports/m3tlm; the report record."""
    from models.m3tlm.data import Inputs, M3tlmDataset
    from models.m3tlm.nets import build_m3tlm
    from models.m3tlm.train import predict
    from models.metrics import EvalRun, Subset, evaluate_run, multihead_headline
    from models.reports import Section, write_multihead_report
    from models.runner import _code_version, _rel

    settings = record["settings"]
    n_bootstrap = int(settings["n_bootstrap"] if n_bootstrap is None else n_bootstrap)
    arrays, frame_fp = _frame(home)
    if frame_fp != record["lineage"]["frame"]["fingerprint"]:
        raise ClinfuseError(f"frames/m3tlm changed since models/m3tlm was trained (frame {frame_fp}, checkpoint "
                            f"{record['lineage']['frame']['fingerprint']}): materialise models/m3tlm again")
    checkpoint = _checkpoint(home, record)
    inputs = Inputs(arrays, settings, state=checkpoint["inputs"])
    model = build_m3tlm({**settings, "cxr_weights": "none"}, dx_vocab=inputs.dx_vocab.size,
                        px_vocab=inputs.px_vocab.size)
    model.load_state_dict(checkpoint["model"])
    images = _images(home, arrays, settings)
    test = arrays.rows("test")
    if len(test) == 0:
        raise ClinfuseError("models/m3tlm: frames/m3tlm has no test rows to evaluate")
    los_pred, mort_prob = predict(model, M3tlmDataset(inputs, test, images, settings["image_size"]),
                                  int(settings["batch_size"]), device)
    progress(f"m3tlm: predicted {len(test)} test admissions ({int(arrays.has_cxr[test].sum())} with an image)")
    subsets = {"test_partial": np.ones(len(test), bool), "test_paired": arrays.has_cxr[test]}
    subsets = {name: mask for name, mask in subsets.items() if mask.any()}

    def subset(mask: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray) -> Subset:
        rows = test[mask]
        return Subset(y_true=y_true, y_prob=y_pred, subject_id=arrays.subject_id[rows], sex=arrays.sex[rows],
                      age=arrays.age[rows], race=arrays.race[rows])

    label = MODEL + (" [shuffled-label control]" if settings.get("shuffle_train_labels") else "")
    train_mean = float(arrays.los[arrays.rows("train")].mean())
    train_median = float(np.median(arrays.los[arrays.rows("train")]))
    provenance = {
        "data_source": ", ".join(sorted(v for v in (sources or {}).values() if v)) or "not recorded",
        "synthetic": any(str(v).startswith("synthetic-") for v in (sources or {}).values()),
        "split_sizes": record["split_sizes"], "seed": settings["seed"], "report_seed": seed,
        "code_version": _code_version(), "build_settings": record["lineage"].get("build", {}),
        "frame_fingerprint": frame_fp, "checkpoint_fingerprint": record["fingerprint"],
        "weights_sources": record.get("weights_source", {}), "mode": settings["mode"],
        "mode_description": MODE_TEXT[settings["mode"]], "profile": settings["profile"],
        "settings": {k: settings[k] for k in sorted(settings)}, "best_epoch": record["best_epoch"],
        "fusion_dim": record.get("fusion_dim"), "python": platform.python_version(),
    }
    history = [{"epoch": r["epoch"], "train_loss": r["train_huber"] + r["train_bce"], "val_loss": r["val_loss"],
                "val_auroc": r["val_auroc"]} for r in record["history"]]
    common = {"model": label, "provenance": provenance, "seed": seed, "n_bootstrap": n_bootstrap, "history": history,
              "threshold": float(settings["threshold"])}
    los_run = EvalRun(task="los", label_names=["los"], kind="regression", subgroup_n_bootstrap=0, **common,
                      subsets={name: subset(mask, arrays.los[test[mask]].astype(np.float64),
                                            los_pred[mask].astype(np.float64)) for name, mask in subsets.items()})
    mortality_run = EvalRun(task="mortality", label_names=["mortality"], kind="binary",
                            subgroup_n_bootstrap=min(n_bootstrap, 50), **common,
                            subsets={name: subset(mask, arrays.mortality[test[mask]].reshape(-1, 1),
                                                  mort_prob[mask].reshape(-1, 1).astype(np.float64))
                                     for name, mask in subsets.items()})
    runs = [los_run, mortality_run]
    docs = [evaluate_run(run) for run in runs]
    reference = _constant_predictor(arrays, test, train_mean, n_bootstrap, seed)
    median = _constant_predictor(arrays, test, train_median, n_bootstrap, seed)
    model_mae = docs[0]["subsets"]["test_partial"]["metrics"]["mae"]

    def mae(entry: dict) -> str:
        return f"{entry['value']:.3f} (95 % CI {entry['ci_low']:.3f}–{entry['ci_high']:.3f})"

    signal = Section(
        "Reference: constant predictors",
        f"Test MAE of predicting the training split's mean LoS ({train_mean:.2f} days) for every admission: "
        f"{mae(reference['mae'])}; its median ({train_median:.2f} days, the constant with the lowest MAE): "
        f"{mae(median['mae'])}; M3T-LM: {mae(model_mae)}. Beating the mean but not the median says only that the "
        f"model learnt the skew of LoS. A mortality AUROC of 0.5 is chance.",
        data={"train_mean_los": train_mean, "train_median_los": train_median, "mean_predictor": reference,
              "median_predictor": median})
    sections = [_mode_section(settings, arrays), _gradnorm_section(record), signal]
    out = report_dir(home)
    with atomic_dir(out) as tmp:  # a killed report leaves the previous one whole
        written = write_multihead_report(tmp, MODEL, docs, runs, sections, provenance)
    paths = {k: out / Path(v).name for k, v in written.items()}
    progress(f"m3tlm: report written to {paths['html']}")
    headline = multihead_headline(docs)
    headline["los_mean_predictor_mae"] = float(reference["mae"]["value"])
    headline["los_median_predictor_mae"] = float(median["mae"]["value"])
    return {"model": MODEL, "report_dir": _rel(home, out), "metrics": _rel(home, paths["json"]),
            "html": _rel(home, paths["html"]), "headline": headline}


def load_report(home: Home, record: dict) -> dict:
    return json.loads((home.root / record["metrics"]).read_text())
