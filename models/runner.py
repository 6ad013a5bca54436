"""What a model asset and a report asset do, as plain functions over a home (no Dagster here).

    train_model      frame + normaliser + images -> datasets -> model (stage-1 encoders loaded) -> fit
    evaluate_model   checkpoint -> test predictions (PARTIAL, PAIRED), robustness, ablation -> report
    build_leaderboard  every report's metrics.json -> reports.leaderboard (+ HTML, Markdown)

Each returns a small JSON-able record; the next asset receives it (Dagster lineage), so a report
evaluates exactly the checkpoint its model asset wrote.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np

from features.frames import FRAMES, frame_fingerprint, load_task_frame
from models.profiles import model_name, resolve_settings
from warehouse.lake import ClinfuseError, Home, atomic_dir

TRAIN_KEYS = ("epochs", "batch_size", "lr", "betas", "weight_decay", "patience", "lr_patience", "lr_factor", "seed",
              "device", "num_workers", "loss", "uncertainty_lr", "uncertainty_form")
MODEL_KEYS = ("hidden", "layers", "dropout", "backbone", "cxr_weights", "missing")
# Further settings that change what a checkpoint holds, so a checkpoint's lineage carries them.
LINEAGE_KEYS = ("family", "task", "image_size", "image_column", "augment", "mode", "validation_subset",
                "shuffle_train_labels")
# The files a trained model depends on: their hash is the model assets' code version.
MODEL_SOURCES = ("models", "features/frames.py", "features/tasks.py", "features/store", "features/cxr/tensors.py")
# What `mode` means, in the words every report prints.
MODE_TEXT = {
    "fixed": "the default: Adam betas (0.9, 0.999); validation on every validation stay (PARTIAL); the "
             "transformer masks the token of a missing image; noise for robustness is zero-mean and test-only.",
    "faithful": "reproduces the reference code: Adam betas (0.9, 0.9), validation on PAIRED stays only, "
                "the transformer attends the zero token of a missing image.",
}


def _rel(home: Home, path: Path | str) -> str:
    """Records hold paths relative to the home, so a moved or copied home reads its own files."""
    return Path(path).resolve().relative_to(home.root.resolve()).as_posix()


def _abs(home: Home, path: str) -> Path:
    return home.root / path


def artifact_dir(home: Home, family: str, task: str) -> Path:
    return home.root / "artifacts" / family / task


def report_dir(home: Home, name: str) -> Path:
    return home.root / "reports" / name


def _normalizer(home: Home, task: str):
    import polars as pl

    from features.timeseries.normalizer import NormalizerState
    from warehouse.lake import parquet_glob

    table_dir = home.table_dir("features", f"normalizer_{task}")
    if not table_dir.is_dir():
        raise ClinfuseError(f"features.normalizer_{task} is not materialised: materialise features/normalizer_{task} first")
    return NormalizerState.from_frame(pl.read_parquet(parquet_glob(table_dir)))


class TaskData:
    """A task's frame as arrays, its normaliser and (when the model sees images) its image store."""

    def __init__(self, home: Home, task: str, settings: dict, with_images: bool, normalizer=None):
        from models.data import FrameArrays, ImageStore

        self.task = task
        self.spec = FRAMES[task]
        self.fingerprint = frame_fingerprint(home, task)
        self.arrays = FrameArrays(load_task_frame(home, task), label_columns=self.spec.label_columns)
        self.normalizer = None if task == "cxr" else normalizer or _normalizer(home, task)
        self.images = None
        if with_images:
            tensors = home.table_dir("features", "cxr_tensors")
            if not tensors.is_dir():
                raise ClinfuseError("features.cxr_tensors is not materialised: materialise features/cxr_tensors first")
            self.images = ImageStore.from_lake(tensors, self.arrays.dicom_ids(), column=settings["image_column"])
            self.arrays.drop_missing_images(self.images)
        self.image_size = settings["image_size"]

    def rows(self, split: str, subset: str = "partial") -> np.ndarray:
        return self.arrays.rows(split, paired_only=subset == "paired")

    def dataset(self, rows: np.ndarray, augment: str | None = None, noise=None, ablate: str | None = None):
        from models.data import FusionDataset

        return FusionDataset(self.arrays, rows, self.normalizer, self.images, image_size=self.image_size,
                             augment=augment, noise=noise, ablate=ablate)

    def split_sizes(self) -> dict:
        return {f"{split}_{subset}": int(len(self.rows(split, subset)))
                for split in ("train", "val", "test") for subset in ("partial", "paired")}


