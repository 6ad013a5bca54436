"""Load a BERT-family encoder offline and embed note chunks with it (reference §4.6, SPEC §4 item 6).

`load_bert` reads the model from a local directory or the Hugging Face cache, never the network
(`features.notes.tokenizer.resolve_model_source`). The weights policy is the project's one policy
(`features.weights`): strict -> `WeightsUnavailable` with instructions; auto -> a randomly initialised
BERT of Bio_ClinicalBERT's architecture (seeded, so reruns give the same bytes) with the checkpoint's
own tokenizer when its vocabulary is cached, else the deterministic fallback tokenizer; the returned
`weights_source` is then `random-init` and the tokenizer's provenance is `tokenizer_source(tokenizer)`.

`embed_chunks` gives one vector per chunk: `pooler_output` (tanh dense on [CLS], as HAIM) by default,
or the mean of the last hidden states over the non-padding tokens ([CLS]/[SEP] included).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl

from features.device import autocast, resolve_device
from features.embed_cache import files_digest
from features.notes._corpus import BUILTIN_CORPUS_VERSION
from features.notes.tokenizer import (
    DEFAULT_MODEL,
    FALLBACK_VOCAB_SIZE,
    backend_copy,
    fallback_tokenizer,
    hf_hub_cache,
    how_to_provide,
    load_pretrained_tokenizer,
    pad_token_id,
    random_layers,
    resolve_model_source,
    tokenizer_source,
)
from features.weights import (
    RANDOM_INIT,
    NamedWeights,
    WeightsLookup,
    missing_weights,
    register_weights,
    weights_policy,
)
from warehouse.lake import ClinfuseError

if TYPE_CHECKING:  # torch is imported where it runs: loading the graph must not import it
    import torch

log = logging.getLogger(__name__)

Pooling = Literal["pooler", "mean"]
POOLINGS: tuple[str, ...] = ("pooler", "mean")

# emilyalsentzer/Bio_ClinicalBERT's config.json: BERT-base, cased BioBERT vocabulary of 28,996 wordpieces.
BIO_CLINICALBERT_CONFIG = {
    "vocab_size": 28996, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
    "intermediate_size": 3072, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512, "type_vocab_size": 2,
    "initializer_range": 0.02, "layer_norm_eps": 1e-12,
}
RANDOM_INIT_SEED = 0
EMBEDDING_CODE_VERSION = "1"  # bump when embed_chunks changes what a chunk's vector is


def _check_pooling(pooling: str) -> None:
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")


def random_bert(config, pooling: Pooling = "pooler", seed: int = RANDOM_INIT_SEED):
    """A BertModel with freshly initialised weights, the same for the same config and seed."""
    import torch
    from transformers import BertModel

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertModel(config, add_pooling_layer=pooling == "pooler")
    return model.eval()


BERT_NEEDS = "config.json, model.safetensors or pytorch_model.bin, tokenizer.json or vocab.txt"


def loadable(src) -> bool:
    """Everything load_bert needs to use pretrained weights: the config, a weights file and a vocabulary."""
    return src.has_weights and src.has_tokenizer


def bert_weights_lookup(model: str = DEFAULT_MODEL, revision: str | None = None) -> WeightsLookup:
    """load_bert's own offline lookup of `model` (a local directory or the Hugging Face cache)."""
    src = resolve_model_source(model, revision)
    return WeightsLookup(loadable(src), str(src.path or hf_hub_cache()), BERT_NEEDS)


register_weights(NamedWeights(DEFAULT_MODEL, "transformers", "features/note_chunks, embeddings/notes_clinicalbert",
                              bert_weights_lookup))


def bert_weights(model: str = DEFAULT_MODEL, policy: str | None = None, revision: str | None = None):
    """load_bert's decision, taken without loading anything: (the resolved ModelSource, None for an explicit
    `random-init:L<n>`; weights_source). Strict without the weights raises WeightsUnavailable."""
    pol = weights_policy(policy)
    layers = random_layers(model)
    if layers is not None:
        return None, f"{RANDOM_INIT}:L{layers}"
    src = resolve_model_source(model, revision)
    if loadable(src):
        return src, src.label
    what = f"BERT model {model!r}" if not src.has_weights else f"tokenizer of BERT model {model!r}"
    return src, missing_weights(what, how_to_provide(model), pol)


