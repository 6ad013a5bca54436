"""Build note chunks and their BERT embeddings from a home's `raw.note_discharge` / `raw.note_radiology`.

Per shard (`subject_id % shards == shard`; `shard=None`: every note), no Python loop over notes:
    raw.note_* --load_notes (DuckDB)--> notes --chunk_notes--> features.note_chunks
        --embed_chunks (one model instance)--> embeddings.notes_clinicalbert
        --aggregate_per_note--> embeddings.notes_clinicalbert_notes

`build_note_chunks` / `build_note_embeddings` return frames and counts (the Dagster assets call them
per partition) and write them one `shard=k` folder at a time (warehouse.lake.write_shards).
MIMIC-IV-Note is optional: with no note table the frames are empty. With an embedding cache (`notes_cache`,
features.embed_cache) a chunk is embedded once per model identity (`bert_identity`), keyed by its text's sha256;
only chunks whose text the cache does not hold go through the model, which is not loaded when there are none.
Logs carry ids and counts only, never note text.

Table schemas:
    features.note_chunks: note_id VARCHAR, subject_id BIGINT, hadm_id BIGINT (nullable), note_type VARCHAR,
        source VARCHAR, charttime TIMESTAMP, chunk_index INTEGER, n_wordpieces INTEGER, text VARCHAR
    embeddings.notes_clinicalbert: the same keys without text, embedding FLOAT[dim] (Arrow
        fixed_size_list<float32>[768] for Bio_ClinicalBERT), weights_source VARCHAR
    embeddings.notes_clinicalbert_notes: note_id, subject_id, hadm_id, note_type, source, charttime,
        n_chunks INTEGER, embedding FLOAT[dim], weights_source VARCHAR
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import numpy as np
import polars as pl

from features.device import resolve_device
from features.embed_cache import EmbeddingCache, content_sha256, embed_cached
from features.notes.aggregate import aggregate_per_note, embedding_series
from features.notes.bert import BIO_CLINICALBERT_CONFIG, Pooling, embed_chunks, get_bert
from features.notes.chunks import CHUNK_SCHEMA, chunk_notes, empty_chunks
from features.notes.tokenizer import DEFAULT_MODEL, load_tokenizer, tokenizer_source
from features.weights import NO_SOURCE
from warehouse.lake import (
    DEFAULT_SHARDS,
    ClinfuseError,
    Home,
    open_lake,
    shard_filter,
)

log = logging.getLogger(__name__)
NOTE_DIM = int(BIO_CLINICALBERT_CONFIG["hidden_size"])  # the width of an empty table (no model loaded)

NOTE_SOURCES: dict[str, str] = {"discharge": "note_discharge", "radiology": "note_radiology"}
CHUNKS_TABLE = ("features", "note_chunks")
CHUNK_EMBEDDINGS_TABLE = ("embeddings", "notes_clinicalbert")
NOTE_EMBEDDINGS_TABLE = ("embeddings", "notes_clinicalbert_notes")
CHUNK_KEYS = [c for c in CHUNK_SCHEMA if c != "text"]
ORDER_BY = {
    "note_chunks": "subject_id, note_id, chunk_index",
    "notes_clinicalbert": "subject_id, note_id, chunk_index",
    "notes_clinicalbert_notes": "subject_id, note_id",
}
NOTE_SCHEMA = {"note_id": pl.String, "subject_id": pl.Int64, "hadm_id": pl.Int64, "note_type": pl.String,
               "source": pl.String, "charttime": pl.Datetime("us"), "available_time": pl.Datetime("us"),
               "text": pl.String}


@dataclass
class NoteChunks:
    chunks: pl.DataFrame
    stats: dict = field(default_factory=dict)


@dataclass
class NoteEmbeddings:
    chunks: pl.DataFrame  # per chunk: CHUNK_KEYS, embedding, weights_source
    notes: pl.DataFrame  # per note: note keys, n_chunks, embedding, weights_source
    stats: dict = field(default_factory=dict)


# ---------------------------------------------------------------- inputs






def _has_view(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    rows = con.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = ? AND view_name = ?",
                       [schema, name]).fetchall()
    return rows[0][0] > 0


def load_notes(
    con: duckdb.DuckDBPyConnection,
    shard: int | None = None,
    shards: int = DEFAULT_SHARDS,
    sources: tuple[str, ...] = tuple(NOTE_SOURCES),
) -> pl.DataFrame:
    """The shard's notes of the present `raw.note_*` tables: note_id, subject_id, hadm_id, note_type,
    source, charttime, text; sorted by subject_id, charttime, note_id (empty when none is present)."""
    parts = []
    for source in sources:
        table = NOTE_SOURCES[source]
        if _has_view(con, "raw", table):
            # available_time: the lake's note_available_time macro (warehouse/sql/time_rules.sql)
            parts.append(f"SELECT note_id, subject_id, hadm_id, note_type, '{source}' AS source, charttime, "
                         f"note_available_time('{source}', charttime, storetime) "
                         f"AS available_time, text FROM raw.{table} WHERE {shard_filter(shard, shards)}")
    if not parts:
        return pl.DataFrame(schema=NOTE_SCHEMA)
    frame = con.sql(" UNION ALL ".join(parts) + " ORDER BY subject_id, charttime NULLS LAST, note_id").pl()
    return frame.select([pl.col(c).cast(t) for c, t in NOTE_SCHEMA.items()])


def count_rows(home: Home, tables: list[tuple[str, str]]) -> int:
    """Rows in the lake tables that exist (0 for one never written): is there anything to embed?"""
    con = open_lake(home)
    try:
        return sum(con.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0]
                   for schema, table in tables if _has_view(con, schema, table))
    finally:
        con.close()


def notes_to_embed(home: Home) -> int:
    """Notes in the raw note tables (0 when the source has no MIMIC-IV-Note)."""
    return count_rows(home, [("raw", table) for table in NOTE_SOURCES.values()])


def chunks_to_embed(home: Home) -> int:
    return count_rows(home, [CHUNKS_TABLE])


def load_chunks(con: duckdb.DuckDBPyConnection, shard: int | None = None, shards: int = DEFAULT_SHARDS) -> pl.DataFrame | None:
    """The shard's rows of `features.note_chunks`, or None when that table is not in the lake."""
    if not _has_view(con, *CHUNKS_TABLE):
        return None
    frame = con.sql(f"SELECT {', '.join(CHUNK_SCHEMA)} FROM features.note_chunks "
                    f"WHERE {shard_filter(shard, shards)} ORDER BY {ORDER_BY['note_chunks']}").pl()
    return frame.select([pl.col(c).cast(t) for c, t in CHUNK_SCHEMA.items()])