def _lineage(data: TaskData, frame_record: dict | None) -> dict:
    record = frame_record or {}
    return {"frame": {"task": data.task, "fingerprint": data.fingerprint},
            "build": record.get("build_settings") or {}, "inputs": record.get("input_data_versions") or {}}


def train_model(home: Home, family: str, task: str, *, profile: str, overrides: dict | None = None,
                frame_record: dict | None = None, stage1: dict | None = None, weights_policy: str = "strict",
                progress=print) -> dict:
    """Train `family` on `frames/<task>`; fusion models start from the stage-1 records in `stage1`
    ({"ehr": uni_ehr record, "cxr": uni_cxr record}). Returns the model record."""
    import torch

    from models.data import collate
    from models.losses import make_loss
    from models.nets import build_model, load_stage1
    from models.train import TrainConfig, fit

    settings = resolve_settings(family, task, profile, overrides)
    data = TaskData(home, task, settings, with_images=family != "uni_ehr")
    lineage = _lineage(data, frame_record)
    n_labels = len(data.spec.label_columns)
    torch.manual_seed(settings["seed"])  # the initial weights are part of a reproducible run
    model = build_model(family, n_labels, {**{k: settings[k] for k in MODEL_KEYS}, "weights_policy": weights_policy})
    weights_source = dict(getattr(model, "weights_source", {}) or {})
    loaded = {}
    for part, record in (stage1 or {}).items():
        # the EHR encoder must come from the same frame; the image encoder from images prepared as ours are
        if part == "cxr":
            for key in ("image_column", "image_size"):
                if record["settings"][key] != settings[key]:
                    raise ClinfuseError(
                        f"{model_name(family, task)}: {key} is {settings[key]!r} but the stage-1 models/uni_cxr was "
                        f"trained with {record['settings'][key]!r}: set the same {key} on both")
        expect = {"lineage": {"frame": lineage["frame"]}} if part == "ehr" else {}
        checkpoint_path = _abs(home, record["checkpoint"])
        _checked_checkpoint(checkpoint_path, record, expect)
        loaded[part] = load_stage1(model, checkpoint_path, part=part)
        if part == "cxr":
            source = record.get("weights_source", {}).get("cxr_encoder", "?")
            weights_source["cxr_encoder"] = f"stage-1 uni_cxr {record['fingerprint']} (initialised from {source})"
    train_rows = data.rows("train")
    val_rows = data.rows("val", settings["validation_subset"])
    if len(train_rows) == 0 or len(val_rows) == 0:
        raise ClinfuseError(f"{model_name(family, task)}: frames/{task} has {len(train_rows)} training and "
                            f"{len(val_rows)} validation rows ({settings['validation_subset']}); both must be > 0")
    if settings["shuffle_train_labels"]:  # negative control: any skill left must come from a leak
        labels = data.arrays.labels.copy()
        labels[train_rows] = labels[np.random.default_rng(settings["seed"]).permutation(train_rows)]
        data.arrays.labels = labels
        progress(f"{model_name(family, task)}: training labels shuffled (negative control)")
    augment = None if settings["augment"] == "none" or family == "uni_ehr" else settings["augment"]
    config = TrainConfig(**{k: (tuple(settings[k]) if k == "betas" else settings[k]) for k in TRAIN_KEYS})
    run_lineage = {
        **lineage,
        "normalizer": None if data.normalizer is None else json.loads(data.normalizer.to_json()),
        "model": {k: settings[k] for k in (*MODEL_KEYS, *LINEAGE_KEYS)},
        "stage1": {part: record["fingerprint"] for part, record in (stage1 or {}).items()},
    }
    out_dir = artifact_dir(home, family, task)
    progress(f"{model_name(family, task)}: {len(train_rows)} training rows, {len(val_rows)} validation rows "
             f"({settings['validation_subset']}), profile {settings['profile']}, mode {settings['mode']}, "
             f"stage-1 parameters loaded: {loaded or 'none'}")
    result = fit(model, make_loss(settings["loss"], n_labels, settings["uncertainty_form"]),
                 data.dataset(train_rows, augment=augment), data.dataset(val_rows), config, out_dir,
                 lineage=run_lineage, collate_fn=collate, progress=progress)
    return {
        "model": model_name(family, task), "family": family, "task": task,
        "checkpoint": _rel(home, result.best_path), "last": _rel(home, result.last_path),
        "fingerprint": result.fingerprint, "settings": settings, "lineage": run_lineage,
        "best_epoch": result.best_epoch, "best_val_auroc": _num(result.best_val_auroc),
        "epochs_run": result.epochs_run, "stopped_early": result.stopped_early, "history": result.history,
        "weights_source": weights_source, "split_sizes": data.split_sizes(),
    }


