"""Clinical notes: line-boundary chunking, BERT embeddings, per-note and per-sample pooling (SPEC §4 items 5-6).

Pure Polars / NumPy / PyTorch functions, no Dagster (reference-pipelines.md §4.6, §7 items 22-23):

* `load_bert` / `get_bert` (offline; the project's weights policy), `load_tokenizer`, `train_wordpiece`;
* `chunk_notes` (<= 512 wordpieces with [CLS]/[SEP], on line boundaries, no chunk dropped);
* `embed_chunks` (pooler output as HAIM, or mean pooling);
* `aggregate_per_note`, `aggregate_per_sample` (strictly before the prediction time, time-weighted);
* `build_note_chunks`, `build_note_embeddings` (per shard, from the lake; pipelines/assets/notes.py writes them).
"""

from features.lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {
    "aggregate": (
        "NOTE_TYPES", "TIME_WEIGHTINGS", "aggregate_per_note", "aggregate_per_sample", "embedding_matrix"),
    "bert": ("BIO_CLINICALBERT_CONFIG", "POOLINGS", "embed_chunks", "get_bert", "load_bert"),
    "build": (
        "CHUNK_EMBEDDINGS_TABLE", "CHUNKS_TABLE", "NOTE_EMBEDDINGS_TABLE", "NoteChunks", "NoteEmbeddings",
        "build_note_chunks", "build_note_embeddings", "load_notes"),
    "chunks": ("CHUNK_SCHEMA", "chunk_notes"),
    "tokenizer": (
        "DEFAULT_MODEL", "fallback_tokenizer", "hf_hub_cache", "load_tokenizer", "resolve_model_source",
        "tokenizer_source", "train_wordpiece"),
})

__all__ = [
    "BIO_CLINICALBERT_CONFIG", "CHUNKS_TABLE", "CHUNK_EMBEDDINGS_TABLE", "CHUNK_SCHEMA", "DEFAULT_MODEL",
    "NOTE_EMBEDDINGS_TABLE", "NOTE_TYPES", "NoteChunks", "NoteEmbeddings", "POOLINGS", "TIME_WEIGHTINGS",
    "aggregate_per_note", "aggregate_per_sample", "build_note_chunks", "build_note_embeddings",
    "chunk_notes", "embed_chunks", "embedding_matrix", "fallback_tokenizer", "get_bert", "hf_hub_cache",
    "load_bert", "load_notes", "load_tokenizer", "resolve_model_source", "tokenizer_source", "train_wordpiece",
]
