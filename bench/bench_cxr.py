"""CXR throughput, side by side with the bare equivalents (SPEC §11):

* decode + CLAHE + resize + crop: `features.cxr.tensors.preprocess` vs a bare OpenCV loop (imread gray,
  CLAHE, resize, crop) on ONE core (goal >= 0.9x), plus the DataLoader path (both CLAHE'd and plain
  tensors) with 1 and 2 worker processes (goal: near-linear in workers/shards);
* embeddings: `features.cxr.densenet.embed_images` (bytes -> normalise -> features -> pool + classifier ->
  op_norm -> NaN check -> table) vs a bare batched `model.features` forward of the same model on the same
  device over pre-normalised tensors (goal >= 0.8x).

Each side is timed `--repeats` times, interleaved, and the best time kept (the least disturbed run).
Writes bench/results/cxr.json. Usage: python bench/bench_cxr.py [--images 300] [--embed-images N]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import polars as pl
import torch

from features.cxr import densenet as dn
from features.cxr.tensors import CxrImageDataset, iter_image_batches, preprocess, tensor_frame
from features.device import autocast, resolve_device
from warehouse.synth import generate

RESULTS = Path(__file__).parent / "results" / "cxr.json"


def synthetic_jpegs(root: Path, n: int) -> list[str]:
    patients = 30
    while True:
        generate(root, patients=patients, seed=11, images=True, notes=False)
        paths = sorted(str(p) for p in (root / "mimic-cxr-jpg" / "files").rglob("*.jpg"))
        if len(paths) >= n:
            return paths[:n]
        patients = int(patients * 1.6 * n / max(len(paths), 1)) + 1


def bare_opencv(paths: list[str]) -> list[np.ndarray]:
    op = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    out = []
    for path in paths:
        img = op.apply(cv2.imread(path, cv2.IMREAD_GRAYSCALE))
        h, w = img.shape
        nw, nh = (256, int(256 * h / w)) if w < h else (int(256 * w / h), 256)
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
        top, left = int(round((nh - 224) / 2.0)), int(round((nw - 224) / 2.0))
        out.append(img[top:top + 224, left:left + 224])
    return out


def ours(paths: list[str]) -> list[np.ndarray]:
    return [preprocess(p) for p in paths]


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bare_opencv_both(paths: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The bare loop doing what the Dataset does per image: CLAHE'd and plain 224 crops."""
    op = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    out = []
    for path in paths:
        gray = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        h, w = gray.shape
        nw, nh = (256, int(256 * h / w)) if w < h else (int(256 * w / h), 256)
        top, left = int(round((nh - 224) / 2.0)), int(round((nw - 224) / 2.0))
        pair = tuple(cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)[top:top + 224, left:left + 224]
                     for img in (op.apply(gray), gray))
        out.append(pair)
    return out


def dataset_in_process(ds: CxrImageDataset) -> None:
    for i in range(len(ds)):
        ds[i]


def loader_run(ds: CxrImageDataset, workers: int) -> dict:
    """One DataLoader pass: worker start-up (time to the first batch) and the steady rate after it."""
    start = time.perf_counter()
    first, first_n, n = None, 0, 0
    for batch in iter_image_batches(ds, workers, batch_size=32):
        n += len(batch["index"])
        if first is None:
            first, first_n = time.perf_counter(), n
    end = time.perf_counter()
    return {"startup_s": first - start, "steady": (n - first_n) / (end - first), "total": n / (end - start)}


def _ratio_run(what, n, rate, baseline, base_rate, goal, **extra) -> dict:
    return {"what": what, "images": n, "images_per_s": round(rate, 1), "baseline": baseline,
            "baseline_images_per_s": round(base_rate, 1), "ratio": round(rate / base_rate, 3), "goal": goal, **extra}