def _checked_checkpoint(path: Path, record: dict, expect: dict) -> dict:
    """The checkpoint a record names, refused if it is not the one that record's training wrote (a later
    training with other settings, killed before it finished, may have replaced it)."""
    from models.train import load_checkpoint

    checkpoint = load_checkpoint(path, expect=expect or None)
    if checkpoint.get("fingerprint") != record["fingerprint"]:
        raise ClinfuseError(f"{path}: not the checkpoint models/{record['model']} recorded (fingerprint "
                            f"{str(checkpoint.get('fingerprint'))[:12]}, record {record['fingerprint'][:12]}): "
                            f"materialise models/{record['model']} again")
    return checkpoint


def _normalizer_of(state: dict | None):
    """The normaliser a model was trained with, as its record carries it."""
    from features.timeseries.normalizer import NormalizerState

    return NormalizerState.from_json(json.dumps(state)) if state else None


def _num(value) -> float:
    return float("nan") if value is None else float(value)


def _subset(data: TaskData, rows: np.ndarray, probs: np.ndarray):
    from models.metrics import Subset

    a = data.arrays
    return Subset(y_true=a.labels[rows], y_prob=probs, subject_id=a.subject_id[rows], sex=a.sex[rows],
                  age=a.age[rows], race=a.race[rows])


def evaluate_model(home: Home, record: dict, *, n_bootstrap: int | None = None, subgroup_n_bootstrap: int | None = None,
                   noise_fractions=None, seed: int = 0, device: str = "auto", sources: dict | None = None,
                   progress=print) -> dict:
    """Evaluate the checkpoint of a model record on the test split and write its report. Unset bootstrap
    sizes and noise fractions come from the settings the model was trained with (its profile).
    `sources`: source kind -> release (e.g. `mimic_iv: mimic-iv-demo-2.2`), for the report's data source."""
    from models.data import NoiseSpec, collate
    from models.metrics import EvalRun, evaluate_run, headline
    from models.nets import build_model
    from models.reports import roc_markdown, write_report
    from models.train import history_without_timing, predict

    family, task, settings = record["family"], record["task"], record["settings"]
    name = record["model"]
    n_bootstrap = settings["n_bootstrap"] if n_bootstrap is None else n_bootstrap
    subgroup_n_bootstrap = settings["subgroup_n_bootstrap"] if subgroup_n_bootstrap is None else subgroup_n_bootstrap
    noise_fractions = settings["noise_fractions"] if noise_fractions is None else noise_fractions
    data = TaskData(home, task, settings, with_images=family != "uni_ehr",
                    normalizer=_normalizer_of(record["lineage"].get("normalizer")))
    if data.fingerprint != record["lineage"]["frame"]["fingerprint"]:
        raise ClinfuseError(f"frames/{task} changed since models/{name} was trained (frame {data.fingerprint}, "
                            f"checkpoint {record['lineage']['frame']['fingerprint']}): materialise models/{name} again")
    checkpoint = _checked_checkpoint(_abs(home, record["checkpoint"]), record, {"lineage": record["lineage"]})
    model = build_model(family, len(data.spec.label_columns),
                        {**{k: settings[k] for k in MODEL_KEYS}, "cxr_weights": "none"})
    model.load_state_dict(checkpoint["model"])

    def run(rows, **kwargs) -> np.ndarray:
        return predict(model, data.dataset(rows, **kwargs), collate, batch_size=64, device=device)

    subsets, test_rows = {}, {}
    for subset in ("partial", "paired") if family != "uni_cxr" else ("partial",):
        rows = data.rows("test", subset)
        if len(rows):
            test_rows[subset] = rows
            subsets["test_images" if family == "uni_cxr" else f"test_{subset}"] = _subset(data, rows, run(rows))
    if not subsets:
        raise ClinfuseError(f"models/{name}: frames/{task} has no test rows to evaluate")
    progress(f"{name}: predicted {', '.join(f'{k} ({len(v.y_true)})' for k, v in subsets.items())}")

    modalities = {"uni_ehr": ("ehr",), "uni_cxr": ("cxr",)}.get(family, ("ehr", "cxr", "both"))
    train_images = data.rows("train", "paired")
    pixel_sigma = 0.0
    if data.images is not None and len(train_images):
        pixel_sigma = data.images.pixel_std(train_images)
    else:  # no image noise without training pixel statistics
        modalities = tuple(m for m in modalities if m == "ehr")
    robustness = []
    base_rows, base_name = test_rows.get("partial", []), next(iter(subsets))
    for fraction in noise_fractions if len(base_rows) else ():
        for modality in modalities:
            noise = NoiseSpec(ts_fraction=fraction if modality in ("ehr", "both") else 0.0,
                              pixel_fraction=fraction if modality in ("cxr", "both") else 0.0,
                              seed=seed, pixel_sigma=pixel_sigma)
            robustness.append({"modality": modality, "fraction": float(fraction), "subset": base_name,
                               "y_true": data.arrays.labels[base_rows], "y_prob": run(base_rows, noise=noise)})
    ablation = {}
    if family in ("medfuse", "tsfusion") and "paired" in test_rows:
        rows = test_rows["paired"]
        ablation = {"full": (data.arrays.labels[rows], subsets["test_paired"].y_prob),
                    "no_cxr": (data.arrays.labels[rows], run(rows, ablate="cxr")),
                    "no_ehr": (data.arrays.labels[rows], run(rows, ablate="ehr"))}
    progress(f"{name}: robustness ({len(robustness)} runs) and ablation ({len(ablation)}) predicted")

    releases = sorted(v for v in (sources or {}).values() if v)
    provenance = {
        "data_source": ", ".join(releases) or "not recorded",
        "synthetic": any(r.startswith("synthetic-") for r in releases),
        "split_sizes": data.split_sizes(), "seed": settings["seed"], "report_seed": seed,
        "code_version": _code_version(), "build_settings": record["lineage"].get("build", {}),
        "frame_fingerprint": data.fingerprint, "checkpoint_fingerprint": record["fingerprint"],
        "weights_sources": record.get("weights_source", {}) or {"cxr_encoder": "not used (time series only)"},
        "mode": settings["mode"], "mode_description": MODE_TEXT[settings["mode"]], "profile": settings["profile"],
        "settings": {k: settings[k] for k in sorted(settings)}, "best_epoch": record["best_epoch"],
        "python": platform.python_version(),
    }
    label_groups = None
    if task == "pheno":
        from features.mimic3_benchmarks import PHENOTYPE_LEVELS

        label_groups = dict(PHENOTYPE_LEVELS)
    label = family + (" [shuffled-label control]" if settings.get("shuffle_train_labels") else "")
    run_ = EvalRun(model=label, task=task, label_names=list(data.spec.label_columns), label_groups=label_groups,
                   subsets=subsets, robustness=robustness, ablation=ablation,
                   history=history_without_timing(record["history"]),
                   provenance=provenance, seed=seed, n_bootstrap=n_bootstrap,
                   subgroup_n_bootstrap=subgroup_n_bootstrap)
    doc = evaluate_run(run_)
    out = report_dir(home, name)
    with atomic_dir(out) as tmp:  # a killed report leaves the previous one whole
        written = write_report(tmp, doc, run_)
        roc = roc_markdown(doc, written["roc"])
    paths = {k: out / Path(v).name for k, v in written.items()}
    progress(f"{name}: report written to {paths['html']}")
    return {"model": name, "family": family, "task": task, "report_dir": _rel(home, out),
            "metrics": _rel(home, paths["json"]), "html": _rel(home, paths["html"]),
            "headline": headline(doc), "roc_markdown": roc}


