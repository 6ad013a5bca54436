"""Training throughput, side by side with the bare equivalents:

* the model alone: forward + backward + Adam step of MedFuse on batches built once and already on the
  device (what the model consumes, samples/s);
* the input pipeline alone: FusionDataset (normalise, gather, per-image augmentation 'medfuse', resize) +
  collate through a DataLoader with 0 and N workers (goal: >= 2x what the model consumes);
* `models.train.fit`'s training loop vs a bare PyTorch loop over the same DataLoader batches (same model
  weights, same batch order, same optimiser, same autocast) (goal: >= 0.9x).

Synthetic frame: `--stays` stays x `--steps` steps of 76 features, `--image-fraction` of them with a
224 x 224 image, 25 labels, images fed at each `--sizes` (224: the paper; 64: the demo profile). bf16
autocast on CUDA (features.device). Needs models/nets.py (`build_model('medfuse', ...)`, random init).
The DataLoader passes cover every stay; the passes that run the model cover at most `--max-batches`
batches (default 100 on CUDA, 6 on the CPU, where a ResNet-34 step takes a second). Writes bench/results/training.json.

    python bench/bench_training.py [--stays 2000] [--sizes 224 64] [--workers N] [--device auto]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from features.device import autocast, resolve_device
from features.timeseries.layout import CONTINUOUS_COLUMNS
from features.timeseries.normalizer import NormalizerState
from models.data import FrameArrays, FusionDataset, ImageStore, collate
from models.train import TrainConfig, _batches, _epoch_seed, _to_device, fit

RESULTS = Path(__file__).parent / "results" / "training.json"
N_LABELS = 25


def synthetic(stays: int, steps: int, image_fraction: float, seed: int = 0) -> tuple[FrameArrays, ImageStore]:
    rng = np.random.default_rng(seed)
    has = rng.random(stays) < image_fraction
    ids = np.array([f"d{i:07d}" if h else "" for i, h in enumerate(has)])
    arrays = FrameArrays.from_numpy(
        ts_values=rng.normal(0.0, 1.0, (stays * steps, 76)).astype(np.float32),
        ts_offsets=np.arange(stays + 1, dtype=np.int64) * steps,
        labels=rng.integers(0, 2, (stays, N_LABELS)).astype(np.float32),
        label_columns=tuple(f"y{j}" for j in range(N_LABELS)), split=np.array(["train"] * stays),
        has_cxr=has, dicom_id=ids, subject_id=np.arange(stays), stay_id=np.arange(stays))
    store = ImageStore(ids[has], rng.integers(0, 256, (int(has.sum()), 224, 224), dtype=np.uint8))
    arrays.attach_images(store)
    return arrays, store


def normalizer() -> NormalizerState:
    return NormalizerState(CONTINUOUS_COLUMNS, (0.0,) * 12, (1.0,) * 12, n_rows=1)


def build_medfuse() -> nn.Module:
    try:
        from models.nets import build_model
    except ImportError as exc:
        raise SystemExit(f"bench_training needs models/nets.py (build_model): {exc}") from None
    return build_model("medfuse", N_LABELS, {"cxr_weights": "none"})


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _step(model, loss_fn, optimizer, batch, device) -> None:
    with autocast(device):
        logits = model(batch)
    loss = loss_fn(logits.float(), batch["y"])
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def model_only(model, batches: list[dict], device, repeats: int) -> float:
    """samples/s of forward + backward + step on batches already on the device."""
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()
    for batch in batches[:2]:  # warm-up: allocator, cuDNN autotune
        _step(model, loss_fn, optimizer, batch, device)
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        for batch in batches:
            _step(model, loss_fn, optimizer, batch, device)
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return sum(int(b["y"].shape[0]) for b in batches) / best


def loader_only(ds, order: list[list[int]], workers: int, device, repeats: int) -> float:
    """samples/s of the DataLoader alone (worker start-up included, as in an epoch)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        n = 0
        for batch in DataLoader(ds, batch_sampler=order, collate_fn=collate, num_workers=workers,
                                pin_memory=device.type == "cuda"):
            n += int(batch["y"].shape[0])
        best = min(best, time.perf_counter() - start)
    return n / best


def bare_loop(model, ds, order: list[list[int]], workers: int, device, lr: float) -> float:
    """One pass of a plain PyTorch loop over the same DataLoader batches, same optimiser as fit."""
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999))
    model.train()
    torch.manual_seed(0)
    n = 0
    start = time.perf_counter()
    for batch in DataLoader(ds, batch_sampler=order, collate_fn=collate, num_workers=workers,
                            pin_memory=device.type == "cuda"):
        batch = _to_device(batch, device)
        _step(model, loss_fn, optimizer, batch, device)
        n += int(batch["y"].shape[0])
    _sync(device)
    return n / (time.perf_counter() - start)


def fit_rate(model, train_ds, val_ds, cfg: TrainConfig) -> float:
    """samples/s of fit's training loop from its history (the validation pass and checkpoints excluded);
    one epoch of a fresh model copy, warm-up included, as a bare pass."""
    with tempfile.TemporaryDirectory() as tmp:
        result = fit(model, nn.BCEWithLogitsLoss(), train_ds, val_ds, cfg, tmp, {"bench": "training"},
                     progress=lambda line: None)
    return max(row["samples_per_s"] for row in result.history)