def bench_preprocess(paths: list[str], repeats: int, loader_images: int) -> list[dict]:
    cv2.setNumThreads(1)  # one core on both sides
    assert all(np.array_equal(a, b) for a, b in zip(bare_opencv(paths[:20]), ours(paths[:20]), strict=True))
    n = len(paths)
    ds = CxrImageDataset([(Path(p).stem, p) for p in paths])
    t = {"bare": [], "ours": [], "bare_both": [], "dataset": []}
    for _ in range(repeats):  # interleaved, best of each
        t["bare"].append(best_of(lambda: bare_opencv(paths), 1))
        t["ours"].append(best_of(lambda: ours(paths), 1))
        t["bare_both"].append(best_of(lambda: bare_opencv_both(paths), 1))
        t["dataset"].append(best_of(lambda: dataset_in_process(ds), 1))
    rate = {k: n / min(v) for k, v in t.items()}
    runs = [
        _ratio_run("preprocess (CLAHE), 1 core", n, rate["ours"], "bare OpenCV loop, 1 core", rate["bare"], ">= 0.9"),
        _ratio_run("Dataset item (CLAHE'd + plain), 1 core", n, rate["dataset"],
                   "bare OpenCV loop for both, 1 core", rate["bare_both"], ">= 0.9"),
    ]
    big = (paths * (loader_images // n + 1))[:loader_images]
    big_ds = CxrImageDataset([(str(i), p) for i, p in enumerate(big)])
    loader = {}
    for workers in (1, 2):
        runs_w = [loader_run(big_ds, workers) for _ in range(repeats)]
        loader[workers] = {"steady": max(r["steady"] for r in runs_w), "total": max(r["total"] for r in runs_w),
                           "startup_s": min(r["startup_s"] for r in runs_w)}
    for workers, r in loader.items():
        runs.append(_ratio_run(f"DataLoader (CLAHE'd + plain), {workers} worker(s), steady", len(big), r["steady"],
                               "same, 1 worker", loader[1]["steady"], f"near {workers}.0 ({os.cpu_count()} cores)",
                               startup_s=round(r["startup_s"], 2), total_images_per_s=round(r["total"], 1)))
    runs.append(_ratio_run("DataLoader, 1 worker, steady", len(big), loader[1]["steady"],
                           "bare OpenCV loop for both, 1 core", rate["bare_both"], ">= 0.9"))
    return runs


def bench_embeddings(paths: list[str], n: int, batch_size: int, device: str, repeats: int) -> list[dict]:
    dev = resolve_device(device)
    model = dn.random_densenet(0).to(dev).eval()  # same architecture and FLOPs as the chex weights
    imgs = np.stack([preprocess(p, clahe=False) for p in (paths * (n // len(paths) + 1))[:n]])
    keys = pl.DataFrame({"dicom_id": [f"d{i}" for i in range(n)], "subject_id": list(range(n)),
                         "study_id": [1] * n, "study_datetime": [None] * n, "view_position": ["AP"] * n})
    tensors = tensor_frame(keys, np.arange(n), imgs, imgs)
    x_all = dn.normalize_batch(torch.from_numpy(imgs)).to(dev)

    def bare():
        with torch.inference_mode(), autocast(dev):
            for lo in range(0, n, batch_size):
                model.features(x_all[lo:lo + batch_size])
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def mine():
        dn.embed_images(tensors, model, dev, batch_size, weights_source="bench")

    bare(), mine()  # warm-up (cuDNN autotune, allocator)
    t_bare, t_ours = [], []
    for _ in range(repeats):
        t_bare.append(best_of(bare, 1))
        t_ours.append(best_of(mine, 1))
    base, ours_rate = n / min(t_bare), n / min(t_ours)
    return [{"what": f"embeddings densenet121 ({dev.type}, batch {batch_size})", "images": n,
             "images_per_s": round(ours_rate, 1), "baseline": "bare batched model.features",
             "baseline_images_per_s": round(base, 1), "ratio": round(ours_rate / base, 3), "goal": ">= 0.8"}]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--loader-images", type=int, default=3000, help="images per DataLoader pass (files reused)")
    parser.add_argument("--embed-images", type=int, default=None, help="default: 128 on CPU, 4096 on GPU")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = resolve_device(args.device)
    n_embed = args.embed_images or (4096 if device.type == "cuda" else 128)
    with tempfile.TemporaryDirectory() as tmp:
        paths = synthetic_jpegs(Path(tmp) / "src", args.images)
        runs = bench_preprocess(paths, args.repeats, args.loader_images)
        for run in runs:
            print(run, flush=True)
        threads = torch.get_num_threads()
        runs += bench_embeddings(paths, n_embed, args.batch_size, args.device, args.repeats)
        print(runs[-1], flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "cxr", "when": time.strftime("%Y-%m-%d"),
        "goal": "decode+CLAHE+resize+crop >= 0.9x a bare OpenCV loop per core, near-linear in workers; "
                "embeddings >= 0.8x a bare batched forward of the same model on the same device",
        "machine": {"cpus": os.cpu_count(), "torch_threads": threads, "device": str(device),
                    "opencv": cv2.__version__, "torch": torch.__version__, "torchxrayvision": dn.XRV_VERSION},
        "runs": runs}, indent=1) + "\n")
    print(RESULTS)


if __name__ == "__main__":
    main()
