"""Where a BERT checkpoint and its tokenizer come from, offline, and the deterministic fallback tokenizer.

Resolution of `model` (a Hugging Face id such as `emilyalsentzer/Bio_ClinicalBERT`, or a directory in
`save_pretrained` layout):

* an existing directory is used as is (a relative `org/name` that exists in the working directory
  counts as a directory, as in transformers);
* otherwise the id is looked up in the Hugging Face hub cache, strictly offline
  (`huggingface_hub.snapshot_download(..., local_files_only=True)`), never over the network. The cache
  directory is resolved at call time the way huggingface_hub does at import: `HF_HUB_CACHE`, else
  `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
  `~/.cache/huggingface/hub`. (huggingface_hub freezes its constant at import, so a test or a run that
  sets `HF_HOME` later would otherwise be ignored.)

Fallback tokenizer (only under `weights: auto`, when no vocabulary is available offline): a WordPiece
vocabulary built deterministically from a fixed built-in clinical corpus (`_corpus.py`): words are
counted after the `tokenizers` BERT normaliser (Polars, ties broken alphabetically) and the result is a
`tokenizers` WordPiece model with BERT's normaliser, pre-tokeniser and [CLS]/[SEP] template.
`tokenizers`' own `WordPieceTrainer` is not used: its vocabulary differs from run to run (hash-map
order), and chunk boundaries must be the same on every machine, shard and run. A fixed corpus rather
than the notes being embedded, for the same reason: every shard (a separate Dagster partition) gets
the same tokenizer without reading every other shard. `train_wordpiece` is public for users who want
a vocabulary fitted to their own notes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from features.notes._corpus import BUILTIN_CORPUS, BUILTIN_CORPUS_VERSION
from features.weights import WeightsPolicy, missing_weights, weights_policy

log = logging.getLogger(__name__)

DEFAULT_MODEL = "emilyalsentzer/Bio_ClinicalBERT"
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt")
FALLBACK_VOCAB_SIZE = 8000


def hf_hub_cache() -> Path:
    """The Hugging Face hub cache directory in force now (see the module docstring)."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.path.expandvars(os.environ[var])).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.path.expandvars(os.environ["HF_HOME"])).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


def how_to_provide(model: str) -> str:
    """The instructions a strict run prints when `model` is not on this machine."""
    repo = model if _looks_like_repo_id(model) else DEFAULT_MODEL
    return (
        f"Looked for {model!r} as a local directory and in the Hugging Face cache at {hf_hub_cache()} "
        f"(HF_HUB_CACHE, else HF_HOME/hub, default ~/.cache/huggingface/hub; never downloaded at run time). "
        f"To provide it: on a connected machine run `huggingface-cli download {repo}` (or `hf download {repo}`) "
        f"with HF_HOME set to a directory you then copy here and point HF_HOME at; or save the model and its "
        f"tokenizer with `save_pretrained` into a directory and configure that directory as the model."
    )


@dataclass(frozen=True)
class ModelSource:
    """Where `model` resolved to. `path` is None when nothing was found offline."""

    model: str
    kind: str  # "local" | "hub"
    path: Path | None
    label: str  # what `weights_source` records when the weights are used

    @property
    def has_weights(self) -> bool:
        return self.path is not None and (self.path / "config.json").is_file() and any(
            (self.path / f).is_file() for f in WEIGHT_FILES)

    @property
    def has_tokenizer(self) -> bool:
        return self.path is not None and any((self.path / f).is_file() for f in TOKENIZER_FILES)

    @property
    def has_config(self) -> bool:
        return self.path is not None and (self.path / "config.json").is_file()


def _looks_like_repo_id(model: str) -> bool:
    return not model.startswith(("/", ".", "~")) and model.count("/") <= 1 and "\\" not in model