def load_bert(
    model: str = DEFAULT_MODEL,
    policy: str | None = None,
    pooling: Pooling = "pooler",
    *,
    revision: str | None = None,
    seed: int = RANDOM_INIT_SEED,
):
    """(tokenizer, model, weights_source) for a BERT-family checkpoint id or local directory, offline.

    weights_source: '<repo id>@<snapshot commit>' for a cached hub model, 'local:<dir>' for a directory,
    'random-init' for the auto fallback. The model is in eval mode, float32, on the CPU.
    """
    _check_pooling(pooling)
    src, weights_source = bert_weights(model, policy, revision)
    if src is None:
        from transformers import BertConfig

        tok = fallback_tokenizer()
        config = BertConfig(**{**BIO_CLINICALBERT_CONFIG, "num_hidden_layers": random_layers(model)})
        config.vocab_size = max(int(config.vocab_size), len(tok))
        return tok, random_bert(config, pooling, seed), weights_source
    if loadable(src):
        import torch
        from transformers import AutoModel

        tok = load_pretrained_tokenizer(src.path, src.label)
        try:
            bert, info = AutoModel.from_pretrained(
                str(src.path), local_files_only=True, output_loading_info=True, dtype=torch.float32,
                add_pooling_layer=pooling == "pooler")
        except (OSError, ValueError, TypeError) as exc:
            raise ClinfuseError(f"{src.label}: could not load the model ({type(exc).__name__}: {exc})") from None
        missing = list(info.get("missing_keys") or [])
        if pooling == "pooler" and any("pooler" in k for k in missing):
            raise ClinfuseError(f"{src.label}: the checkpoint has no pooler weights; use pooling='mean'")
        non_pooler = [k for k in missing if "pooler" not in k]
        if non_pooler:
            raise ClinfuseError(f"{src.label}: {len(non_pooler)} weights missing from the checkpoint "
                                f"(e.g. {non_pooler[0]}): not a BERT-family encoder checkpoint?")
        log.info("loaded %s (%d parameters)", src.label, sum(p.numel() for p in bert.parameters()))
        return tok, bert.eval(), weights_source

    from transformers import BertConfig

    if src.has_tokenizer:  # vocabulary cached without the weights: keep the checkpoint's own wordpieces
        tok = load_pretrained_tokenizer(src.path, f"{src.label} (tokenizer only)")
    else:
        tok = fallback_tokenizer()
    if src.has_config and not src.has_weights:
        config = BertConfig.from_pretrained(str(src.path))
    else:
        config = BertConfig(**BIO_CLINICALBERT_CONFIG)
    config.vocab_size = max(int(config.vocab_size), len(tok))
    bert = random_bert(config, pooling, seed)
    log.info("weights for %s not found offline: random-init BERT (%d layers, hidden %d), tokenizer %s",
             model, config.num_hidden_layers, config.hidden_size, tokenizer_source(tok))
    return tok, bert, weights_source


def bert_identity(
    model: str = DEFAULT_MODEL,
    policy: str | None = None,
    pooling: Pooling = "pooler",
    *,
    revision: str | None = None,
    device: str = "auto",
    seed: int = RANDOM_INIT_SEED,
) -> tuple[dict, str]:
    """(what a chunk's vector depends on besides its text, weights_source), without loading the model: the
    model id, the sha256 of the files load_bert reads (weights, config and vocabulary, which also fix the
    maximum input length), or for a random-init model its config, seed and the fallback tokenizer's corpus;
    the pooling, the device type (GPUs run under autocast), library versions and EMBEDDING_CODE_VERSION."""
    _check_pooling(pooling)
    src, weights_source = bert_weights(model, policy, revision)
    files = sorted(p for p in src.path.iterdir() if p.is_file()) if src is not None and src.path else []
    random = weights_source.startswith(RANDOM_INIT)
    import tokenizers
    import torch
    import transformers

    return {"model": model, "revision": revision, "weights_source": weights_source,
            "files": files_digest(files) if files else None,
            "random_init": {"config": BIO_CLINICALBERT_CONFIG, "seed": seed,
                            "fallback_tokenizer": [BUILTIN_CORPUS_VERSION, FALLBACK_VOCAB_SIZE]} if random else None,
            "pooling": pooling, "device": resolve_device(device).type, "torch": torch.__version__,
            "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "code": EMBEDDING_CODE_VERSION}, weights_source


@lru_cache(maxsize=2)
def _cached_bert(model: str, policy: str, pooling: str, revision: str | None):
    return load_bert(model, policy, pooling, revision=revision)  # type: ignore[arg-type]


def get_bert(model: str = DEFAULT_MODEL, policy: str | None = None, pooling: Pooling = "pooler",
             revision: str | None = None):
    """`load_bert`, once per process for the same arguments: one model instance per run."""
    return _cached_bert(model, weights_policy(policy), pooling, revision)


# ---------------------------------------------------------------- embedding


def max_input_length(tokenizer, model) -> int:
    """Longest input the model takes: its position embeddings, capped by the tokenizer's limit."""
    limit = int(getattr(model.config, "max_position_embeddings", 512) or 512)
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_limit, int) and 0 < tok_limit < limit:
        limit = tok_limit
    return limit


