"""Clinical notes: chunking against the HAIM-style per-line loop, and BERT embeddings against a bare batched
forward of the same model, batch and device (SPEC §11: >= 0.8x).

The model is BERT-base-sized and randomly initialised (Bio_ClinicalBERT's architecture, offline); the
tokenizer is the deterministic fallback WordPiece tokenizer. Both sides embed the same seeded sample of
the chunks of a synthetic source.
"""

from __future__ import annotations

from pathlib import Path

from bench.harness import Case, Side, timed

PATIENTS = 300  # at BENCH_SCALE 1
CHUNKS_CPU, CHUNKS_GPU, BATCH = 16, 1024, 16


def prepare(inp: Path, at_scale: float) -> dict:
    from features.notes.build import build_note_chunks
    from features.notes.tokenizer import fallback_tokenizer
    from warehouse.ingest import ingest
    from warehouse.lake import Home
    from warehouse.sources import synthetic_sources
    from warehouse.synth import generate

    generate(inp / "src", patients=max(20, int(PATIENTS * at_scale)), seed=0, images=False, notes=True)
    home = Home.open(inp / "home")
    ingest(home, synthetic_sources(inp / "src"))
    built = build_note_chunks(home, tokenizer=fallback_tokenizer())
    built.chunks.select("text").sample(fraction=1.0, seed=0, shuffle=True).write_parquet(inp / "chunks.parquet")
    return {"items": built.stats["notes"], "notes": built.stats["notes"], "chunks": built.chunks.height,
            "wordpieces": built.stats["wordpieces"]}


def haim_style_chunk_count(texts: list[str], tokenizer, limit: int = 510) -> int:
    """HAIM's loop (reference §4.6), without its dropped last chunk: per note, per line, tokenise and
    accumulate while the running count stays <= limit. Returns the number of chunks."""
    n_chunks = 0
    for text in texts:
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


def chunk_ours(inp: Path, out: Path) -> dict:
    from features.notes.build import build_note_chunks
    from features.notes.tokenizer import fallback_tokenizer
    from warehouse.lake import Home

    tokenizer = fallback_tokenizer()
    built, t = timed(lambda: build_note_chunks(Home.open(inp / "home"), tokenizer=tokenizer))
    return {**t, "chunks": built.chunks.height}


def chunk_haim(inp: Path, out: Path) -> dict:
    from features.notes.build import load_notes, open_lake
    from features.notes.tokenizer import fallback_tokenizer
    from warehouse.lake import Home

    tokenizer = fallback_tokenizer()
    con = open_lake(Home.open(inp / "home"))
    texts = load_notes(con)["text"].fill_null("").to_list()
    con.close()
    n, t = timed(lambda: haim_style_chunk_count(texts, tokenizer))
    return {**t, "chunks": n}


def _embed_setup(inp: Path):
    import polars as pl
    from transformers import BertConfig

    from features.device import resolve_device
    from features.notes.bert import BIO_CLINICALBERT_CONFIG, random_bert
    from features.notes.tokenizer import fallback_tokenizer

    dev = resolve_device("auto")
    n = CHUNKS_GPU if dev.type == "cuda" else CHUNKS_CPU
    texts = pl.read_parquet(inp / "chunks.parquet")["text"].to_list()
    texts = (texts * (n // len(texts) + 1))[:n]
    tokenizer = fallback_tokenizer()
    config = BertConfig(**{**BIO_CLINICALBERT_CONFIG, "vocab_size": max(28996, len(tokenizer))})
    return dev, texts, tokenizer, random_bert(config).to(dev)


def bare_forward(texts: list[str], tokenizer, model, device, batch_size: int):
    """What a user writes: batches in input order, padding=True, the pooler output."""
    import numpy as np
    import torch

    from features.device import autocast

    out = []
    with torch.inference_mode(), autocast(device):
        for i in range(0, len(texts), batch_size):
            batch = tokenizer(texts[i:i + batch_size], padding=True, truncation=True, max_length=512,
                              return_tensors="pt").to(device)
            out.append(model(**batch).pooler_output.float().cpu().numpy())
    return np.concatenate(out)


def _embed_side(fn):
    def run(inp: Path, out: Path) -> dict:
        import numpy as np

        dev, texts, tokenizer, model = _embed_setup(inp)
        fn(texts[:2], tokenizer, model, dev, 2)  # warm-up
        vectors, t = timed(lambda: fn(texts, tokenizer, model, dev, BATCH))
        np.save(out / "vectors.npy", vectors)
        return {**t, "items": len(texts), "device": dev.type}

    return run


def embed_chunks(texts, tokenizer, model, device, batch_size):
    from features.notes.bert import embed_chunks as ours

    return ours(texts, tokenizer, model, device, batch_size)


def same_vectors(inp: Path, outs: dict) -> str | None:
    import numpy as np

    a, b = (np.load(p / "vectors.npy") for p in outs.values())
    diff = float(np.abs(a - b).max())
    return None if diff < 1e-3 else f"embeddings differ by up to {diff:.2g}"


CASES = [
    Case(name="notes_chunking", what="note chunking into <= 512 wordpieces (fallback WordPiece tokenizer)",
         goal="faster than the reference's loop", unit="notes", input_key="notes", prepare=prepare,
         subject=Side("features.notes.build.build_note_chunks", chunk_ours),
         baseline=Side("HAIM-style per-note, per-line loop", chunk_haim)),
    Case(name="embed_bert", what=f"BERT-base note-chunk embeddings (random init, batch {BATCH})",
         goal=">= 0.8 (SPEC §11)", unit="chunks", input_key="notes", prepare=prepare,
         subject=Side("features.notes.bert.embed_chunks", _embed_side(embed_chunks)),
         baseline=Side("bare batched forward (input order, padding=True)", _embed_side(bare_forward)),
         check=same_vectors),
]
