"""Loading BERT offline (local directory, Hugging Face cache layout, strict and auto policies) and
embedding chunks with a tiny model."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from transformers import BertConfig

from features.notes.bert import embed_chunks, get_bert, load_bert, random_bert
from features.notes.tokenizer import hf_hub_cache, tokenizer_source, train_wordpiece
from features.weights import RANDOM_INIT, WeightsUnavailable
from warehouse.lake import ClinfuseError

CORPUS = ["Patient admitted with septic shock, intubated; bilateral opacities.",
          "No acute cardiopulmonary process. Small left pleural effusion.",
          "History of COPD and atrial fibrillation on apixaban 5 mg PO BID."] * 4
TEXTS = ["No acute process.", "Patient admitted with septic shock.\nIntubated on day 1.",
         "bilateral opacities " * 40, "", "COPD", "effusion " * 7]
REPO = "clinfuse-test/tiny-bert"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _tiny_config(vocab_size: int) -> BertConfig:
    return BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=128)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tokenizer trained with `tokenizers` and a tiny random BertModel, saved with save_pretrained."""
    tok = train_wordpiece(CORPUS, vocab_size=300)
    d = tmp_path_factory.mktemp("tiny-bert")
    tok.save_pretrained(d)
    random_bert(_tiny_config(len(tok)), seed=1).save_pretrained(d)
    return d


