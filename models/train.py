"""The training loop: Adam, ReduceLROnPlateau on validation loss, early stopping on validation mean AUROC,
atomic checkpoints, exact resume after a kill, and prediction.

Protocol (reference §3.6): Adam(lr, betas) over the model's parameters, plus a second group for the loss's
own parameters when it has any (the uncertainty loss's log_var: lr `uncertainty_lr`, default betas);
ReduceLROnPlateau(mode='min', factor, patience) stepped on the validation loss; the best checkpoint is the
epoch with the highest validation mean AUROC (macro over the labels that have both classes in the validation
set; the earlier epoch on ties), and training stops after `patience` epochs without a new best. When no
label has both classes the validation loss selects instead (the history says so). Unlike the reference,
each epoch trains and then validates (the reference validates first, so its epoch 1 scores the untrained
model); this changes nothing but the epoch numbering of the history.

Determinism: every epoch starts by seeding python, numpy and torch from (seed, epoch) and shuffles with a
torch.Generator seeded the same way; on the CPU deterministic algorithms are on. An epoch therefore does not
depend on how the run got there, and resuming from `last.pt` after epoch k gives exactly the history and
weights of a run that was never interrupted. `last.pt` is written after every epoch and `best.pt` whenever
the selection metric improves, each to a temporary file renamed into place (a kill never leaves half a
file). A checkpoint carries a fingerprint (sha256 of the canonical JSON of the config and the lineage); an
incomplete `last.pt` with the same fingerprint is resumed, anything else is trained from scratch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from features.device import autocast, resolve_device
from features.progress import Progress, duration
from models.data import collate
from warehouse.lake import ClinfuseError

CHECKPOINT_FORMAT = 1
LOSSES = ("bce", "uncertainty")
UNCERTAINTY_FORMS = ("code", "paper")
TIMING_KEYS = ("seconds", "samples_per_s")  # wall-clock entries of a history row (not reproducible)


class CheckpointMismatch(ClinfuseError):
    """A checkpoint from another configuration or another frame."""


@dataclass
class TrainConfig:
    epochs: int = 50
    batch_size: int = 16
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)  # faithful: (0.9, 0.9) (reference §7 #9)
    weight_decay: float = 0.0
    patience: int | None = 15  # epochs without a better validation AUROC before stopping; None: never
    lr_patience: int = 10
    lr_factor: float = 0.5
    seed: int = 1002
    device: str = "auto"
    num_workers: int = 0
    loss: str = "bce"
    uncertainty_lr: float = 7e-4
    uncertainty_form: str = "code"
    max_grad_norm: float | None = None
    drop_last: bool = True  # the reference drops the last incomplete training batch
    # The datasets are built by the caller; when set, these are checked against the training dataset.
    # Either way the checkpoint records what the datasets are (config["datasets"]).
    image_size: int | None = None
    augment: str | None = None

    def __post_init__(self) -> None:
        self.betas = tuple(float(b) for b in self.betas)
        if self.augment == "none":
            self.augment = None
        checks = [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.lr > 0, f"lr must be > 0, got {self.lr}"),
            (len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), f"betas must be two values in [0, 1), got {self.betas}"),
            (self.patience is None or self.patience >= 1, f"patience must be >= 1 or None, got {self.patience}"),
            (self.lr_patience >= 0, f"lr_patience must be >= 0, got {self.lr_patience}"),
            (0 < self.lr_factor < 1, f"lr_factor must be within (0, 1), got {self.lr_factor}"),
            (self.num_workers >= 0, f"num_workers must be >= 0, got {self.num_workers}"),
            (self.loss in LOSSES, f"loss {self.loss!r} is not one of {', '.join(LOSSES)}"),
            (self.uncertainty_form in UNCERTAINTY_FORMS,
             f"uncertainty_form {self.uncertainty_form!r} is not one of {', '.join(UNCERTAINTY_FORMS)}"),
            (self.max_grad_norm is None or self.max_grad_norm > 0, f"max_grad_norm must be > 0, got {self.max_grad_norm}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ClinfuseError(f"training config: {message}")

    def to_dict(self) -> dict:
        """JSON-ready (tuples as lists), what the checkpoint and its fingerprint record."""
        return _jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """From `to_dict()` or a checkpoint's config (whose `datasets` entry is not a setting)."""
        values = {k: v for k, v in values.items() if k != "datasets"}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ClinfuseError(f"training config: unknown key(s) {', '.join(unknown)}")
        return cls(**values)


