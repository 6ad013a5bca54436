"""Incremental rebuild after 1 % new subjects (SPEC §11, issue 11 item 2): the embeddings of the images and note
chunks already embedded come from the home's embedding cache; only the new subjects' are computed.

Sources: the synthetic generator is not prefix-stable in its patient count (generating N + 1 % patients with the
same seed changes the existing patients' rows: the random streams are drawn per table, not per patient), so
the grown source is generated once and the base source is that tree without 1 % of its subjects (every row
of every table with a subject_id, and their image folders, removed). Base -> grown is then exactly "1 % new
subjects arrived", every other row byte-identical.

Runs: (1) full build of the base source up to HAIM in a fresh home; (2) rebuild of the same home after
the source grew (cheap per-shard tables rebuild, embeddings from the cache plus the new items); (3) full
build of the grown source in a fresh home with the cache bypassed (use_cache=false), the reference. The
ratio is (2) / (3). The outputs of (2) and (3) are compared table by table: keys, row order and dtypes
exactly, float values exactly where they are, else within float32 rounding (reported: an image embedded in
a batch of other images can differ in its last bits from the same image embedded in another batch).

Models: CPU, randomly initialised with the real architectures (weights auto): DenseNet121-res224-chex and a
12-layer BERT of Bio_ClinicalBERT's widths (`random-init:L12`), so the full build embeds with the compute of the
real models (the offline demo's one-layer BERT, `--notes-model random-init:L1`, makes the embeddings a smaller
share of the full build and the ratio larger). Every build runs with one worker (`make demo`'s setting on 2 cores).
The cached image tensors (features.cxr.tensors.tensor_cache) are bypassed in the reference build too.

Usage: python bench/bench_incremental.py [--patients 100] [--new-percent 1] [--notes-model random-init:L12]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

RESULTS = Path(__file__).parent / "results" / "incremental_script.json"  # the harness case writes incremental.json
SELECTION = "*features/haim"  # every asset HAIM needs: ingest, cohorts, chunks, tensors, both embeddings
NOTES_MODEL = "random-init:L12"  # Bio_ClinicalBERT's architecture and compute, randomly initialised (offline)
NO_CACHE = ("embeddings/cxr_densenet121_chex.use_cache=false", "embeddings/notes_clinicalbert.use_cache=false",
            "features/cxr_tensors.use_cache=false")
COMPARED = (("embeddings", "cxr_densenet121_chex"), ("embeddings", "notes_clinicalbert"),
            ("embeddings", "notes_clinicalbert_notes"), ("features", "note_chunks"), ("features", "cxr_tensors"),
            ("features", "haim"))
EMBEDDING_ASSETS = ("embeddings/cxr_densenet121_chex", "embeddings/notes_clinicalbert")


def without_subjects(grown: Path, base: Path, removed: set[int]) -> None:
    """Copy the source tree `grown` to `base` without the rows and image folders of the `removed` subjects."""
    ids = pl.Series(sorted(removed), dtype=pl.Int64)
    for path in sorted(grown.rglob("*")):
        target = base / path.relative_to(grown)
        if path.is_dir():
            continue
        if path.suffix == ".jpg":
            if int(path.parent.parent.name[1:]) not in removed:  # files/pXX/p<subject>/s<study>/<dicom>.jpg
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(path, target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if not path.name.endswith(".csv.gz"):
            shutil.copy2(path, target)
            continue
        frame = pl.read_csv(path, infer_schema=False)
        if "subject_id" not in frame.columns:
            shutil.copy2(path, target)
            continue
        kept = frame.filter(~pl.col("subject_id").cast(pl.Int64).is_in(ids.implode()))
        with gzip.open(target, "wb") as handle:
            kept.write_csv(handle)


def new_subjects(grown: Path, percent: float) -> set[int]:
    """Every (100 / percent)-th subject with an image, a note and an ICU stay: the new arrivals touch every input."""
    iv, cxr, note = grown / "mimic-iv", grown / "mimic-cxr-jpg", grown / "mimic-iv-note" / "note"
    stays = set(pl.read_csv(iv / "icu" / "icustays.csv.gz")["subject_id"])
    images = set(pl.read_csv(cxr / "mimic-cxr-2.0.0-metadata.csv.gz")["subject_id"])
    notes = set(pl.read_csv(note / "radiology.csv.gz", columns=["subject_id"])["subject_id"])
    subjects = sorted(set(pl.read_csv(iv / "hosp" / "patients.csv.gz")["subject_id"]))
    count = max(1, round(len(subjects) * percent / 100))
    rich = sorted(stays & images & notes)
    step = max(1, len(rich) // count)
    return set(rich[::step][:count])


def build(home_dir: Path, source: Path, notes_model: str, sets: tuple[str, ...] = ()) -> tuple[float, dict]:
    """(seconds, metadata by asset key) of one materialisation of SELECTION; cpu_s of it in the metadata."""
    from pipelines.run import materialize_selection
    from warehouse.lake import Home
    from warehouse.sources import synthetic_sources

    start, cpu = time.perf_counter(), _cpu()
    result = materialize_selection(Home.open(home_dir), synthetic_sources(source), SELECTION,
                                   settings={"weights": "auto", "notes_model": notes_model}, sets=sets, workers=1)
    return time.perf_counter() - start, {**result["metadata"], "cpu_s": _cpu() - cpu}


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def read_table(home_dir: Path, schema: str, name: str) -> pl.DataFrame:
    """A lake table as stored: shards in order, rows in file order."""
    folder = home_dir / "lake" / schema / name
    files = sorted(folder.glob("shard=*/*.parquet"), key=lambda p: int(p.parent.name[6:])) or sorted(folder.glob("*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files], how="vertical")


def compare(a: pl.DataFrame, b: pl.DataFrame) -> dict:
    """{rows, exact, max_abs_diff, max_rel_diff, equal}: keys, order, dtypes and non-float columns exact; float
    values exact or within float32 rounding (numpy isclose, rtol 1e-5, atol 1e-6; NaN where NaN).
    max_rel_diff is relative to the column's largest value."""
    out = {"rows": b.height, "exact": a.equals(b), "max_abs_diff": 0.0, "max_rel_diff": 0.0}
    if a.schema != b.schema or a.height != b.height:
        return {**out, "equal": False, "why": "schema or row count"}
    floats = [c for c, t in b.schema.items() if t.is_float() or (isinstance(t, pl.Array | pl.List) and t.inner.is_float())]
    if not a.drop(floats).equals(b.drop(floats)):
        return {**out, "equal": False, "why": "a key or non-float column"}
    close = True
    for column in floats:
        x, y = (np.asarray(f[column].to_numpy().tolist() if f[column].dtype == pl.List else f[column].to_numpy(),
                           dtype=np.float64) for f in (a, b))
        if not x.size:
            continue
        close = close and bool(np.isclose(x, y, rtol=1e-5, atol=1e-6, equal_nan=True).all())
        diff = np.abs(np.where(np.isnan(x) & np.isnan(y), 0.0, x - y))
        column_diff = 0.0 if np.isnan(diff).all() else float(np.nanmax(diff))
        scale = 0.0 if np.isnan(y).all() else float(np.nanmax(np.abs(y)))
        out["max_abs_diff"] = max(out["max_abs_diff"], column_diff)
        if scale:
            out["max_rel_diff"] = max(out["max_rel_diff"], column_diff / scale)
    return {**out, "equal": close}


