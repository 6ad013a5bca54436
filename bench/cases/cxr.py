"""Chest X-rays (SPEC §11): decode + CLAHE + resize + crop against a bare OpenCV loop, per core (>= 0.9x)
and with DataLoader workers (near-linear), and DenseNet121-chex embeddings against a bare batched
`model.features` forward of the same model on the same device (>= 0.8x).

The images are synthetic grayscale JPEGs at the sizes of MIMIC-CXR-JPG (1024 x 1024 and 2500 x 3000):
smooth structures, gradients and noise, so that their JPEG sizes and decode cost are those of real
radiographs (a flat or random image would compress far better or far worse).
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.harness import Case, Side, timed

SIZES = {"1024": (1024, 1024), "2500x3000": (2500, 3000)}  # (width, height)
IMAGES = {"1024": 150, "2500x3000": 30}  # per size at BENCH_SCALE 1
LOADER_PASSES = 4  # the DataLoader cases read the 1024 files this many times: worker start-up amortised
EMBED_IMAGES_CPU, EMBED_IMAGES_GPU, EMBED_BATCH = 48, 2048, 64


def radiograph(rng, width: int, height: int):
    """A grayscale image with a radiograph's statistics: a dark border, two bright lung-field shapes
    with smooth low-frequency texture, a spine, rib-like bands, and sensor noise."""
    import cv2
    import numpy as np

    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    x, y = x / width, y / height
    img = 40 + 120 * np.exp(-((x - 0.5) ** 2 / 0.12 + (y - 0.5) ** 2 / 0.2))
    for cx in (0.3, 0.7):  # lung fields
        img -= 60 * np.exp(-((x - cx) ** 2 / 0.012 + (y - 0.45) ** 2 / 0.06))
    img += 70 * np.exp(-((x - 0.5) ** 2 / 0.002))  # spine
    img += 12 * np.sin(2 * np.pi * (y * 14 + 0.6 * np.abs(x - 0.5)))  # ribs
    low = rng.normal(0, 1, (height // 64 + 2, width // 64 + 2)).astype(np.float32)
    img += 15 * cv2.resize(low, (width, height), interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, 4, (height, width)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def prepare(inp: Path, at_scale: float) -> dict:
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    sizes = {}
    for name, (w, h) in SIZES.items():
        folder = inp / name
        folder.mkdir()
        n = max(4, int(IMAGES[name] * at_scale))
        distinct = [radiograph(rng, w, h) for _ in range(min(n, 8))]  # a few distinct images, files repeated
        for i in range(n):
            cv2.imwrite(str(folder / f"{i:05d}.jpg"), distinct[i % len(distinct)], [cv2.IMWRITE_JPEG_QUALITY, 95])
        sizes[name] = n
        sizes[f"{name}_jpeg_kb"] = round(np.mean([p.stat().st_size for p in folder.glob("*.jpg")]) / 1024)
    return {"items": sizes["1024"], **sizes}


def _paths(inp: Path, size: str) -> list[str]:
    return sorted(str(p) for p in (inp / size).glob("*.jpg"))


def _geometry(h: int, w: int) -> tuple[int, int, int, int]:
    nw, nh = (256, int(256 * h / w)) if w < h else (int(256 * w / h), 256)
    return nw, nh, int(round((nh - 224) / 2.0)), int(round((nw - 224) / 2.0))


def bare_opencv(paths: list[str]) -> list:
    """What a user writes: imread gray, CLAHE (2.0, 8 x 8), short side to 256 (INTER_AREA), centre 224 crop."""
    import cv2

    op = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    out = []
    for path in paths:
        img = op.apply(cv2.imread(path, cv2.IMREAD_GRAYSCALE))
        nw, nh, top, left = _geometry(*img.shape)
        out.append(cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)[top:top + 224, left:left + 224])
    return out


def bare_opencv_both(paths: list[str]) -> list:
    """The bare loop doing what the Dataset does per image: the CLAHE'd and the plain 224 crop."""
    import cv2

    op = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    out = []
    for path in paths:
        gray = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        nw, nh, top, left = _geometry(*gray.shape)
        out.append(tuple(cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)[top:top + 224, left:left + 224]
                         for img in (op.apply(gray), gray)))
    return out


def _one_core() -> None:
    import cv2

    cv2.setNumThreads(1)


def _preprocess_sides(size: str) -> tuple[Side, Side]:
    def ours(inp: Path, out: Path) -> dict:
        from features.cxr.tensors import preprocess

        _one_core()
        paths = _paths(inp, size)
        _, t = timed(lambda: [preprocess(p) for p in paths])
        return {**t, "items": len(paths)}

    def bare(inp: Path, out: Path) -> dict:
        _one_core()
        paths = _paths(inp, size)
        _, t = timed(lambda: bare_opencv(paths))
        return {**t, "items": len(paths)}

    return Side("features.cxr.tensors.preprocess, 1 core", ours), Side("bare OpenCV loop, 1 core", bare)