def _code_version() -> str:
    """The same hash the Dagster code_version of the model assets is built from."""
    from warehouse.versions import source_version

    return source_version(*MODEL_SOURCES)


def build_leaderboard(home: Home, reports: list[dict | None]) -> dict:
    """reports.leaderboard (lake table + view), leaderboard.html and .md from the given report records
    (None = not materialised, skipped). A record's metrics.json is one evaluate_run doc or a multi-head
    document (`"kind": "multihead"`, every head becomes rows); the record's `model` names the report."""
    import pyarrow.parquet as pq

    from models.leaderboard import write_leaderboard
    from warehouse.lake import publish, write_arrow

    records = [r for r in reports if r]
    docs = []
    for record in records:
        path = _abs(home, record["metrics"])
        if not path.is_file():
            raise ClinfuseError(f"{path}: the metrics of reports/{record.get('model', '?')} are missing: "
                                f"materialise reports/{record.get('model', '?')} again")
        docs.append(json.loads(path.read_text()))
    if not docs:
        raise ClinfuseError("reports/leaderboard: no report is materialised yet: materialise a reports/* asset first")
    out = report_dir(home, "leaderboard")
    with atomic_dir(out) as tmp:
        written = write_leaderboard(tmp, docs, [record.get("model") for record in records])
    paths = {k: out / Path(v).name for k, v in written.items()}
    table = pq.read_table(paths["parquet"])  # the rows just written, into the lake for reports.leaderboard
    write_arrow(home, "reports", "leaderboard", table)
    publish(home, "reports", "leaderboard")
    return {"rows": table.num_rows, "models": len(docs), "html": _rel(home, paths["html"]),
            "markdown": Path(paths["md"]).read_text()}