def _texts(chunks) -> list[str]:
    if isinstance(chunks, pl.DataFrame):
        return chunks["text"].fill_null("").to_list()
    return ["" if t is None else str(t) for t in chunks]


def embed_chunks(
    chunks: pl.DataFrame | Sequence[str],
    tokenizer,
    model,
    device: torch.device | str | None = "auto",
    batch_size: int = 32,
    pooling: Pooling = "pooler",
    *,
    stats: dict | None = None,
    progress=None,
) -> np.ndarray:
    """float32 array (len(chunks), hidden size), row i the embedding of chunk i.

    Chunks are tokenised in one batch call ([CLS] ... [SEP], truncated to the model's limit: chunks made
    by `chunk_notes` with the same tokenizer never are), sorted by length (longest first) so that each
    batch is padded only to its own longest chunk, run under `torch.inference_mode()` and the project's
    autocast, and written back in input order. `stats`, when given, receives tokens and truncations.
    """
    import torch  # here, not at the top: loading the graph (features.notes.build) must not import torch

    _check_pooling(pooling)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if pooling == "pooler" and getattr(model, "pooler", None) is None:
        raise ClinfuseError("pooling='pooler' needs a model loaded with its pooler (load_bert(..., pooling='pooler'))")
    device = resolve_device(device) if isinstance(device, str) or device is None else device
    texts = _texts(chunks)
    hidden = int(model.config.hidden_size)
    out = np.zeros((len(texts), hidden), dtype=np.float32)
    if not texts:
        return out
    max_len = max_input_length(tokenizer, model)
    backend = backend_copy(tokenizer, max_length=max_len)
    ids, truncated = [], 0
    for start in range(0, len(texts), 4096):  # bounded memory: Encoding objects are large
        encs = backend.encode_batch_fast(texts[start:start + 4096], add_special_tokens=True)
        ids += [np.asarray(e.ids, dtype=np.int64) for e in encs]
        truncated += sum(len(e.overflowing) > 0 for e in encs)
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    if stats is not None:
        stats["tokens"] = int(lengths.sum())
        stats["truncated_chunks"] = int(truncated)
    pad = pad_token_id(tokenizer)
    order = np.argsort(-lengths, kind="stable")
    model = model.to(device).eval()
    with torch.inference_mode(), autocast(device):
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            width = int(lengths[rows].max())
            batch = np.full((len(rows), width), pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                batch[r, :lengths[i]] = ids[i]
                mask[r, :lengths[i]] = 1
            input_ids = torch.from_numpy(batch).to(device, non_blocking=True)
            attention = torch.from_numpy(mask).to(device, non_blocking=True)
            output = model(input_ids=input_ids, attention_mask=attention,
                           token_type_ids=torch.zeros_like(input_ids))
            if pooling == "pooler":
                vectors = output.pooler_output
            else:
                m = attention.unsqueeze(-1).to(output.last_hidden_state.dtype)
                vectors = (output.last_hidden_state * m).sum(1) / m.sum(1).clamp_min(1)
            out[rows] = vectors.float().cpu().numpy()
            if progress is not None:  # features.progress.Progress: chunks done
                progress.update(len(rows))
    return out
