"""One named-weights registry for loading and `clinfuse doctor`: doctor reports a model present exactly when its
loader would use the pretrained weights (a cached config.json alone is not enough)."""

from __future__ import annotations

import pytest

from clinfuse.doctor import _weights_lines
from features.notes.bert import load_bert
from features.weights import WEIGHTS, WeightsUnavailable, lookup_weights

BERT = "emilyalsentzer/Bio_ClinicalBERT"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """An offline Hugging Face hub cache holding a Bio_ClinicalBERT snapshot with only its config and vocabulary."""
    cache = tmp_path / "hub"
    repo = cache / "models--emilyalsentzer--Bio_ClinicalBERT"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    (snapshot / "config.json").write_text('{"model_type": "bert", "hidden_size": 768}')
    (snapshot / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"]))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return snapshot


def _bert_line() -> str:
    return next(line for line in _weights_lines() if BERT in line)


def test_every_loader_registers_its_weights():
    _weights_lines()  # imports the loaders
    assert {"densenet121-res224-chex", BERT, "resnet34-IMAGENET1K_V1"} <= set(WEIGHTS)
    with pytest.raises(Exception, match="no registered weights"):
        lookup_weights("nope")


def test_doctor_says_missing_when_loading_would_fail(hf_cache):
    assert not lookup_weights(BERT).present
    assert "MISSING" in _bert_line() and "model.safetensors" in _bert_line()
    with pytest.raises(WeightsUnavailable):
        load_bert(BERT, "strict")


def test_doctor_says_present_when_the_weight_file_is_there(hf_cache):
    (hf_cache / "model.safetensors").write_bytes(b"")
    found = lookup_weights(BERT)
    assert found.present and found.where == str(hf_cache)
    assert "present" in _bert_line()
