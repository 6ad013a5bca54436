"""The persistent embedding cache: an item is embedded once per model identity, and the tables built from the
cache equal a build without it (CPU: exactly)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
import torchxrayvision as xrv

import features.notes.build as notes_build
from features import embed_cache
from features.cxr import densenet as dn
from features.cxr.tensors import tensor_frame
from features.embed_cache import EmbeddingCache, content_sha256, embed_cached
from features.notes.bert import bert_identity, get_bert, random_bert
from features.notes.chunks import chunk_notes
from features.notes.tokenizer import train_wordpiece
from warehouse.lake import Home

FILE = "chex-densenet121-d121-tw-lr001-rot45-tr15-sc15-seed0-best.pt"


@pytest.fixture
def home(tmp_path) -> Home:
    return Home.open(tmp_path / "home")


def _vectors(values: list[float]) -> pl.DataFrame:
    return pl.DataFrame({"v": pl.Series([[x, -x] for x in values], dtype=pl.Array(pl.Float32, 2))})


# ---------------------------------------------------------------- the cache itself


def test_lookup_keeps_row_order_and_embeds_only_misses(home):
    cache = EmbeddingCache(home, "toy", {"model": "a"}, key=["k"], vectors=["v"])
    calls = []

    def embedder(keys):
        def embed(mask):
            ks = keys.filter(mask)["k"].to_list()
            calls.append(ks)
            return _vectors([float(ord(k)) for k in ks])
        return embed

    keys = pl.DataFrame({"k": ["c", "a", "b", "d"]})
    first, counts = embed_cached(cache, 0, keys.head(2), embedder(keys.head(2)))
    assert counts == {"cache_hits": 0, "cache_misses": 2} and calls == [["c", "a"]]
    second, counts = embed_cached(cache, 0, keys, embedder(keys))
    assert counts == {"cache_hits": 2, "cache_misses": 2} and calls[-1] == ["b", "d"]
    assert second.equals(_vectors([float(ord(k)) for k in "cabd"]))
    third, counts = embed_cached(cache, 0, keys, embedder(keys))
    assert counts == {"cache_hits": 4, "cache_misses": 0} and len(calls) == 2 and third.equals(second)
    _, counts = embed_cached(cache, 1, keys.head(1), embedder(keys.head(1)))
    assert counts["cache_misses"] == 1  # shards are looked up in their own folder
    empty, counts = embed_cached(cache, 2, keys.clear(), embedder(keys.clear()))
    assert empty.height == 0 and empty.schema == second.schema and counts == {"cache_hits": 0, "cache_misses": 0}


def test_another_identity_is_another_folder(home):
    a = EmbeddingCache(home, "toy", {"model": "a"}, key=["k"], vectors=["v"])
    b = EmbeddingCache(home, "toy", {"model": "b"}, key=["k"], vectors=["v"])
    a.append(0, pl.concat([pl.DataFrame({"k": ["x"]}), _vectors([1.0])], how="horizontal"))
    assert a.root != b.root and b.lookup(0, pl.DataFrame({"k": ["x"]})) is None
    assert '"model": "a"' in (a.root / "identity.json").read_text()


def test_a_failed_write_leaves_no_file(home, monkeypatch):
    cache = EmbeddingCache(home, "toy", {"model": "a"}, key=["k"], vectors=["v"])
    entries = pl.concat([pl.DataFrame({"k": ["x"]}), _vectors([1.0])], how="horizontal")

    def half_then_fail(self, path, **_kwargs):
        with open(path, "wb") as handle:
            handle.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        cache.append(0, entries)
    assert list(cache.shard_dir(0).iterdir()) == []
    monkeypatch.undo()
    # a SIGKILLed writer leaves its hidden temporary file: never read, and removed once stale
    leftover = cache.shard_dir(0) / ".part-1.parquet.tmp-dead"
    leftover.write_bytes(b"PAR1 half a file")
    assert cache.lookup(0, pl.DataFrame({"k": ["x"]})) is None
    monkeypatch.setattr(embed_cache, "STALE_TMP_S", -1.0)
    cache.append(0, entries)
    assert not leftover.exists() and cache.lookup(0, pl.DataFrame({"k": ["x"]}))["v"].equals(entries["v"])


def test_compaction_merges_files_and_keeps_every_entry(home, monkeypatch):
    monkeypatch.setattr(embed_cache, "COMPACT_AT", 3)
    cache = EmbeddingCache(home, "toy", {"model": "a"}, key=["k"], vectors=["v"])
    for i in range(5):
        cache.append(0, pl.concat([pl.DataFrame({"k": [f"k{i}"]}), _vectors([float(i)])], how="horizontal"))
    assert len(cache.files(0)) < 5
    keys = pl.DataFrame({"k": [f"k{i}" for i in range(5)]})
    assert cache.lookup(0, keys)["v"].equals(_vectors([0.0, 1.0, 2.0, 3.0, 4.0])["v"])


def test_content_sha256_is_per_row_and_ordered():
    frame = pl.DataFrame({"t": ["b", "a", "b"]})
    sha = content_sha256(frame, "t").to_list()
    assert sha[0] == sha[2] != sha[1] and len(sha[0]) == 64


# ---------------------------------------------------------------- chest X-ray embeddings


def _tensors(n: int, first: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(first)
    plain = rng.integers(0, 256, (n, 224, 224), dtype=np.uint8)
    keys = pl.DataFrame({"dicom_id": [f"d{i}" for i in range(first, first + n)],
                         "subject_id": list(range(first, first + n)), "study_id": [5] * n,
                         "study_datetime": [None] * n, "view_position": ["AP"] * n})
    return tensor_frame(keys, np.arange(n), 255 - plain, plain)


@pytest.fixture(scope="module")
def densenet(tmp_path_factory):
    return dn.load_densenet("auto", tmp_path_factory.mktemp("no-weights"))


def _counting(monkeypatch, module, name: str) -> list[int]:
    """Replace module.name (called with the items to embed first) by a wrapper that records how many it gets."""
    count: list[int] = []
    real = getattr(module, name)
    monkeypatch.setattr(module, name, lambda items, *a, **k: count.append(len(items)) or real(items, *a, **k))
    return count


@pytest.fixture
def embedded(monkeypatch):
    """How many images went through the network (every forward pass goes through embed_arrays)."""
    return _counting(monkeypatch, dn, "embed_arrays")


def test_cxr_second_build_embeds_nothing_and_loads_no_model(home, densenet, embedded, tmp_path):
    identity, source = dn.densenet_identity("auto", tmp_path / "no-weights", device="cpu")
    loads = []

    def loader():
        loads.append(1)
        return densenet

    tensors = _tensors(3)
    reference, _ = dn.build_embeddings(tensors, device="cpu", model=densenet)
    first, stats = dn.build_embeddings(tensors, device="cpu", model=loader, cache=dn.densenet_cache(home, identity),
                                       weights_source=source)
    assert (stats["cache_hits"], stats["cache_misses"], sum(embedded), len(loads)) == (0, 3, 6, 1)
    again, stats = dn.build_embeddings(tensors, device="cpu", model=loader, cache=dn.densenet_cache(home, identity),
                                       weights_source=source)
    assert (stats["cache_hits"], stats["cache_misses"], sum(embedded), len(loads)) == (3, 0, 6, 1)
    assert first.equals(reference) and again.equals(reference)
    assert again.schema == pl.Schema(dn.EMBEDDING_SCHEMA)


def test_cxr_new_and_changed_images_are_the_only_ones_embedded(home, densenet, embedded, tmp_path):
    identity, source = dn.densenet_identity("auto", tmp_path / "no-weights", device="cpu")
    cache = dn.densenet_cache(home, identity)
    dn.build_embeddings(_tensors(3), device="cpu", model=densenet, cache=cache, weights_source=source)
    embedded.clear()
    grown = pl.concat([_tensors(3), _tensors(1, first=3)])
    frame, stats = dn.build_embeddings(grown, device="cpu", model=densenet, cache=cache, weights_source=source)
    assert stats["cache_misses"] == 1 and embedded == [1]
    _assert_same_embeddings(frame, dn.build_embeddings(grown, device="cpu", model=densenet)[0])
    # the same dicom_id with other pixels (a replaced file, or changed preprocessing) is embedded again
    changed = grown.with_columns(pl.when(pl.col("dicom_id") == "d1").then(pl.col("clahe")).otherwise(pl.col("plain"))
                                 .alias("plain"))
    embedded.clear()
    frame, stats = dn.build_embeddings(changed, device="cpu", model=densenet, cache=cache, weights_source=source)
    assert stats["cache_misses"] == 1 and embedded == [1]
    _assert_same_embeddings(frame, dn.build_embeddings(changed, device="cpu", model=densenet)[0])


def _assert_same_embeddings(cached: pl.DataFrame, scratch: pl.DataFrame) -> None:
    """Same rows, order and dtypes; vectors equal to float32 rounding. oneDNN picks its convolution kernel by
    batch size, so an image embedded in a batch of 1 (the one new image) differs from the same image in a batch
    of 4 in the last bits (seen: 4e-4 on values up to 5e3) -- the cache cannot be more exact than that."""
    assert cached.schema == scratch.schema
    vectors = ["dense", "pathologies"]
    assert cached.drop(vectors).equals(scratch.drop(vectors))
    for column in vectors:
        a, b = cached[column].to_numpy(), scratch[column].to_numpy()
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * float(np.abs(b).max()))


def test_cxr_identity_follows_the_weights_file_and_the_input(tmp_path, monkeypatch):
    monkeypatch.setattr(xrv.utils, "download", lambda *_: pytest.fail("tried to download"))
    folder = tmp_path / "models_data"
    folder.mkdir()
    random_init, source = dn.densenet_identity("auto", folder, device="cpu")
    assert source == "random-init" and random_init["weights"] == "random-init seed 0"
    (folder / FILE).write_bytes(b"weights v1")
    v1, source = dn.densenet_identity("strict", folder, device="cpu")
    assert source.startswith("torchxrayvision:") and v1["weights"] != random_init["weights"]
    (folder / FILE).write_bytes(b"weights v2")  # same path, same size, other content
    v2, _ = dn.densenet_identity("strict", folder, device="cpu")
    assert v2["weights"] != v1["weights"]
    assert dn.densenet_identity("strict", folder, use_clahe=True, device="cpu")[0] != v2
    home = Home.open(tmp_path / "home")
    assert dn.densenet_cache(home, v1).root != dn.densenet_cache(home, v2).root


# ---------------------------------------------------------------- note chunk embeddings


CORPUS = ["Patient admitted with septic shock, intubated; bilateral opacities.",
          "No acute cardiopulmonary process. Small left pleural effusion."] * 4


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    from transformers import BertConfig

    tok = train_wordpiece(CORPUS, vocab_size=200)
    folder = tmp_path_factory.mktemp("tiny-bert")
    tok.save_pretrained(folder)
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    random_bert(config, seed=1).save_pretrained(folder)
    return folder


def _chunks(texts: list[str], tokenizer) -> pl.DataFrame:
    n = len(texts)
    notes = pl.DataFrame({"note_id": [f"n{i // 2}" for i in range(n)], "subject_id": [10 + i // 2 for i in range(n)],
                          "hadm_id": [200] * n, "note_type": ["DS"] * n,
                          "charttime": [dt.datetime(2150, 1, 1, i) for i in range(n)], "text": texts},
                         schema_overrides={"hadm_id": pl.Int64})
    return chunk_notes(notes, tokenizer, 16)


@pytest.fixture
def chunks_embedded(monkeypatch):
    """How many chunks went through the model."""
    return _counting(monkeypatch, notes_build, "embed_chunks")


def test_notes_embed_each_chunk_text_once(home, bert_dir, chunks_embedded):
    bert = get_bert(str(bert_dir), "strict")
    identity, source = bert_identity(str(bert_dir), "strict", device="cpu")
    texts = ["no acute process " * 6, "septic shock intubated", "small left pleural effusion " * 3, "opacities"]
    chunks = _chunks(texts, bert[0])

    def build(frame, cache=True):
        return notes_build.build_note_embeddings(home, chunks=frame, bert=bert, device="cpu", batch_size=2,
                                                 cache=notes_build.notes_cache(home, identity) if cache else None,
                                                 weights_source=source if cache else None)

    reference = build(chunks, cache=False)
    chunks_embedded.clear()
    first = build(chunks)
    again = build(chunks)
    assert chunks_embedded == [chunks.height] and again.stats["cache_hits"] == chunks.height
    for built in (first, again):
        assert built.chunks.equals(reference.chunks) and built.notes.equals(reference.notes)
    # one more note and one changed chunk text: only those chunks are embedded
    grown = _chunks([*texts[:3], "opacities resolved", "pleural effusion new"], bert[0])
    new_texts = set(grown["text"]) - set(chunks["text"])
    chunks_embedded.clear()
    built = build(grown)
    assert chunks_embedded == [len(new_texts)] and built.stats["cache_misses"] == len(new_texts)
    scratch = build(grown, cache=False)
    assert built.chunks.equals(scratch.chunks) and built.notes.equals(scratch.notes)


def test_notes_identity_follows_model_files_and_pooling(bert_dir, tmp_path):
    import shutil

    base, _ = bert_identity(str(bert_dir), "strict", device="cpu")
    assert bert_identity(str(bert_dir), "strict", "mean", device="cpu")[0] != base
    copy = tmp_path / "copy"
    shutil.copytree(bert_dir, copy)
    moved, _ = bert_identity(str(copy), "strict", device="cpu")
    assert moved["files"] == base["files"]  # the same weights elsewhere: the same vectors
    (copy / "config.json").write_text((copy / "config.json").read_text().replace('"hidden_act": "gelu"',
                                                                                '"hidden_act": "relu"'))
    assert bert_identity(str(copy), "strict", device="cpu")[0]["files"] != base["files"]
    random_l1, source = bert_identity("random-init:L1", "strict", device="cpu")
    assert source == "random-init:L1" and random_l1 != bert_identity("random-init:L2", "strict", device="cpu")[0]