def _embedding_seconds(metadata: dict) -> float:
    return sum(float(metadata[k]["seconds"]) for k in EMBEDDING_ASSETS)


def _cache(metadata: dict) -> dict:
    return {k: {f: metadata[k][f] for f in ("rows", "cache_hits", "cache_misses", "model_loaded")}
            for k in EMBEDDING_ASSETS}


def prepare(inp: Path, patients: int, percent: float) -> dict:
    """The grown source (inp/grown) and the base source without the new subjects (inp/base)."""
    from warehouse.synth import generate

    summary = generate(inp / "grown", patients=patients, seed=0)
    removed = new_subjects(inp / "grown", percent)
    without_subjects(inp / "grown", inp / "base", removed)
    return {"items": summary["patients"], "patients": summary["patients"], "images": summary.get("images"),
            "new_subjects": sorted(removed)}


def rebuild(inp: Path, out: Path, notes_model: str = NOTES_MODEL) -> dict:
    """Full build of the base source (not timed), then the timed rebuild after the source grew, in one home."""
    full_base, _ = build(out / "home", inp / "base", notes_model)
    seconds, metadata = build(out / "home", inp / "grown", notes_model)
    return {"seconds": seconds, "cpu_s": metadata["cpu_s"], "full_build_base_s": round(full_base, 1),
            "embedding_s": round(_embedding_seconds(metadata), 1), "cache": _cache(metadata)}


