"""Note chunks and embeddings on a small synthetic source with notes, through the lake and the catalog."""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl
import pytest

SHARDS = 2
HIDDEN = 32


def tiny_bert_dir(path) -> str:
    """A 2-layer, 32-wide random BERT with the built-in tokenizer, saved as a local model directory (what
    NotesConfig.model / CLINFUSE_NOTES_MODEL accept): CPU-sized for tests."""
    from transformers import BertConfig

    from features.notes.bert import random_bert
    from features.notes.tokenizer import fallback_tokenizer

    tok = fallback_tokenizer()
    config = BertConfig(vocab_size=len(tok), hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64)
    random_bert(config).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def _digests(home) -> dict[str, str]:
    out = {}
    for schema, table in (("features", "note_chunks"), ("embeddings", "notes_clinicalbert"),
                          ("embeddings", "notes_clinicalbert_notes")):
        for f in sorted(home.table_dir(schema, table).rglob("*.parquet")):
            out[str(f.relative_to(home.lake))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def _materialise(home, sources, model: str) -> dict:
    """The three tables through their Dagster assets; rows per table and the chunking counts."""
    from tests.graph import materialise

    meta = materialise(home, sources, 'key:"features/note_chunks" or key:"embeddings/notes_clinicalbert"',
                       shards=SHARDS, settings={"weights": "strict", "notes_model": model})["metadata"]
    return {"note_chunks": meta["features/note_chunks"]["chunks"],
            "empty_notes": meta["features/note_chunks"]["empty_notes"],
            "notes_clinicalbert": meta["embeddings/notes_clinicalbert"]["rows"],
            "notes_clinicalbert_notes": meta["embeddings/notes_clinicalbert_notes"]["rows"],
            "weights_source": meta["embeddings/notes_clinicalbert"]["weights_source"]}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from warehouse.ingest import ingest
    from warehouse.lake import Home
    from warehouse.sources import synthetic_sources
    from warehouse.synth import generate

    root = tmp_path_factory.mktemp("synth-notes")
    generate(root / "src", patients=20, seed=5, images=False, notes=True)
    home = Home.open(root / "home")
    ingest(home, synthetic_sources(root / "src"), shards=SHARDS)
    model = tiny_bert_dir(root / "tiny-bert")
    first = _materialise(home, synthetic_sources(root / "src"), model)
    digests = _digests(home)
    second = _materialise(home, synthetic_sources(root / "src"), model)
    return home, first, second, digests


def _sql(home, query: str) -> pl.DataFrame:
    from warehouse.lake import catalog

    with catalog(home, write=False) as con:
        return con.sql(query).pl()


def test_a_chunk_for_every_non_empty_note(built):
    home, first, *_ = built
    notes = _sql(home, "SELECT note_id, text FROM raw.note_discharge UNION ALL SELECT note_id, text FROM raw.note_radiology")
    assert notes.height > 0
    chunked = _sql(home, "SELECT DISTINCT note_id FROM features.note_chunks")
    non_empty = notes.filter(pl.col("text").str.strip_chars().str.len_chars().fill_null(0) > 0)
    assert set(chunked["note_id"]) == set(non_empty["note_id"])
    assert first["empty_notes"] == notes.height - non_empty.height
    stats = _sql(home, "SELECT max(n_wordpieces) AS mx, min(n_wordpieces) AS mn, count(*) AS n, "
                       "count(DISTINCT source) AS sources FROM features.note_chunks").row(0, named=True)
    assert stats["mx"] <= 510 and stats["mn"] > 0 and stats["n"] == first["note_chunks"]
    assert stats["sources"] == 2
    gaps = _sql(home, "SELECT note_id FROM features.note_chunks GROUP BY note_id "
                      "HAVING max(chunk_index) + 1 <> count(*) OR min(chunk_index) <> 0")
    assert gaps.height == 0


def test_embeddings_have_the_model_width_and_no_nan(built):
    home, first, *_ = built
    per_chunk = _sql(home, "SELECT note_id, chunk_index, embedding, weights_source FROM embeddings.notes_clinicalbert")
    per_note = _sql(home, "SELECT note_id, n_chunks, embedding, weights_source FROM embeddings.notes_clinicalbert_notes")
    assert per_chunk.height == first["note_chunks"] == first["notes_clinicalbert"]
    assert per_note.height == first["notes_clinicalbert_notes"] == _sql(
        home, "SELECT count(DISTINCT note_id) AS n FROM features.note_chunks")["n"][0]
    for frame in (per_chunk, per_note):
        assert frame["embedding"].list.len().unique().to_list() == [HIDDEN]
        matrix = np.stack(frame["embedding"].to_list())
        assert np.isfinite(matrix).all() and np.abs(matrix).sum() > 0
        assert frame["weights_source"].unique().to_list() == [first["weights_source"]]
        assert first["weights_source"].startswith("local:") and first["weights_source"].endswith("tiny-bert")
    assert per_note["n_chunks"].sum() == per_chunk.height


def test_rebuild_gives_the_same_bytes(built):
    home, first, second, digests = built
    assert digests and _digests(home) == digests
    assert first == second


def test_per_sample_vectors_on_admissions(built):
    from features.notes.aggregate import aggregate_per_sample

    home, *_ = built
    notes = _sql(home, "SELECT * EXCLUDE (shard) FROM embeddings.notes_clinicalbert_notes")
    samples = _sql(home, "SELECT row_number() OVER (ORDER BY hadm_id) AS sample_id, subject_id, hadm_id, admittime, "
                         "dischtime + INTERVAL 1 DAY AS prediction_time FROM raw.hosp_admissions")
    out = aggregate_per_sample(notes, samples)
    assert out.height == samples.height
    assert out["has_discharge"].sum() > 0 and out["has_radiology"].sum() > 0
    for t in ("discharge", "radiology"):
        matrix = out[f"{t}_embedding"].to_numpy()
        assert matrix.shape == (samples.height, HIDDEN) and np.isfinite(matrix).all()
        assert (np.abs(matrix).sum(axis=1) > 0).astype(int).tolist() == out[f"has_{t}"].to_list()
    used = out.filter(pl.col("asof_time").is_not_null())
    assert (used["asof_time"] < used["prediction_time"]).all()