def resolve_model_source(model: str = DEFAULT_MODEL, revision: str | None = None) -> ModelSource:
    """Find `model` offline: an existing directory, else a snapshot in the Hugging Face cache."""
    local = Path(model).expanduser()
    if local.is_dir():
        return ModelSource(model, "local", local.resolve(), f"local:{local.resolve()}")
    if not _looks_like_repo_id(model):
        return ModelSource(model, "local", None, f"local:{local}")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        path = Path(snapshot_download(model, revision=revision, cache_dir=hf_hub_cache(), local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return ModelSource(model, "hub", None, model)
    return ModelSource(model, "hub", path, f"{model}@{path.name}")


# ---------------------------------------------------------------- the fallback tokenizer

# BERT's pre-tokeniser: whitespace separates words; every punctuation character (ASCII symbols, Unicode P*)
# is a word of its own. Used only to count words when building a vocabulary.
_PUNCT = r"!-/:-@\[-`{-~\p{P}"
_WORD_RE = rf"[^\s{_PUNCT}]+|[{_PUNCT}]"


def _bert_normalizer(lowercase: bool) -> normalizers.Normalizer:
    return normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                      lowercase=lowercase)


def _word_counts(texts: Iterable[str], lowercase: bool) -> pl.DataFrame:
    norm = _bert_normalizer(lowercase)
    normalized = pl.Series("t", [norm.normalize_str(t) for t in texts if t], dtype=pl.String)
    return (
        pl.DataFrame({"word": normalized.str.extract_all(_WORD_RE)}).explode("word").drop_nulls()
        .group_by("word").agg(pl.len().alias("count"))
        .sort(["count", "word"], descending=[True, False])
    )


def _affix_candidates(words: pl.DataFrame, max_piece_len: int) -> pl.DataFrame:
    """Word-initial prefixes and '##' suffixes of 2..max_piece_len characters, scored by how many
    characters they would cover in the corpus (count x (length - 1))."""
    frames = []
    for k in range(2, max_piece_len + 1):
        long = words.filter(pl.col("word").str.len_chars() > k)
        frames.append(long.select(pl.col("word").str.slice(0, k).alias("piece"), "count"))
        frames.append(long.select(("##" + pl.col("word").str.slice(-k)).alias("piece"), "count"))
    if not frames:
        return pl.DataFrame({"piece": [], "score": []}, schema={"piece": pl.String, "score": pl.Int64})
    cand = pl.concat(frames).group_by("piece").agg(pl.col("count").sum())
    return (cand.with_columns((pl.col("count") * (pl.col("piece").str.replace("^##", "").str.len_chars() - 1))
                              .alias("score"))
            .sort(["score", "piece"], descending=[True, False]))


def train_wordpiece(
    texts: Sequence[str] | Iterable[str],
    vocab_size: int = FALLBACK_VOCAB_SIZE,
    *,
    lowercase: bool = True,
    max_piece_len: int = 8,
    model_max_length: int = 512,
):
    """A BERT WordPiece tokenizer (`BertTokenizerFast`) fitted to `texts`, deterministically.

    Vocabulary, in id order: the 5 BERT specials; every character seen (plus printable ASCII) alone and
    as a '##' continuation, so that any ASCII word is tokenisable without [UNK]; then the most frequent
    words (ties broken alphabetically) for ~70 % of the remaining budget and the highest-scoring
    word prefixes / '##' suffixes for the rest. The same texts always give the same vocabulary.
    """
    from transformers import BertTokenizerFast

    texts = list(texts)
    words = _word_counts(texts, lowercase)
    ascii_chars = [chr(i) for i in range(33, 127)]
    if lowercase:
        ascii_chars = [c for c in ascii_chars if not c.isupper()]
    seen_chars = words.filter(pl.col("word").str.len_chars() == 1)["word"].to_list()
    multi_chars = (words.select(pl.col("word").str.split("")).explode("word").unique()["word"].to_list()
                   if words.height else [])
    alphabet = sorted(set(ascii_chars) | set(seen_chars) | {c for c in multi_chars if c})
    vocab: dict[str, int] = {}

    def add(tokens: Iterable[str], limit: int | None = None) -> None:
        for token in tokens:
            if limit is not None and len(vocab) >= limit:
                return
            if token not in vocab and len(vocab) < vocab_size:
                vocab[token] = len(vocab)

    add(SPECIAL_TOKENS)
    add(alphabet)
    add("##" + c for c in alphabet)
    multi = words.filter(pl.col("word").str.len_chars() > 1)["word"].to_list()
    pieces = _affix_candidates(words, max_piece_len)["piece"].to_list()
    rest = max(vocab_size - len(vocab), 0)
    add(multi, limit=len(vocab) + int(0.7 * rest))
    add(pieces)
    add(multi)  # a small corpus leaves room: every word then

    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = _bert_normalizer(lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    fast = BertTokenizerFast(tokenizer_object=tok, do_lower_case=lowercase, unk_token="[UNK]", sep_token="[SEP]",
                             pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]",
                             model_max_length=model_max_length)
    digest = hashlib.sha256("\n".join(vocab).encode()).hexdigest()[:12]
    set_tokenizer_source(fast, f"wordpiece-trained:{len(vocab)}-tokens:sha256-{digest}")
    return fast


@lru_cache(maxsize=2)
def fallback_tokenizer(vocab_size: int = FALLBACK_VOCAB_SIZE):
    """The deterministic WordPiece tokenizer of the built-in corpus (cached: one per process)."""
    tok = train_wordpiece([BUILTIN_CORPUS], vocab_size=vocab_size)
    set_tokenizer_source(tok, f"builtin-corpus-{BUILTIN_CORPUS_VERSION}:{tokenizer_source(tok)}")
    return tok


# ---------------------------------------------------------------- loading


def set_tokenizer_source(tokenizer, source: str) -> None:
    tokenizer._clinfuse_source = source


def tokenizer_source(tokenizer) -> str:
    """Provenance of a tokenizer loaded or built here ('unknown' for one made elsewhere)."""
    return getattr(tokenizer, "_clinfuse_source", "unknown")


def load_pretrained_tokenizer(path: Path, label: str):
    """The tokenizer saved in `path` (tokenizer.json or vocab.txt), as a fast tokenizer."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    if not getattr(tok, "is_fast", False) or backend_of(tok) is None:
        from warehouse.lake import ClinfuseError

        raise ClinfuseError(f"{label}: the tokenizer is not a fast (tokenizers-backed) tokenizer")
    set_tokenizer_source(tok, label)
    return tok


_RANDOM_MODEL = re.compile(r"random-init:L(\d+)")


def random_layers(model: str) -> int | None:
    """`random-init:L<n>` asks explicitly for a randomly initialised encoder with Bio_ClinicalBERT's widths
    and n layers (a CPU-sized stand-in for demos and tests); None for any other model id."""
    match = _RANDOM_MODEL.fullmatch(model.strip())
    return int(match.group(1)) if match else None


def load_tokenizer(model: str = DEFAULT_MODEL, policy: str | None = None, *, revision: str | None = None):
    """(tokenizer, tokenizer_source) for `model`, offline.

    Strict and no vocabulary found -> `WeightsUnavailable` with instructions. Auto -> the fallback
    tokenizer of the built-in corpus."""
    pol: WeightsPolicy = weights_policy(policy)
    if random_layers(model) is not None:  # an explicitly random model has no vocabulary of its own
        tok = fallback_tokenizer()
        return tok, tokenizer_source(tok)
    src = resolve_model_source(model, revision)
    if src.has_tokenizer:
        tok = load_pretrained_tokenizer(src.path, src.label)
        return tok, tokenizer_source(tok)
    missing_weights(f"tokenizer of {model!r}", how_to_provide(model), pol)
    tok = fallback_tokenizer()
    log.info("no tokenizer for %s offline: using the fallback tokenizer %s", model, tokenizer_source(tok))
    return tok, tokenizer_source(tok)


def backend_of(tokenizer) -> Tokenizer | None:
    """The `tokenizers.Tokenizer` behind a transformers fast tokenizer (or the object itself)."""
    if isinstance(tokenizer, Tokenizer):
        return tokenizer
    return getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)


def backend_copy(tokenizer, max_length: int | None = None) -> Tokenizer:
    """An independent copy of the backend: no padding, truncation only to `max_length` when given.

    A copy, because transformers re-configures the shared backend's padding/truncation on every call."""
    backend = backend_of(tokenizer)
    if backend is None:
        raise TypeError(f"{type(tokenizer).__name__} is not a fast tokenizer (tokenizers-backed)")
    tok = Tokenizer.from_str(backend.to_str())
    tok.no_padding()
    if max_length:
        tok.enable_truncation(max_length=int(max_length))
    else:
        tok.no_truncation()
    return tok


def pad_token_id(tokenizer) -> int:
    pid = getattr(tokenizer, "pad_token_id", None)
    if pid is None:
        backend = backend_of(tokenizer)
        pid = backend.token_to_id("[PAD]") if backend is not None else None
    return int(pid or 0)