@pytest.fixture
def empty_hf(tmp_path, monkeypatch):
    """An empty Hugging Face cache and no network."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "hf"


def _fake_cache(root, model_dir, files=None):
    """huggingface_hub's layout: models--org--name/{refs/main, snapshots/<commit>/...}."""
    repo = root / ("models--" + REPO.replace("/", "--"))
    snap = repo / "snapshots" / COMMIT
    snap.mkdir(parents=True)
    for f in model_dir.iterdir():
        if files is None or f.name in files:
            shutil.copy(f, snap / f.name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    return snap


def test_load_by_path_strict(model_dir, empty_hf):
    tok, model, source = load_bert(str(model_dir), policy="strict")
    assert source == f"local:{model_dir.resolve()}"
    assert model.config.hidden_size == 32 and not model.training
    assert tokenizer_source(tok) == source
    emb = embed_chunks(TEXTS, tok, model, "cpu", batch_size=4)
    assert emb.shape == (len(TEXTS), 32) and emb.dtype == np.float32 and np.isfinite(emb).all()


def test_load_by_id_from_the_hub_cache_layout(model_dir, empty_hf, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert hf_hub_cache() == tmp_path / "hub"
    _fake_cache(tmp_path / "hub", model_dir)
    tok, model, source = load_bert(REPO, policy="strict")
    assert source == f"{REPO}@{COMMIT}"
    ref_tok, ref_model, _ = load_bert(str(model_dir), policy="strict")
    np.testing.assert_array_equal(embed_chunks(TEXTS, tok, model, "cpu"), embed_chunks(TEXTS, ref_tok, ref_model, "cpu"))


def test_hf_home_is_read_at_call_time(model_dir, empty_hf):
    _fake_cache(empty_hf / "hub", model_dir)
    assert load_bert(REPO, policy="strict")[2] == f"{REPO}@{COMMIT}"


def test_strict_without_weights_says_how_to_provide_them(empty_hf):
    with pytest.raises(WeightsUnavailable) as err:
        load_bert(REPO, policy="strict")
    msg = str(err.value)
    assert "HF_HOME" in msg and "huggingface-cli download" in msg and "save_pretrained" in msg
    with pytest.raises(WeightsUnavailable):
        load_bert(str(empty_hf / "no-such-dir"), policy="strict")


def test_auto_without_weights_is_random_init_of_bio_clinicalbert_shape(empty_hf):
    tok, model, source = load_bert("emilyalsentzer/Bio_ClinicalBERT", policy="auto", pooling="mean")
    assert source == RANDOM_INIT
    cfg = model.config
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads, cfg.vocab_size) == (12, 768, 12, 28996)
    assert tokenizer_source(tok).startswith("builtin-corpus-")
    assert len(tok) <= cfg.vocab_size


def test_auto_keeps_a_cached_tokenizer_and_config_without_weights(model_dir, empty_hf):
    _fake_cache(empty_hf / "hub", model_dir, files={"config.json", "tokenizer.json", "tokenizer_config.json"})
    tok, model, source = load_bert(REPO, policy="auto")
    assert source == RANDOM_INIT and model.config.hidden_size == 32
    assert tokenizer_source(tok).startswith(f"{REPO}@{COMMIT}")
    again = load_bert(REPO, policy="auto")  # seeded: the same weights on every run
    np.testing.assert_array_equal(embed_chunks(TEXTS, tok, model, "cpu"), embed_chunks(TEXTS, again[0], again[1], "cpu"))
    with pytest.raises(WeightsUnavailable):
        load_bert(REPO, policy="strict")


def test_pooler_and_mean_differ_and_have_the_hidden_size(model_dir):
    tok, model, _ = load_bert(str(model_dir), policy="strict")
    pooled = embed_chunks(TEXTS, tok, model, "cpu", pooling="pooler")
    mean = embed_chunks(TEXTS, tok, model, "cpu", pooling="mean")
    assert pooled.shape == mean.shape == (len(TEXTS), 32)
    assert not np.allclose(pooled, mean)
    assert np.abs(pooled).max() <= 1.0  # tanh


def test_batched_equals_one_by_one_and_is_deterministic(model_dir):
    tok, model, _ = load_bert(str(model_dir), policy="strict")
    for pooling in ("pooler", "mean"):
        batched = embed_chunks(TEXTS, tok, model, "cpu", batch_size=4, pooling=pooling)
        single = np.stack([embed_chunks([t], tok, model, "cpu", batch_size=1, pooling=pooling)[0] for t in TEXTS])
        np.testing.assert_allclose(batched, single, atol=1e-5)
        np.testing.assert_array_equal(batched, embed_chunks(TEXTS, tok, model, "cpu", batch_size=4, pooling=pooling))
    # input order restored after the length sort
    rev = embed_chunks(TEXTS[::-1], tok, model, "cpu", batch_size=4)
    np.testing.assert_allclose(rev[::-1], embed_chunks(TEXTS, tok, model, "cpu", batch_size=4), atol=1e-5)


def test_checkpoint_without_pooler(tmp_path):
    tok = train_wordpiece(CORPUS, vocab_size=200)
    tok.save_pretrained(tmp_path)
    random_bert(_tiny_config(len(tok)), pooling="mean").save_pretrained(tmp_path)
    with pytest.raises(ClinfuseError, match="pooler"):
        load_bert(str(tmp_path), policy="strict", pooling="pooler")
    tok, model, _ = load_bert(str(tmp_path), policy="strict", pooling="mean")
    assert embed_chunks(["effusion"], tok, model, "cpu", pooling="mean").shape == (1, 32)
    with pytest.raises(ClinfuseError, match="pooler"):
        embed_chunks(["effusion"], tok, model, "cpu", pooling="pooler")


def test_wordpiece_training_is_deterministic():
    a, b = train_wordpiece(CORPUS, vocab_size=250), train_wordpiece(list(CORPUS), vocab_size=250)
    assert a.get_vocab() == b.get_vocab() and tokenizer_source(a) == tokenizer_source(b)
    assert len(a) == 250
    assert "[UNK]" not in a.tokenize("Septic shock 12.5 mg/dL (stable) ~")


def test_one_instance_per_run(model_dir):
    assert get_bert(str(model_dir), "strict") is get_bert(str(model_dir), "strict")


def test_empty_input_and_bad_arguments(model_dir):
    tok, model, _ = load_bert(str(model_dir), policy="strict")
    assert embed_chunks([], tok, model, "cpu").shape == (0, 32)
    with pytest.raises(ValueError):
        embed_chunks(TEXTS, tok, model, "cpu", batch_size=0)
    with pytest.raises(ValueError):
        load_bert(str(model_dir), policy="strict", pooling="max")  # type: ignore[arg-type]
    assert torch.is_inference_mode_enabled() is False


def test_checkpoint_laid_out_like_bio_clinicalbert(tmp_path):
    """The real repository holds config.json, vocab.txt (no tokenizer.json) and a BertForPreTraining
    pytorch_model.bin (keys prefixed 'bert.', plus the 'cls.' heads)."""
    from transformers import BertForPreTraining

    tok = train_wordpiece(CORPUS, vocab_size=220)
    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    (tmp_path / "vocab.txt").write_text("".join(f"{t}\n" for t, _ in vocab))
    config = _tiny_config(len(vocab))
    torch.manual_seed(3)
    full = BertForPreTraining(config).eval()
    config.save_pretrained(tmp_path)
    torch.save(full.state_dict(), tmp_path / "pytorch_model.bin")
    loaded_tok, model, source = load_bert(str(tmp_path), policy="strict")
    assert source == f"local:{tmp_path.resolve()}"
    assert loaded_tok.tokenize("septic shock") == tok.tokenize("septic shock")
    ids = torch.tensor([loaded_tok("septic shock")["input_ids"]])
    with torch.inference_mode():
        expected = full.bert(input_ids=ids).pooler_output.numpy()
    np.testing.assert_allclose(embed_chunks(["septic shock"], loaded_tok, model, "cpu"), expected, atol=1e-5)


def test_explicit_random_model_with_fewer_layers():
    """`random-init:L1`: Bio_ClinicalBERT's widths, one layer; recorded as such, policy irrelevant."""
    from features.notes.bert import load_bert

    tok, model, source = load_bert("random-init:L1", policy="strict")
    assert source == "random-init:L1"
    assert model.config.num_hidden_layers == 1 and model.config.hidden_size == 768
    assert len(tok) > 1000
