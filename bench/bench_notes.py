"""Clinical notes: chunking throughput, and embedding throughput against a bare batched forward pass.

* chunking: `build_note_chunks` on every note of a synthetic source (fallback WordPiece tokenizer),
  side by side with a HAIM-style per-note, per-line Python loop (tokenise each line, accumulate), and
  with the floor of one batch tokenisation of every note (throughput_ratio = floor / chunking time);
* embedding: `embed_chunks` with a BERT-base-sized random model (Bio_ClinicalBERT's architecture) on a
  seeded sample of those chunks, side by side with the bare loop a user would write: tokenizer(batch,
  padding=True) + model(**batch) under inference_mode, batches in input order. Goal (SPEC §11):
  throughput_ratio >= 0.8.

Writes bench/results/notes.json. Usage: python bench/bench_notes.py [--patients 2000] [--chunks 64]
(the default sizes keep it under 3 minutes on 2 CPU cores; on a GPU use --chunks 512 or more).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import torch

from features.device import autocast, resolve_device
from features.notes.bert import BIO_CLINICALBERT_CONFIG, embed_chunks, random_bert
from features.notes.build import build_note_chunks, load_notes, open_lake
from features.notes.tokenizer import backend_copy, fallback_tokenizer
from warehouse.ingest import ingest
from warehouse.lake import Home
from warehouse.sources import synthetic_sources
from warehouse.synth import generate

RESULTS = Path(__file__).parent / "results" / "notes.json"


def haim_style_chunk_count(notes: pl.DataFrame, tokenizer, limit: int = 510) -> int:
    """HAIM's loop (reference §4.6), without its dropped last chunk: per note, per line, tokenise and
    accumulate while the running count stays <= limit. Returns the number of chunks."""
    n_chunks = 0
    for text in notes["text"].fill_null("").to_list():
        count, open_chunk = 0, False
        for line in text.split("\n"):
            n = len(tokenizer.tokenize(line))
            if open_chunk and count + n > limit:
                n_chunks += 1
                count = 0
            count += n
            open_chunk = open_chunk or n > 0
        n_chunks += int(open_chunk)
    return n_chunks


def bare_forward(texts: list[str], tokenizer, model, device, batch_size: int) -> np.ndarray:
    out = []
    with torch.inference_mode(), autocast(device):
        for i in range(0, len(texts), batch_size):
            batch = tokenizer(texts[i:i + batch_size], padding=True, truncation=True, max_length=512,
                              return_tensors="pt").to(device)
            out.append(model(**batch).pooler_output.float().cpu().numpy())
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--chunks", type=int, default=64, help="chunks embedded by each side")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    tokenizer = fallback_tokenizer()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root / "src", patients=args.patients, seed=0, images=False, notes=True)
        home = Home.open(root / "home")
        ingest(home, synthetic_sources(root / "src"))
        con = open_lake(home)
        notes = load_notes(con)
        con.close()

        built = build_note_chunks(home, tokenizer=tokenizer)
        chunks = built.chunks
        start = time.perf_counter()  # the floor: tokenising every note once, nothing else
        backend_copy(tokenizer).encode_batch_fast(notes["text"].fill_null("").to_list(), add_special_tokens=False)
        bare_tok_s = time.perf_counter() - start
        start = time.perf_counter()
        ref_chunks = haim_style_chunk_count(notes, tokenizer)
        ref_s = time.perf_counter() - start
        runs.append({
            "stage": "chunking", "device": "cpu", "notes": notes.height, "chunks": chunks.height,
            "wordpieces": built.stats["wordpieces"], "seconds": built.stats["seconds"],
            "chunks_per_second": built.stats["chunks_per_second"],
            "reference": "HAIM-style per-line loop", "reference_chunks": ref_chunks,
            "reference_seconds": round(ref_s, 3), "speedup": round(ref_s / built.stats["seconds"], 1),
            "bare_tokenize_seconds": round(bare_tok_s, 3),
            "throughput_ratio": round(bare_tok_s / built.stats["seconds"], 2),
        })
        print(runs[-1], flush=True)

    sample = chunks.sample(n=min(args.chunks, chunks.height), seed=0, shuffle=True)
    texts = sample["text"].to_list()
    from transformers import BertConfig

    model = random_bert(BertConfig(**{**BIO_CLINICALBERT_CONFIG, "vocab_size": max(28996, len(tokenizer))})).to(device)
    embed_chunks(texts[:2], tokenizer, model, device, 2)  # warm-up, both sides share it
    bare_forward(texts[:2], tokenizer, model, device, 2)
    start = time.perf_counter()
    ours = embed_chunks(texts, tokenizer, model, device, args.batch_size)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    bare = bare_forward(texts, tokenizer, model, device, args.batch_size)
    bare_s = time.perf_counter() - start
    assert np.allclose(ours, bare, atol=1e-3 if device.type == "cuda" else 1e-4), "the two sides disagree"
    lengths = backend_copy(tokenizer).encode_batch_fast(texts, add_special_tokens=True)
    runs.append({
        "stage": "embedding", "device": str(device), "model": "BERT-base random-init (12 x 768)",
        "chunks": len(texts), "mean_wordpieces": round(float(np.mean([len(e.ids) for e in lengths])), 1),
        "batch_size": args.batch_size, "seconds": round(ours_s, 2),
        "chunks_per_second": round(len(texts) / ours_s, 2),
        "reference": "bare batched forward (input order, padding=True)", "reference_seconds": round(bare_s, 2),
        "reference_chunks_per_second": round(len(texts) / bare_s, 2),
        "throughput_ratio": round(bare_s / ours_s, 2),
    })
    print(runs[-1], flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "notes", "when": time.strftime("%Y-%m-%d"),
        "goal": "embedding throughput_ratio >= 0.8 x a bare batched forward of the same model on the same device",
        "machine": {"cpus": torch.get_num_threads(), "python": platform.python_version(), "torch": torch.__version__},
        "patients": args.patients, "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
