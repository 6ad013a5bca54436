"""M3T-LM's training loop: RMSprop, Huber (delta 2) + BCE-with-logits combined by GradNorm weights, model
selection on the validation loss (Huber + BCE, unweighted, so the selection does not move with the task
weights), best and last checkpoints written atomically (models.train's writer).

A short loop of its own rather than models.train.fit: fit trains one loss over [B, C] logits and selects on
mean AUROC, while this model has two heads of two kinds and a task-weight update between steps.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import mean_absolute_error, roc_auc_score
from torch import nn

from features.device import resolve_device
from models.m3tlm.data import M3tlmDataset, collate
from models.m3tlm.gradnorm import GradNorm
from models.train import _save_atomic, _seed_everything, fingerprint

CONFIG_KEYS = ("seed", "batch_size", "lr", "epochs", "huber_delta", "gradnorm_alpha", "gradnorm_lr", "gradnorm_update",
               "gradnorm_layer", "oversample", "image_backbone", "cxr_weights", "image_size", "image_column", "image_bn",
               "image_channels", "embed_dim", "lstm_units", "dx_vocab", "px_vocab", "dx_length", "px_length", "dense",
               "dropout", "text_l2", "mode", "shuffle_train_labels")


class TaskLosses(nn.Module):
    """(Huber(delta) on LoS, BCE-with-logits on mortality), each a batch mean; `pos_weight` for the
    class-weighted option."""

    def __init__(self, delta: float = 2.0, pos_weight: float | None = None):
        super().__init__()
        self.huber = nn.HuberLoss(delta=delta)
        self.register_buffer("pos_weight", torch.tensor([pos_weight]) if pos_weight else None, persistent=False)

    def forward(self, out: dict, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        bce = nn.functional.binary_cross_entropy_with_logits(out["mortality"], batch["mortality"],
                                                             pos_weight=self.pos_weight)
        return self.huber(out["los"], batch["los"]), bce


def _batches(rows: np.ndarray, batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    order = rng.permutation(len(rows)) if rng is not None else np.arange(len(rows))
    batches = [order[lo:lo + batch_size] for lo in range(0, len(rows), batch_size)]
    if rng is not None and len(batches) > 1 and len(batches[-1]) == 1:
        batches.pop()  # BatchNorm cannot train on a batch of one
    return batches


def _to(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device) for k, v in batch.items()} if device.type != "cpu" else batch


@torch.no_grad()
def predict(model: nn.Module, dataset: M3tlmDataset, batch_size: int = 64, device: str | torch.device = "auto"):
    """(LoS predictions [N] in days, mortality probabilities [N]) in dataset order."""
    device = resolve_device(device) if isinstance(device, str) else device
    model.to(device).eval()
    los, prob = [], []
    for positions in _batches(np.arange(len(dataset)), batch_size, None):
        out = model(_to(collate(dataset.__getitems__(positions)), device))
        los.append(out["los"].float().cpu().numpy())
        prob.append(torch.sigmoid(out["mortality"].float()).cpu().numpy())
    if not los:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    return np.concatenate(los), np.concatenate(prob)


def _validation(model, dataset: M3tlmDataset, settings: dict, device) -> dict:
    los, prob = predict(model, dataset, int(settings["batch_size"]), device)
    y_los, y_mort = dataset.inputs.los[dataset.rows], dataset.inputs.mortality[dataset.rows]
    huber = float(nn.functional.huber_loss(torch.from_numpy(los), torch.from_numpy(y_los),
                                           delta=float(settings["huber_delta"])))
    bce = float(nn.functional.binary_cross_entropy(torch.from_numpy(prob).clamp(1e-7, 1 - 1e-7),
                                                   torch.from_numpy(y_mort)))
    auroc = float(roc_auc_score(y_mort, prob)) if len(np.unique(y_mort)) == 2 else float("nan")
    return {"val_huber": huber, "val_bce": bce, "val_loss": huber + bce,
            "val_mae": float(mean_absolute_error(y_los, los)), "val_auroc": auroc}


def fit_m3tlm(model: nn.Module, train_ds: M3tlmDataset, val_ds: M3tlmDataset, settings: dict, out_dir: Path,
              lineage: dict, inputs_state: dict, progress=print) -> dict:
    """Train; returns {best_path, last_path, fingerprint, best_epoch, best_val_loss, history, gradnorm}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed = int(settings["seed"])
    _seed_everything(seed)
    device = resolve_device(settings["device"])
    model.to(device)
    config = {k: settings[k] for k in CONFIG_KEYS}
    identity = fingerprint(config, lineage)
    text = [p for name, p in model.named_parameters() if name.startswith(("dx.", "px."))]
    rest = [p for name, p in model.named_parameters() if not name.startswith(("dx.", "px."))]
    # Keras' RMSprop defaults (rho 0.9, epsilon 1e-7); L2 on the text branches only (A6 #18)
    optimizer = torch.optim.RMSprop([{"params": rest}, {"params": text, "weight_decay": float(settings["text_l2"])}],
                                    lr=float(settings["lr"]), alpha=0.9, eps=1e-7)
    pos_weight = None
    if settings["oversample"] == "class_weight":
        y = train_ds.inputs.mortality[train_ds.rows]
        pos_weight = float((y == 0).sum() / max((y == 1).sum(), 1))
    losses_fn = TaskLosses(float(settings["huber_delta"]), pos_weight).to(device)
    gradnorm = GradNorm(2, alpha=float(settings["gradnorm_alpha"]),
                        lr=float(settings["gradnorm_lr"]) or float(settings["lr"]))
    shared = model.shared_layer(settings["gradnorm_layer"])
    update = settings["gradnorm_update"]
    best_path, last_path = out_dir / "best.pt", out_dir / "last.pt"
    history: list[dict] = []
    best = {"epoch": 0, "val_loss": float("inf")}
    for epoch in range(1, int(settings["epochs"]) + 1):
        model.train()
        rng = np.random.default_rng([seed, epoch])
        started, sums, steps = time.monotonic(), np.zeros(2), 0
        for positions in _batches(np.arange(len(train_ds)), int(settings["batch_size"]), rng):
            batch = _to(collate(train_ds.__getitems__(positions)), device)
            task_losses = losses_fn(model(batch), batch)
            if update != "off":
                gradnorm.observe(task_losses, shared)
            optimizer.zero_grad(set_to_none=True)
            gradnorm.combine(task_losses).backward()
            optimizer.step()
            if update == "step":
                gradnorm.update()
            sums += [float(loss.detach()) for loss in task_losses]
            steps += 1
        if update == "epoch" and steps:
            gradnorm.update()
        row = {"epoch": epoch, "train_huber": sums[0] / max(steps, 1), "train_bce": sums[1] / max(steps, 1),
               **_validation(model, val_ds, settings, device), "w_los": gradnorm.weights[0],
               "w_mortality": gradnorm.weights[1], "seconds": round(time.monotonic() - started, 2)}
        history.append({k: float(v) if isinstance(v, np.floating) else v for k, v in row.items()})
        improved = row["val_loss"] < best["val_loss"]
        if improved:
            best = {"epoch": epoch, "val_loss": row["val_loss"]}
        checkpoint = {"model": model.state_dict(), "epoch": epoch, "history": history, "best": best,
                      "gradnorm": gradnorm.state_dict(), "config": config, "lineage": lineage,
                      "fingerprint": identity, "inputs": inputs_state}
        _save_atomic(checkpoint, *((last_path, best_path) if improved else (last_path,)))
        progress(f"m3tlm epoch {epoch}/{settings['epochs']}: train huber {row['train_huber']:.3f} bce "
                 f"{row['train_bce']:.3f}; val loss {row['val_loss']:.3f} MAE {row['val_mae']:.2f} AUROC "
                 f"{row['val_auroc']:.3f}; weights {gradnorm.weights.round(3).tolist()}{' *' if improved else ''}")
    return {"best_path": best_path, "last_path": last_path, "fingerprint": identity, "best_epoch": best["epoch"],
            "best_val_loss": best["val_loss"], "history": history, "gradnorm": gradnorm.history}