def _run(what, size, workers, rate, batch_size, baseline=None, base_rate=None, goal=None) -> dict:
    # every run has the same keys: bench/run.py takes the table's columns from the first one
    out = {"what": what, "image_size": size, "workers": workers, "samples_per_s": round(rate, 1),
           "batches_per_s": round(rate / batch_size, 2), "baseline": "", "baseline_samples_per_s": "",
           "ratio": "", "goal": ""}
    if baseline:
        out.update(baseline=baseline, baseline_samples_per_s=round(base_rate, 1), ratio=round(rate / base_rate, 3),
                   goal=goal)
    return out


def bench_size(arrays, store, size: int, args, device) -> list[dict]:
    rows = arrays.rows("train")
    n_train = min(len(rows), args.max_batches * args.batch_size)
    train_rows = rows[:n_train]
    val_rows = rows[n_train:n_train + args.batch_size] if n_train < len(rows) else rows[:8]
    norm = normalizer()
    train_ds = FusionDataset(arrays, train_rows, norm, store, image_size=size, augment="medfuse")
    val_ds = FusionDataset(arrays, val_rows, norm, store, image_size=size)
    cfg = TrainConfig(epochs=1, batch_size=args.batch_size, lr=1e-4, patience=None, device=args.device,
                      num_workers=args.workers, image_size=size, augment="medfuse", seed=1002)
    order = _batches(len(train_ds), args.batch_size, True, torch.Generator().manual_seed(_epoch_seed(cfg.seed, 1)))
    torch.manual_seed(0)
    base_model = build_medfuse()
    prebuilt = [_to_device(collate(train_ds.__getitems__(b)), device) for b in order]
    consumed = model_only(copy.deepcopy(base_model).to(device), prebuilt, device, args.repeats)
    del prebuilt
    runs = [_run("model step only (batches pre-built on the device)", size, 0, consumed, args.batch_size)]
    # The input pipeline is cheap to time: a whole epoch over every stay, so worker start-up is amortised
    # as in a real epoch.
    all_ds = FusionDataset(arrays, rows, norm, store, image_size=size, augment="medfuse")
    all_order = _batches(len(all_ds), args.batch_size, True, torch.Generator().manual_seed(0))
    for workers in sorted({0, args.workers}):
        rate = loader_only(all_ds, all_order, workers, device, args.repeats)
        runs.append(_run("DataLoader: FusionDataset + collate (augment medfuse)", size, workers, rate, args.batch_size,
                         "model step only", consumed, ">= 2.0"))
    bare, ours = 0.0, 0.0
    for _ in range(args.repeats):  # interleaved, best of each: the least disturbed pass
        bare = max(bare, bare_loop(copy.deepcopy(base_model).to(device), train_ds, order, args.workers, device,
                                   cfg.lr))
        ours = max(ours, fit_rate(copy.deepcopy(base_model), train_ds, val_ds, cfg))
    runs.append(_run("bare PyTorch loop (DataLoader + step)", size, args.workers, bare, args.batch_size))
    runs.append(_run("models.train.fit training loop", size, args.workers, ours, args.batch_size,
                     "bare PyTorch loop", bare, ">= 0.9"))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stays", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--image-fraction", type=float, default=0.3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 64])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=None,
                        help="DataLoader workers for the loader and loop runs (default: 0 on the CPU, where workers "
                             "compete with the model for the cores; min(4, cores - 1) on CUDA)")
    parser.add_argument("--max-batches", type=int, default=None, help="default: 100 on CUDA, 6 on the CPU")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    device = resolve_device(args.device)
    args.max_batches = args.max_batches or (100 if device.type == "cuda" else 6)
    if args.workers is None:
        args.workers = min(4, (os.cpu_count() or 2) - 1) if device.type == "cuda" else 0
    arrays, store = synthetic(args.stays, args.steps, args.image_fraction)
    runs = []
    for size in args.sizes:
        for run in bench_size(arrays, store, size, args, device):
            runs.append(run)
            extra = f"  ratio {run['ratio']} (goal {run['goal']})" if run["ratio"] != "" else ""
            print(f"{run['image_size']:>4} px  {run['workers']} w  {run['samples_per_s']:>9,.1f} samples/s  "
                  f"{run['batches_per_s']:>7,.2f} batches/s  {run['what']}{extra}", flush=True)
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "training", "when": time.strftime("%Y-%m-%d"),
        "goal": "DataLoader >= 2x what the model consumes; fit's loop >= 0.9x a bare PyTorch loop",
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "device": str(device),
                    "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
                    "autocast": "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "none",
                    "torch": torch.__version__},
        "frame": {"stays": args.stays, "steps": args.steps, "image_fraction": args.image_fraction,
                  "labels": N_LABELS, "batch_size": args.batch_size, "max_batches": args.max_batches,
                  "model": "medfuse (random init)", "augment": "medfuse"},
        "runs": runs}, indent=1) + "\n")
    print(args.out)


if __name__ == "__main__":
    main()