@dataclass
class TrainResult:
    best_path: Path
    last_path: Path
    history: list[dict]
    best_epoch: int
    best_val_auroc: float  # NaN when the validation loss selected
    epochs_run: int  # epochs in the history (resumed ones included)
    stopped_early: bool
    resumed_from: int | None  # the epoch of the last.pt this run continued from
    selected_on: str = "val_auroc"
    fingerprint: str = ""  # of the config and lineage, as every checkpoint of the run carries it


# ---------------------------------------------------------------- checkpoints


def _jsonable(value):
    """Plain JSON types (tuples -> lists, numpy scalars -> Python, paths -> str), keys as strings."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return str(value)


def fingerprint(config: dict, lineage: dict) -> str:
    canonical = json.dumps({"config": config, "lineage": lineage}, sort_keys=True, separators=(",", ":"),
                           default=_json_default)
    return hashlib.sha256(canonical.encode()).hexdigest()


def differing_keys(expected, actual, prefix: str = "", *, both_ways: bool = True) -> list[str]:
    """Dotted paths where two JSON-like values differ. Dicts are compared key by key (recursively); with
    both_ways=False only the keys of `expected` are looked at."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        keys = set(expected) | set(actual) if both_ways else set(expected)
        out: list[str] = []
        for key in sorted(keys, key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in actual or key not in expected:
                out.append(path)
            else:
                out += differing_keys(expected[key], actual[key], path, both_ways=both_ways)
        return out
    same = expected == actual or (isinstance(expected, float) and isinstance(actual, float)
                                  and math.isnan(expected) and math.isnan(actual))
    return [] if same else [prefix or "(value)"]


def _read(path: Path, map_location) -> dict:
    if not path.is_file():
        raise ClinfuseError(f"checkpoint {path} does not exist")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file raises anything unpickling can raise
        raise ClinfuseError(f"checkpoint {path} cannot be read ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else 'corrupt'})") from None
    if not isinstance(checkpoint, dict) or "model" not in checkpoint or "fingerprint" not in checkpoint:
        raise ClinfuseError(f"checkpoint {path} is not a clinfuse training checkpoint")
    return checkpoint


def load_checkpoint(path: str | Path, expect: dict | None = None, map_location="cpu") -> dict:
    """Read a checkpoint written by `fit`. `expect` = {"config": {...}, "lineage": {...}} (either part may be
    left out; inside, only the keys given are compared, recursively): any difference raises
    CheckpointMismatch naming the file and the dotted keys. A missing or unreadable file is a ClinfuseError."""
    path = Path(path)
    checkpoint = _read(path, map_location)
    if expect:
        stored = {"config": checkpoint.get("config", {}), "lineage": checkpoint.get("lineage", {})}
        diff = differing_keys(_jsonable(expect), _jsonable(stored), both_ways=False)
        if diff:
            shown = ", ".join(diff[:8]) + (f" (+{len(diff) - 8} more)" if len(diff) > 8 else "")
            raise CheckpointMismatch(f"checkpoint {path} is from another config or frame: differing keys {shown}")
    return checkpoint


def _save_atomic(obj: dict, *paths: Path) -> None:
    """Serialise once, then write each path through a temporary file renamed into place."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    data = buffer.getbuffer()
    for path in paths:
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


# ---------------------------------------------------------------- helpers


def _epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1, np.uint32)[0])


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # all devices


def _batches(n: int, batch_size: int, drop_last: bool, generator: torch.Generator | None) -> list[list[int]]:
    order = torch.randperm(n, generator=generator).tolist() if generator is not None else list(range(n))
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    return [order[lo:lo + batch_size] for lo in range(0, stop, batch_size)]


def _loader(dataset, batches: list[list[int]], collate_fn, num_workers: int, device: torch.device,
            generator: torch.Generator | None = None) -> DataLoader:
    return DataLoader(dataset, batch_sampler=batches, collate_fn=collate_fn, num_workers=num_workers,
                      pin_memory=device.type == "cuda", generator=generator)


def _to_device(batch: dict, device: torch.device) -> dict:
    if device.type == "cpu":
        return batch
    return {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}


def mean_auroc(y_true: np.ndarray, y_prob: np.ndarray) -> tuple[float, int]:
    """(macro AUROC over the labels that have both classes, how many labels that is); NaN when none."""
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true).reshape(len(y_true), -1)
    y_prob = np.asarray(y_prob).reshape(len(y_prob), -1)
    scores = []
    for j in range(y_true.shape[1]):
        column = y_true[:, j]
        if column.min(initial=1) < column.max(initial=0):
            scores.append(roc_auc_score(column, y_prob[:, j]))
    return (float(np.mean(scores)) if scores else float("nan")), len(scores)


def _n_labels(dataset) -> int:
    n = getattr(dataset, "n_labels", None)
    if n is None:
        item = dataset[0]
        n = int(item["y"].shape[-1])
    return int(n)


def _check_datasets(train_ds, val_ds, config: TrainConfig) -> None:
    for name, dataset in (("training", train_ds), ("validation", val_ds)):
        if len(dataset) == 0:
            raise ClinfuseError(f"the {name} dataset is empty")
        size = getattr(dataset, "image_size", None)
        if config.image_size is not None and size is not None and int(size) != config.image_size:
            raise ClinfuseError(f"{name} dataset has image_size {size}, the training config {config.image_size}")
    if config.augment is not None and getattr(train_ds, "augment", config.augment) != config.augment:
        raise ClinfuseError(f"training dataset has augment {train_ds.augment!r}, the training config "
                            f"{config.augment!r}")
    if getattr(val_ds, "augment", None) is not None:
        raise ClinfuseError(f"the validation dataset must not augment (augment {val_ds.augment!r})")


def describe_dataset(dataset) -> dict:
    """What a checkpoint records about a dataset: its size, the sha256 of its frame rows and, for a
    FusionDataset, image size, augmentation, noise and ablation (so a resume never mixes two setups)."""
    out = {"rows": len(dataset)}
    rows = getattr(dataset, "rows", None)
    if isinstance(rows, np.ndarray):
        out["rows_sha256"] = hashlib.sha256(np.ascontiguousarray(rows, np.int64).tobytes()).hexdigest()
    for key in ("image_size", "augment", "ablate"):
        if hasattr(dataset, key):
            out[key] = getattr(dataset, key)
    if getattr(dataset, "noise", None) is not None:
        out["noise"] = dataclasses.asdict(dataset.noise)
    if getattr(dataset, "normalizer", None) is not None:
        out["normalizer_sha256"] = hashlib.sha256(dataset.normalizer.to_json().encode()).hexdigest()
    return out


# ---------------------------------------------------------------- fit


def build_optimizer(model: nn.Module, loss_fn: nn.Module, config: TrainConfig) -> torch.optim.Adam:
    groups = [{"params": [p for p in model.parameters() if p.requires_grad], "lr": config.lr,
               "betas": tuple(config.betas), "weight_decay": config.weight_decay}]
    own = [p for p in loss_fn.parameters() if p.requires_grad]
    if own:  # the uncertainty loss's log_var: own lr, Adam's default betas, no weight decay
        groups.append({"params": own, "lr": config.uncertainty_lr, "betas": (0.9, 0.999), "weight_decay": 0.0})
    return torch.optim.Adam(groups, lr=config.lr, betas=tuple(config.betas))


def fit(
    model: nn.Module,
    loss_fn: nn.Module | None,
    train_ds,
    val_ds,
    config: TrainConfig,
    out_dir: str | Path,
    lineage: dict,
    collate_fn: Callable = collate,
    progress: Callable[[str], object] = print,
) -> TrainResult:
    """Train `model` on `train_ds`, select on `val_ds`; checkpoints in `out_dir` (best.pt, last.pt).

    `loss_fn` None: `models.losses.make_loss(config.loss, n_labels, config.uncertainty_form)`. `lineage`
    (JSON-like: frame fingerprint, normaliser, model config, ...) goes into every checkpoint and its
    fingerprint. On return `model` holds the best epoch's weights."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(config.device)
    _check_datasets(train_ds, val_ds, config)
    if loss_fn is None:
        from models.losses import make_loss

        loss_fn = make_loss(config.loss, _n_labels(train_ds), config.uncertainty_form)
    model.to(device)
    loss_fn.to(device)
    optimizer = build_optimizer(model, loss_fn, config)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=config.lr_factor,
                                                           patience=config.lr_patience)
    ckpt_config = {**config.to_dict(), "datasets": _jsonable({"train": describe_dataset(train_ds),
                                                              "val": describe_dataset(val_ds)})}
    ckpt_lineage = _jsonable(lineage)
    fp = fingerprint(ckpt_config, ckpt_lineage)
    best_path, last_path = out_dir / "best.pt", out_dir / "last.pt"

    state = {"history": [], "best": None, "best_epoch": 0, "bad_epochs": 0, "metric": None}
    start, resumed_from = 1, None
    previous = _previous_run(last_path, best_path, fp, ckpt_config, ckpt_lineage, progress)
    if previous is not None:
        model.load_state_dict(previous["model"])
        optimizer.load_state_dict(previous["optimizer"])
        scheduler.load_state_dict(previous["scheduler"])
        loss_fn.load_state_dict(previous["loss"])
        state.update(history=list(previous["history"]), best=previous["best"]["value"],
                     best_epoch=previous["best"]["epoch"], bad_epochs=previous["bad_epochs"],
                     metric=previous["best"]["metric"])
        start = resumed_from = int(previous["epoch"])
        start += 1
        progress(f"resuming from {last_path} after epoch {resumed_from}/{config.epochs}")
    else:  # checkpoints of another run must not outlive it (nor be resumed later without their best.pt)
        best_path.unlink(missing_ok=True)
        last_path.unlink(missing_ok=True)

    def checkpoint(epoch: int, complete: bool) -> dict:
        return {"format": CHECKPOINT_FORMAT, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "loss": loss_fn.state_dict(), "epoch": epoch,
                "history": state["history"], "best": {"metric": state["metric"], "value": state["best"],
                                                      "epoch": state["best_epoch"]},
                "bad_epochs": state["bad_epochs"], "config": ckpt_config, "lineage": ckpt_lineage,
                "fingerprint": fp, "complete": complete, "device": str(device)}

    deterministic = (torch.are_deterministic_algorithms_enabled(),
                     torch.is_deterministic_algorithms_warn_only_enabled())
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    stopped_early = False
    epoch_seconds: list[float] = []
    try:
        for epoch in range(start, config.epochs + 1):
            epoch_start = time.monotonic()
            row = _run_epoch(model, loss_fn, optimizer, train_ds, val_ds, config, collate_fn, device, epoch, progress)
            epoch_seconds.append(time.monotonic() - epoch_start)
            if state["metric"] is None:
                state["metric"] = "val_auroc" if row["val_auroc_labels"] else "val_loss"
                if state["metric"] == "val_loss":
                    progress("validation AUROC is undefined (no label has both classes in the validation set): "
                             "selecting on validation loss")
            value = row["val_auroc"] if state["metric"] == "val_auroc" else -row["val_loss"]
            improved = state["best"] is None or value > state["best"]
            if improved:
                state.update(best=value, best_epoch=epoch, bad_epochs=0)
            else:
                state["bad_epochs"] += 1
            scheduler.step(row["val_loss"])
            row.update(selected_on=state["metric"], improved=improved)
            state["history"].append(row)
            stopped_early = _should_stop(state, config) and epoch < config.epochs
            complete = stopped_early or epoch == config.epochs
            # best.pt first: a kill between the two writes leaves last.pt one epoch behind, redone on resume.
            # best.pt holds the weights and their provenance only; the optimiser state lives in last.pt.
            full = checkpoint(epoch, complete)
            if improved:
                _save_atomic({k: v for k, v in full.items() if k not in ("optimizer", "scheduler")}, best_path)
            _save_atomic(full, last_path)
            left = (config.epochs - epoch) * sum(epoch_seconds) / len(epoch_seconds)
            progress(_epoch_line(row, config.epochs, improved)
                     + (f"; at most {duration(left)} left" if epoch < config.epochs and not stopped_early else ""))
            if stopped_early:
                progress(f"early stopping: no better {state['metric'].replace('_', ' ')} for "
                         f"{state['bad_epochs']} epochs (best epoch {state['best_epoch']})")
                break
    finally:
        torch.use_deterministic_algorithms(deterministic[0], warn_only=deterministic[1])
    if best_path.is_file():
        model.load_state_dict(_read(best_path, device)["model"])
    history = state["history"]
    best_row = next((r for r in history if r["epoch"] == state["best_epoch"]), None)
    return TrainResult(
        best_path=best_path, last_path=last_path, history=history, best_epoch=state["best_epoch"],
        best_val_auroc=float(best_row["val_auroc"]) if best_row else float("nan"), epochs_run=len(history),
        stopped_early=stopped_early, resumed_from=resumed_from, selected_on=state["metric"] or "val_auroc",
        fingerprint=fp,
    )