def full_build(inp: Path, out: Path, notes_model: str = NOTES_MODEL) -> dict:
    """The reference: the grown source built from scratch in a fresh home, the caches bypassed."""
    seconds, metadata = build(out / "home", inp / "grown", notes_model, NO_CACHE)
    return {"seconds": seconds, "embedding_s": round(_embedding_seconds(metadata), 1),
            "embedding_fraction": round(_embedding_seconds(metadata) / seconds, 3), "cache": _cache(metadata)}


def compare_homes(rebuilt: Path, reference: Path) -> dict:
    return {f"{s}.{n}": compare(read_table(rebuilt, s, n), read_table(reference, s, n)) for s, n in COMPARED}


def run(root: Path, patients: int, percent: float, notes_model: str = NOTES_MODEL) -> dict:
    info = prepare(root / "input", patients, percent)
    incremental = rebuild(root / "input", root / "rebuild", notes_model)
    full = full_build(root / "input", root / "full", notes_model)
    tables = compare_homes(root / "rebuild" / "home", root / "full" / "home")
    return {
        **{k: v for k, v in info.items() if k != "items"}, "notes_model": notes_model,
        "full_build_base_s": incremental["full_build_base_s"], "rebuild_s": round(incremental["seconds"], 1),
        "full_build_s": round(full["seconds"], 1), "rebuild_over_full": round(incremental["seconds"] / full["seconds"], 3),
        "embedding_s_full": full["embedding_s"], "embedding_s_rebuild": incremental["embedding_s"],
        "embedding_fraction_of_full": full["embedding_fraction"],
        "embedding_rebuild_over_full": round(incremental["embedding_s"] / full["embedding_s"], 3),
        "cache_rebuild": incremental["cache"], "cache_full": full["cache"],
        "outputs_equal": all(t["equal"] for t in tables.values()), "tables": tables,
    }


def write_results(result: dict, percent: float) -> None:
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "incremental", "when": time.strftime("%Y-%m-%d"),
        "machine": {"cpus": os.cpu_count(), "load_average": [round(x, 1) for x in os.getloadavg()],
                    "platform": platform.platform(), "python": platform.python_version()},
        "goal": f"rebuild after {percent:g} % new subjects <= 10 % of the full build, outputs equal",
        "models": "CPU, random-init with the real architectures: DenseNet121 (chex semantics) and the notes_model of "
                  "each run (random-init:L12 = Bio_ClinicalBERT's 12 layers; the offline demo's L1 is one of them)",
        "runs": [result]}, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--new-percent", type=float, default=1.0)
    parser.add_argument("--notes-model", default=NOTES_MODEL)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clinfuse-bench-incremental-") as tmp:
        result = run(Path(tmp), args.patients, args.new_percent, args.notes_model)
    print(json.dumps({k: v for k, v in result.items() if k != "tables"}, indent=1), flush=True)
    write_results(result, args.new_percent)
    if not result["outputs_equal"]:
        raise SystemExit("the rebuild's outputs differ from the full build's (see tables in the results)")


if __name__ == "__main__":
    main()
