"""Training throughput: `models.train.fit`'s training loop against a bare PyTorch loop over the same MedFuse
model (random init), the same DataLoader batches, optimiser (Adam) and autocast (goal >= 0.9x).

The frame is synthetic (built in memory from a seed): stays x 24 steps of 76 features, 30 % of stays with
a 224 x 224 image, 25 labels. Images at 224 px (the paper; add 64, the demo profile, to SIZES for the
small-image case, which the 15-minute budget leaves out). Each side
trains `MAX_BATCHES` batches of 16 from the same random weights; on the CPU a ResNet-34 step takes about
a second, so the passes are short there.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench.harness import Case, Side, timed

STAYS, STEPS, IMAGE_FRACTION, N_LABELS, BATCH = 2000, 24, 0.3, 25, 16
MAX_BATCHES_CPU, MAX_BATCHES_GPU = 6, 100
SIZES = (224,)


def prepare(inp: Path, at_scale: float) -> dict:
    return {"items": STAYS, "stays": STAYS, "steps": STEPS, "image_fraction": IMAGE_FRACTION}


def _setup(size: int):
    import numpy as np
    import torch

    from features.device import resolve_device
    from features.timeseries.layout import CONTINUOUS_COLUMNS
    from features.timeseries.normalizer import NormalizerState
    from models.data import FrameArrays, FusionDataset, ImageStore
    from models.nets import build_model
    from models.train import TrainConfig, _batches, _epoch_seed

    dev = resolve_device("auto")
    cuda = dev.type == "cuda"
    rng = np.random.default_rng(0)
    has = rng.random(STAYS) < IMAGE_FRACTION
    ids = np.array([f"d{i:07d}" if h else "" for i, h in enumerate(has)])
    arrays = FrameArrays.from_numpy(
        ts_values=rng.normal(0.0, 1.0, (STAYS * STEPS, 76)).astype(np.float32),
        ts_offsets=np.arange(STAYS + 1, dtype=np.int64) * STEPS,
        labels=rng.integers(0, 2, (STAYS, N_LABELS)).astype(np.float32),
        label_columns=tuple(f"y{j}" for j in range(N_LABELS)), split=np.array(["train"] * STAYS),
        has_cxr=has, dicom_id=ids, subject_id=np.arange(STAYS), stay_id=np.arange(STAYS))
    store = ImageStore(ids[has], rng.integers(0, 256, (int(has.sum()), 224, 224), dtype=np.uint8))
    arrays.attach_images(store)
    rows = arrays.rows("train")
    n_train = (MAX_BATCHES_GPU if cuda else MAX_BATCHES_CPU) * BATCH
    norm = NormalizerState(CONTINUOUS_COLUMNS, (0.0,) * 12, (1.0,) * 12, n_rows=1)
    train = FusionDataset(arrays, rows[:n_train], norm, store, image_size=size, augment="medfuse")
    val = FusionDataset(arrays, rows[n_train:n_train + BATCH], norm, store, image_size=size)
    workers = min(4, (os.cpu_count() or 2) - 1) if cuda else 0  # on the CPU workers compete with the model
    cfg = TrainConfig(epochs=1, batch_size=BATCH, lr=1e-4, patience=None, device="auto", num_workers=workers,
                      image_size=size, augment="medfuse", seed=1002)
    order = _batches(len(train), BATCH, True, torch.Generator().manual_seed(_epoch_seed(cfg.seed, 1)))
    torch.manual_seed(0)
    return dev, build_model("medfuse", N_LABELS, {"cxr_weights": "none"}), train, val, cfg, order


def _fit(size: int):
    def run(inp: Path, out: Path) -> dict:
        from torch import nn

        from models.train import fit

        dev, model, train, val, cfg, _ = _setup(size)
        with tempfile.TemporaryDirectory(dir=out) as tmp:
            result = fit(model, nn.BCEWithLogitsLoss(), train, val, cfg, tmp, {"bench": "training"},
                         progress=lambda line: None)
        # fit's own training-loop rate (validation and checkpoints excluded), as the bare side's loop
        rate = max(row["samples_per_s"] for row in result.history)
        return {"seconds": len(train) / rate, "items": len(train), "device": dev.type}

    return run


def _bare(size: int):
    def run(inp: Path, out: Path) -> dict:
        import torch
        from torch import nn
        from torch.utils.data import DataLoader

        from features.device import autocast
        from models.data import collate
        from models.train import _to_device

        dev, model, train, _, cfg, order = _setup(size)
        model.to(dev).train()
        loss_fn = nn.BCEWithLogitsLoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.999))
        def loop() -> int:
            n = 0
            for batch in DataLoader(train, batch_sampler=order, collate_fn=collate, num_workers=cfg.num_workers,
                                    pin_memory=dev.type == "cuda"):
                batch = _to_device(batch, dev)
                with autocast(dev):
                    logits = model(batch)
                loss = loss_fn(logits.float(), batch["y"])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                n += int(batch["y"].shape[0])
            if dev.type == "cuda":
                torch.cuda.synchronize()
            return n

        n, t = timed(loop)
        # fit reports its loop's rate only, not its CPU time: the CPU ratio is left out for this case
        return {"seconds": t["seconds"], "items": n, "device": dev.type}

    return run


def _needs_models() -> str | None:
    import importlib.util

    # found, not imported: the harness's own process stays free of torch
    return None if importlib.util.find_spec("models.nets") else "models/nets.py is missing"



CASES = [Case(name=f"training_{size}px", what=f"MedFuse training loop, {size}-pixel images, batch {BATCH}",
              goal=">= 0.9", unit="samples", input_key="training", prepare=prepare,
              subject=Side("models.train.fit training loop", _fit(size)),
              baseline=Side("bare PyTorch loop (same batches, Adam, autocast)", _bare(size)),
              requires=_needs_models) for size in SIZES]