def _should_stop(state: dict, config: TrainConfig) -> bool:
    return config.patience is not None and state["bad_epochs"] >= config.patience


def _previous_run(last_path: Path, best_path: Path, fp: str, config: dict, lineage: dict,
                  progress) -> dict | None:
    """The incomplete last.pt of this very configuration (with its best.pt), or None (and why, through
    `progress`)."""
    if not last_path.exists():
        return None
    try:
        previous = _read(last_path, "cpu")
    except ClinfuseError as exc:
        progress(f"{exc}; starting fresh")
        return None
    if previous.get("fingerprint") != fp:
        stored = {"config": previous.get("config", {}), "lineage": previous.get("lineage", {})}
        diff = differing_keys({"config": config, "lineage": lineage}, _jsonable(stored))
        shown = ", ".join(diff[:8]) + (f" (+{len(diff) - 8} more)" if len(diff) > 8 else "")
        progress(f"checkpoint from another config/frame: differing keys {shown or '(format)'}; starting fresh")
        return None
    if previous.get("complete"):
        progress(f"{last_path} is a finished run; retraining from scratch")
        return None
    try:
        best_fp = _read(best_path, "cpu")["fingerprint"]
    except ClinfuseError:
        best_fp = None
    if best_fp != fp:
        progress(f"{last_path} has no matching {best_path.name}; starting fresh")
        return None
    return previous