# ---------------------------------------------------------------- frames


def build_note_chunks(
    home: Home,
    shard: int | None = None,
    shards: int = DEFAULT_SHARDS,
    tokenizer=None,
    max_wordpieces: int = 512,
    *,
    model: str = DEFAULT_MODEL,
    policy: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> NoteChunks:
    """`features.note_chunks` rows for one shard (or every note). `tokenizer` defaults to `model`'s,
    resolved offline under the weights policy (auto: the deterministic fallback tokenizer).

    stats: shard, notes, empty_notes (no wordpiece: no chunk), chunks, wordpieces, max_chunk_wordpieces,
    chunks_by_source, max_wordpieces, tokenizer_source, seconds, chunks_per_second."""
    own = con is None
    con = con or open_lake(home)
    try:
        notes = load_notes(con, shard, shards)
    finally:
        if own:
            con.close()
    if tokenizer is None and notes.height:  # no note, no tokenizer: an absent source never needs weights
        tokenizer, _ = load_tokenizer(model, policy)
    start = time.perf_counter()
    chunks = chunk_notes(notes, tokenizer, max_wordpieces) if notes.height else empty_chunks()
    seconds = time.perf_counter() - start
    chunked = chunks["note_id"].n_unique()
    stats = {
        "shard": shard, "notes": notes.height, "empty_notes": notes.height - chunked, "chunks": chunks.height,
        "wordpieces": int(chunks["n_wordpieces"].sum() or 0),
        "max_chunk_wordpieces": int(chunks["n_wordpieces"].max() or 0),
        "chunks_by_source": {r["source"]: r["len"] for r in chunks.group_by("source").len().sort("source").iter_rows(named=True)},
        "max_wordpieces": max_wordpieces,
        "tokenizer_source": tokenizer_source(tokenizer) if tokenizer is not None else None,  # None: not loaded
        "seconds": round(seconds, 3), "chunks_per_second": round(chunks.height / seconds, 1) if seconds > 0 else None,
    }
    log.info("note chunks shard %s: %d notes (%d empty) -> %d chunks", shard, stats["notes"],
             stats["empty_notes"], stats["chunks"])
    return NoteChunks(chunks, stats)


def notes_cache(home: Home, identity: dict) -> EmbeddingCache:
    """The home's cache of chunk vectors for one identity (bert_identity), keyed by the sha256 of the chunk's text."""
    return EmbeddingCache(home, "notes_clinicalbert", identity, key=["text_sha256"], vectors=["embedding"])


def build_note_embeddings(
    home: Home,
    shard: int | None = None,
    shards: int = DEFAULT_SHARDS,
    model: str = DEFAULT_MODEL,
    policy: str | None = None,
    pooling: Pooling = "pooler",
    device: str = "auto",
    batch_size: int = 32,
    *,
    chunks: pl.DataFrame | None = None,
    bert: tuple | Callable[[], tuple] | None = None,
    cache: EmbeddingCache | None = None,
    weights_source: str | None = None,
    max_wordpieces: int = 512,
    con: duckdb.DuckDBPyConnection | None = None,
    progress=None,
) -> NoteEmbeddings:
    """Chunk and note embeddings for one shard (or every note).

    Chunks come from `chunks`, else the lake's `features.note_chunks`, else are made here with the
    model's tokenizer. `bert` = (tokenizer, model, weights_source) from `load_bert`, or a function returning it
    (called only when a chunk must be embedded); default: `get_bert` (one instance per process). The chunks
    `cache` (notes_cache) holds are read from it, the others embedded and added to it; `weights_source` (from
    bert_identity) is what the rows record, needed with a cache. stats: shard, chunks, notes, cache_hits,
    cache_misses, tokens, truncated_chunks, device, weights_source, tokenizer_source, pooling, batch_size,
    seconds, chunks_per_second."""
    if cache is not None and weights_source is None:
        raise ValueError("build_note_embeddings with a cache needs the weights_source of bert_identity")
    dev = resolve_device(device)
    if chunks is None:
        own = con is None
        con = con or open_lake(home)
        try:
            chunks = load_chunks(con, shard, shards)
            if chunks is None:
                bert = _loaded(bert, model, policy, pooling)
                chunks = build_note_chunks(home, shard, shards, bert[0], max_wordpieces, con=con).chunks
        finally:
            if own:
                con.close()
    loaded: list = [bert] if isinstance(bert, tuple) else []
    emb_stats: dict = {}

    def embed(mask: pl.Series) -> pl.DataFrame:
        rows = chunks.filter(mask)
        if rows.height == 0:  # nothing to embed: no model is loaded (e.g. an absent note source)
            dim = int(loaded[0][1].config.hidden_size) if loaded else NOTE_DIM
            return pl.DataFrame([embedding_series("embedding", np.zeros((0, dim), np.float32))])
        if not loaded:
            loaded.append(_loaded(bert, model, policy, pooling))
        tokenizer, bert_model, source = loaded[0]
        if weights_source is not None and source != weights_source:
            raise ClinfuseError(f"note model weights changed during the run: {weights_source} -> {source}")
        return pl.DataFrame([embedding_series("embedding", embed_chunks(
            rows, tokenizer, bert_model, dev, batch_size, pooling, stats=emb_stats, progress=progress))])

    start = time.perf_counter()
    keys = chunks.select(pl.col("text").fill_null(""))
    if cache is not None:
        keys = pl.DataFrame({"text_sha256": content_sha256(keys, "text")})
    vectors, counts = embed_cached(cache, shard or 0, keys, embed)
    if progress is not None and counts["cache_hits"]:
        progress.update(counts["cache_hits"])
    seconds = time.perf_counter() - start
    source = weights_source or (loaded[0][2] if loaded else NO_SOURCE)
    per_chunk = chunks.select(CHUNK_KEYS).with_columns(vectors["embedding"],
                                                        pl.lit(source, pl.String).alias("weights_source"))
    per_note = aggregate_per_note(per_chunk)
    tokenizer = loaded[0][0] if loaded else None
    stats = {
        "shard": shard, "chunks": per_chunk.height, "notes": per_note.height, **counts,
        "tokens": emb_stats.get("tokens", 0), "truncated_chunks": emb_stats.get("truncated_chunks", 0),
        "device": str(dev), "weights_source": source,
        "tokenizer_source": tokenizer_source(tokenizer) if tokenizer is not None else None,  # None: not loaded
        "pooling": pooling, "batch_size": batch_size, "dim": vectors["embedding"].dtype.size, "seconds": round(seconds, 3),
        "chunks_per_second": round(per_chunk.height / seconds, 2) if seconds > 0 and per_chunk.height else None,
    }
    if stats["truncated_chunks"]:
        log.warning("note embeddings shard %s: %d chunks longer than the model's input, truncated "
                    "(chunks made with another tokenizer?)", shard, stats["truncated_chunks"])
    log.info("note embeddings shard %s: %d chunks (%d from the cache), %d notes, %s, %.1f chunks/s", shard,
             stats["chunks"], counts["cache_hits"], stats["notes"], source, stats["chunks_per_second"] or 0.0)
    return NoteEmbeddings(per_chunk, per_note, stats)


def _loaded(bert, model: str, policy: str | None, pooling: Pooling) -> tuple:
    """The (tokenizer, model, weights_source) to use: `bert` itself, what it returns, or get_bert's."""
    if isinstance(bert, tuple):
        return bert
    return bert() if callable(bert) else get_bert(model, policy, pooling)


# ---------------------------------------------------------------- writing