def same_pixels(inp: Path, outs: dict) -> str | None:
    import numpy as np

    from features.cxr.tensors import preprocess

    paths = _paths(inp, "1024")[:4] + _paths(inp, "2500x3000")[:4]
    same = all(np.array_equal(a, preprocess(p)) for a, p in zip(bare_opencv(paths), paths, strict=True))
    return None if same else "preprocess differs from the bare OpenCV loop"


def _loader(workers: int):
    def run(inp: Path, out: Path) -> dict:
        from features.cxr.tensors import CxrImageDataset, iter_image_batches

        paths = _paths(inp, "1024") * LOADER_PASSES
        ds = CxrImageDataset([(str(i), p) for i, p in enumerate(paths)])
        # worker start-up included, as in a real pass
        n, t = timed(lambda: sum(len(b["index"]) for b in iter_image_batches(ds, workers, batch_size=32)))
        return {**t, "items": n}

    return run


def bare_both(inp: Path, out: Path) -> dict:
    _one_core()
    paths = _paths(inp, "1024") * LOADER_PASSES
    _, t = timed(lambda: bare_opencv_both(paths))
    return {**t, "items": len(paths)}


def _embed_setup(inp: Path):
    import numpy as np
    import polars as pl

    from features.cxr import densenet as dn
    from features.cxr.tensors import preprocess
    from features.device import resolve_device

    dev = resolve_device("auto")
    n = EMBED_IMAGES_GPU if dev.type == "cuda" else EMBED_IMAGES_CPU
    paths = _paths(inp, "1024")
    imgs = np.stack([preprocess(p, clahe=False) for p in (paths * (n // len(paths) + 1))[:n]])
    model = dn.random_densenet(0).to(dev).eval()  # the architecture and FLOPs of the chex weights, offline
    keys = pl.DataFrame({"dicom_id": [f"d{i}" for i in range(n)], "subject_id": list(range(n)),
                         "study_id": [1] * n, "study_datetime": [None] * n, "view_position": ["AP"] * n})
    return dev, n, imgs, model, keys


def embed_ours(inp: Path, out: Path) -> dict:
    import numpy as np

    from features.cxr import densenet as dn
    from features.cxr.tensors import tensor_frame

    dev, n, imgs, model, keys = _embed_setup(inp)
    tensors = tensor_frame(keys, np.arange(n), imgs, imgs)
    dn.embed_images(tensors[:EMBED_BATCH], model, dev, EMBED_BATCH, weights_source="bench")  # warm-up
    _, t = timed(lambda: dn.embed_images(tensors, model, dev, EMBED_BATCH, weights_source="bench"))
    return {**t, "items": n, "device": dev.type}


def embed_bare(inp: Path, out: Path) -> dict:
    import torch

    from features.cxr import densenet as dn
    from features.device import autocast

    dev, n, imgs, model, _ = _embed_setup(inp)
    x_all = dn.normalize_batch(torch.from_numpy(imgs)).to(dev)

    def forward(upto: int) -> None:
        with torch.inference_mode(), autocast(dev):
            for lo in range(0, upto, EMBED_BATCH):
                model.features(x_all[lo:lo + EMBED_BATCH])
        if dev.type == "cuda":
            torch.cuda.synchronize()

    forward(EMBED_BATCH)  # warm-up, as the subject's
    _, t = timed(lambda: forward(n))
    return {**t, "items": n, "device": dev.type}


def _cores() -> int:
    return os.cpu_count() or 1


_pre = {size: _preprocess_sides(size) for size in SIZES}
CASES = [
    *(Case(name=f"cxr_preprocess_{size}", what=f"CXR decode + CLAHE + resize + crop, {size} JPEGs, one core",
           goal=">= 0.9 (SPEC §11)", unit="images", input_key="cxr_jpegs", prepare=prepare,
           subject=_pre[size][0], baseline=_pre[size][1], check=same_pixels if size == "1024" else None)
      for size in SIZES),
    Case(name="cxr_loader", what=f"CXR DataLoader (CLAHE'd + plain crops, 1024 JPEGs, each file read {LOADER_PASSES} times), "
              f"{_cores()} workers",
         goal=f"near {_cores()} (linear in workers; SPEC §11)", unit="images", input_key="cxr_jpegs",
         prepare=prepare, subject=Side(f"DataLoader, {_cores()} workers", _loader(_cores())),
         baseline=Side("bare OpenCV loop for both crops, 1 core", bare_both),
         others=[Side("DataLoader, 1 worker", _loader(1))]),
    Case(name="embed_densenet", what=f"DenseNet121-chex embeddings (random init, batch {EMBED_BATCH})",
         goal=">= 0.8 (SPEC §11)", unit="images", input_key="cxr_jpegs", prepare=prepare,
         subject=Side("features.cxr.densenet.embed_images", embed_ours),
         baseline=Side("bare batched model.features forward", embed_bare)),
]