def _run_epoch(model, loss_fn, optimizer, train_ds, val_ds, config: TrainConfig, collate_fn,
               device: torch.device, epoch: int, log: Callable[[str], object] | None = None) -> dict:
    seed = _epoch_seed(config.seed, epoch)
    _seed_everything(seed)
    shuffle = torch.Generator().manual_seed(seed)
    batches = _batches(len(train_ds), config.batch_size, config.drop_last, shuffle)
    if not batches:
        raise ClinfuseError(f"training set of {len(train_ds)} rows gives no batch of {config.batch_size} "
                            f"(drop_last); lower batch_size")
    lr = float(optimizer.param_groups[0]["lr"])
    model.train()
    loss_fn.train()
    total = torch.zeros((), dtype=torch.float64, device=device)
    samples = 0
    counter = Progress(f"training epoch {epoch}/{config.epochs}", len(batches), unit="batches", log=log)
    start = time.perf_counter()
    for batch in _loader(train_ds, batches, collate_fn, config.num_workers, device, shuffle):
        batch = _to_device(batch, device)
        with autocast(device):
            logits = model(batch)
        loss = loss_fn(logits.float(), batch["y"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        optimizer.step()
        n = int(batch["y"].shape[0])
        total += loss.detach().double() * n
        samples += n
        counter.update(1)
    train_loss = float(total.item()) / samples
    train_seconds = time.perf_counter() - start
    counter.close()
    if not math.isfinite(train_loss):
        raise ClinfuseError(f"training diverged: non-finite training loss in epoch {epoch} "
                            f"(lower lr or set max_grad_norm); last.pt keeps epoch {epoch - 1}")
    val_loss, probs, y_val = _evaluate(model, loss_fn, val_ds, collate_fn, config.batch_size, device,
                                       config.num_workers)
    if not (math.isfinite(val_loss) and np.isfinite(probs).all()):
        raise ClinfuseError(f"training diverged: non-finite validation outputs in epoch {epoch}")
    auroc, n_labels = mean_auroc(y_val, probs)
    seconds = time.perf_counter() - start
    return {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_auroc": auroc,
            "val_auroc_labels": n_labels, "lr": lr, "seconds": round(seconds, 3),
            "samples_per_s": round(samples / train_seconds, 1) if train_seconds > 0 else 0.0}


def _epoch_line(row: dict, epochs: int, improved: bool) -> str:
    auroc = "n/a" if math.isnan(row["val_auroc"]) else f"{row['val_auroc']:.4f}"
    return (f"epoch {row['epoch']}/{epochs}: train loss {row['train_loss']:.4f}, val loss {row['val_loss']:.4f}, "
            f"val AUROC {auroc}, lr {row['lr']:.3g}, {row['samples_per_s']:,.0f} samples/s, "
            f"{row['seconds']:.1f} s" + (" (best)" if improved else ""))


def _forward_all(model, dataset, collate_fn, batch_size: int, device: torch.device, num_workers: int = 0):
    """(logits float32 [N, C] on the CPU, y [N, C]) in dataset order, eval mode, no autograd."""
    batches = _batches(len(dataset), batch_size, False, None)
    logits, ys = [], []
    model.eval()
    with torch.inference_mode():
        for batch in _loader(dataset, batches, collate_fn, num_workers, device):
            ys.append(batch["y"])
            batch = _to_device(batch, device)
            with autocast(device):
                out = model(batch)
            logits.append(out.float().cpu())
    return torch.cat(logits), torch.cat(ys).float()


def _evaluate(model, loss_fn, dataset, collate_fn, batch_size: int, device: torch.device, num_workers: int):
    logits, y = _forward_all(model, dataset, collate_fn, batch_size, device, num_workers)
    loss_fn.eval()
    with torch.inference_mode():
        # One loss over all rows: the mean BCE of every row and label (the uncertainty terms are constants).
        loss = float(loss_fn(logits.to(device), y.to(device)).item())
    return loss, torch.sigmoid(logits.double()).numpy(), y.numpy()


def predict(model: nn.Module, dataset, collate_fn: Callable = collate, batch_size: int = 64,
            device: str = "auto", num_workers: int = 0) -> np.ndarray:
    """Probabilities (sigmoid of the logits) float64 [N, C] in dataset order; the model is moved to the
    device and left in eval mode."""
    dev = resolve_device(device)
    model.to(dev)
    logits, _ = _forward_all(model, dataset, collate_fn, batch_size, dev, num_workers)
    return torch.sigmoid(logits.double()).numpy()


def history_without_timing(history: Sequence[dict]) -> list[dict]:
    """The reproducible part of a history (wall-clock entries dropped), for comparisons."""
    return [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in history]
