"""Training one M3H model over a task set: l_total = w_c·InfoNCE + Σ_t w_t·loss_t (+ w·MSE of the autoencoder),
every weight 1 (C4, C6 #10: one backward on the weighted sum), each task's loss masked to its labelled rows.
No early stopping (the paper trains a fixed number of epochs); the validation scores of every epoch are recorded.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from models.m3h.data import M3HData
from models.m3h.nets import M3HNet, info_nce, task_loss


def device_of(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def task_tuples(data: M3HData, tasks: list[str]) -> list[tuple[str, str, int]]:
    return [(t, data.specs[t].kind, len(data.specs[t].label_names) if data.specs[t].kind == "multiclass" else 1)
            for t in tasks]


def _batch(data: M3HData, rows: np.ndarray, tasks: list[str], device: torch.device):
    inputs = {m: torch.from_numpy(data.inputs[m][rows]).to(device) for m in data.inputs}
    present = {m: torch.from_numpy(data.present[m][rows]).to(device) for m in data.present}
    labels = {t: torch.from_numpy(data.labels[t][rows].astype(np.float32)).to(device) for t in tasks}
    return inputs, present, labels


def total_loss(model: M3HNet, out: dict, inputs: dict, present: dict, labels: dict, settings: dict) -> tuple:
    """(total, {part: value}) for one batch; a task without a labelled row in the batch adds nothing."""
    w = float(settings["loss_weights"])
    parts = {"contrastive": info_nce(out["z"], {m: present[m] for m in out["z"]}, settings["temperature"])}
    for name, kind, _ in model.tasks:
        loss = task_loss(kind, out["outputs"][name], labels[name])
        if loss is not None:
            parts[name] = loss
    if model.autoencoder is not None:
        target = torch.cat([inputs[m] for m in model.modalities], dim=1)
        parts["reconstruction"] = F.mse_loss(out["recon"], target)
    total = sum(w * v for v in parts.values())
    return total, {k: float(v.detach()) for k, v in parts.items()}


def fit(data: M3HData, tasks: list[str], settings: dict, *, clustering: bool = False, epochs: int | None = None,
        seed: int | None = None, score_rows: np.ndarray | None = None) -> tuple[M3HNet, list[dict]]:
    """Train an M3HNet on the training rows for `tasks` (+ the clustering autoencoder); the history holds the
    mean training loss and, with `score_rows`, the per-task scores on those rows after each epoch."""
    seed = settings["seed"] if seed is None else seed
    torch.manual_seed(seed)
    device = device_of(settings["device"])
    model = M3HNet(data.dims, task_tuples(data, tasks), settings, clustering=clustering)
    train = data.rows("train")
    for name in tasks:
        y = data.labels[name][train]
        y = y[~np.isnan(y)]
        if data.specs[name].kind == "binary" and y.size:
            model.init_binary_bias(name, float(y.mean()))
        elif data.specs[name].kind == "regression" and y.size:
            with torch.no_grad():  # start at the training mean, not at 0 days
                model.heads[name].bias.fill_(float(np.median(y)))
    model.to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings["lr"])
    rng = np.random.default_rng(seed)
    history = []
    for epoch in range(1, (epochs or settings["epochs"]) + 1):
        model.train()
        order = rng.permutation(train)
        sums, batches = {}, 0
        for start in range(0, len(order), settings["batch_size"]):
            rows = order[start:start + settings["batch_size"]]
            if len(rows) < 2:  # a one-row batch has no contrastive pair
                continue
            inputs, present, labels = _batch(data, rows, tasks, device)
            out = model(inputs, present)
            loss, parts = total_loss(model, out, inputs, present, labels, settings)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            batches += 1
            for k, v in {"loss": float(loss.detach()), **parts}.items():
                sums[k] = sums.get(k, 0.0) + v
        row = {"epoch": epoch, **{f"train_{k}": v / max(batches, 1) for k, v in sums.items()}}
        if score_rows is not None and len(score_rows):
            row.update({f"val_{k}": v for k, v in scores(data, predict(model, data, score_rows, device), score_rows,
                                                          tasks).items()})
        history.append(row)
    return model, history


@torch.no_grad()
def predict(model: M3HNet, data: M3HData, rows: np.ndarray, device: torch.device | None = None,
            batch_size: int = 512) -> dict[str, np.ndarray]:
    """Per task: binary probability [N], multiclass probabilities [N, K], regression value [N]; and `latent`,
    `reconstruction_mse` [N] when the model has the autoencoder."""
    device = device or next(model.parameters()).device
    model.eval()
    parts: dict[str, list] = {}
    for start in range(0, len(rows), batch_size):
        idx = rows[start:start + batch_size]
        inputs, present, _ = _batch(data, idx, [], device)
        out = model(inputs, present)
        for name, kind, _ in model.tasks:
            value = out["outputs"][name]
            value = torch.sigmoid(value) if kind == "binary" else value.exp() if kind == "multiclass" else value
            parts.setdefault(name, []).append(value.cpu().numpy())
        if model.autoencoder is not None:
            target = torch.cat([inputs[m] for m in model.modalities], dim=1)
            parts.setdefault("latent", []).append(out["latent"].cpu().numpy())
            parts.setdefault("reconstruction_mse", []).append(((out["recon"] - target) ** 2).mean(1).cpu().numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}


def task_score(kind: str, y: np.ndarray, p: np.ndarray) -> float:
    """M3H's score (C5): AUROC (binary), macro one-vs-rest AUROC over the classes present (multiclass), R²
    (regression); NaN when undefined (one class only, < 2 rows)."""
    from sklearn.metrics import r2_score, roc_auc_score

    keep = ~np.isnan(y)
    y, p = y[keep], p[keep]
    if len(y) < 2:
        return float("nan")
    if kind == "binary":
        return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")
    if kind == "multiclass":
        classes = np.unique(y).astype(int)
        aucs = [roc_auc_score(y == c, p[:, c]) for c in classes] if len(classes) > 1 else []
        return float(np.mean(aucs)) if aucs else float("nan")
    return float(r2_score(y, p))


def scores(data: M3HData, preds: dict[str, np.ndarray], rows: np.ndarray, tasks: list[str]) -> dict[str, float]:
    return {t: task_score(data.specs[t].kind, data.labels[t][rows], preds[t]) for t in tasks}
