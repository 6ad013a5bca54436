"""Note chunking: every wordpiece kept, no chunk over 512 with [CLS]/[SEP], order, line boundaries."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from features.notes.chunks import CHUNK_SCHEMA, chunk_notes
from features.notes.tokenizer import backend_copy, train_wordpiece

VOCAB = ("patient admitted with septic shock and respiratory failure intubated extubated bilateral opacities "
         "pneumonia no acute process effusion pneumothorax history of copd atrial fibrillation creatinine "
         "hemoglobin ___ mg po bid daily the was is a in on for to").split()


@pytest.fixture(scope="module")
def tokenizer():
    return train_wordpiece([" ".join(VOCAB)] * 5 + ["Findings: 12.5 mg/dL, HR 88 (stable); ___-___"], vocab_size=400)


@pytest.fixture(scope="module")
def backend(tokenizer):
    return backend_copy(tokenizer)


def _note_text(rng: np.random.Generator, n_lines: int, max_words: int) -> str:
    lines = []
    for _ in range(n_lines):
        words = rng.choice(VOCAB + ["Hypotension", "x-ray", "12.5", "(stable)", "\t", "café", "~~~"],
                           size=int(rng.integers(0, max_words + 1)))
        lines.append(" ".join(words))
    return "\n".join(lines)


def _notes(texts: list[str | None]) -> pl.DataFrame:
    n = len(texts)
    return pl.DataFrame({
        "note_id": [f"10-DS-{i}" if i % 2 else f"10-RR-{i}" for i in range(n)],
        "subject_id": [10 + i % 3 for i in range(n)],
        "hadm_id": [None if i % 5 == 4 else 200 + i % 3 for i in range(n)],
        "note_type": ["DS" if i % 2 else "RR" for i in range(n)],
        "charttime": [dt.datetime(2150, 1, 1) + dt.timedelta(hours=i) for i in range(n)],
        "text": texts,
    }, schema_overrides={"hadm_id": pl.Int64, "text": pl.String})


@pytest.fixture(scope="module")
def generated() -> list[str | None]:
    rng = np.random.default_rng(11)
    texts: list[str | None] = [_note_text(rng, int(rng.integers(1, 60)), int(rng.integers(1, 40))) for _ in range(30)]
    texts += [
        "",                                              # empty note
        None,                                            # null text
        "\n \n\t\n",                                     # blank lines only
        " ".join(["septic shock"] * 900),                # one line far over 510 wordpieces
        "short first line\n" + " ".join(["pneumonia"] * 700) + "\nlast line\n\n",
        "\n\nleading blank lines\n" + "\n".join(["effusion"] * 600),
    ]
    return texts


def _pieces(backend, text: str) -> list[str]:
    return backend.encode(text or "", add_special_tokens=False).tokens


@pytest.mark.parametrize("max_wordpieces", [512, 64, 12])
def test_every_wordpiece_kept_and_no_chunk_over_the_limit(tokenizer, backend, generated, max_wordpieces):
    notes = _notes(generated)
    chunks = chunk_notes(notes, tokenizer, max_wordpieces)
    assert chunks.schema == pl.Schema(CHUNK_SCHEMA)
    by_note = {k[0]: g.sort("chunk_index") for k, g in chunks.group_by("note_id")}
    for row in notes.iter_rows(named=True):
        whole = _pieces(backend, row["text"])
        if not whole:
            assert row["note_id"] not in by_note  # empty notes give no chunk
            continue
        g = by_note[row["note_id"]]
        assert g["chunk_index"].to_list() == list(range(g.height))
        pieces = [_pieces(backend, t) for t in g["text"]]
        assert sum(pieces, []) == whole  # concatenated wordpieces of the chunks == the note's: none lost
        assert [len(p) for p in pieces] == g["n_wordpieces"].to_list()
        assert max(g["n_wordpieces"]) + 2 <= max_wordpieces  # [CLS] + content + [SEP] fits
        assert min(g["n_wordpieces"]) > 0
        for key in ("subject_id", "hadm_id", "note_type", "charttime"):
            assert g[key].unique().to_list() == [row[key]]


def test_chunks_follow_line_boundaries_greedily(tokenizer, backend, generated):
    limit = 64 - 2
    notes = _notes(generated[:30])  # no line is over the limit... checked below
    chunks = chunk_notes(notes, tokenizer, 64)
    for row in notes.iter_rows(named=True):
        lines = row["text"].split("\n")
        counts = [len(_pieces(backend, ln)) for ln in lines]
        if max(counts) > limit:
            continue
        g = chunks.filter(pl.col("note_id") == row["note_id"]).sort("chunk_index")
        # each chunk is a run of whole lines, in order, covering the note exactly
        assert "\n".join(g["text"]) == row["text"] or "\n".join(g["text"]) == row["text"].rstrip("\n")
        start = 0
        for text, n in zip(g["text"], g["n_wordpieces"], strict=True):
            k = text.count("\n") + 1
            assert "\n".join(lines[start:start + k]) == text
            start += k
            # greedy: the next line with wordpieces would not have fitted
            nxt = next((c for c in counts[start:] if c > 0), None)
            if nxt is not None:
                assert n + nxt > limit


def test_over_long_line_is_split_into_pieces_and_last_chunk_kept(tokenizer, backend):
    line = " ".join(["septic shock"] * 900)
    notes = _notes([line, "first\n" + " ".join(["pneumonia"] * 1200) + "\ntail line"])
    chunks = chunk_notes(notes, tokenizer, 512)
    one = chunks.filter(pl.col("note_id") == notes["note_id"][0])
    total = len(_pieces(backend, line))
    assert one["n_wordpieces"].sum() == total and one.height == -(-total // 510)
    assert one["n_wordpieces"].to_list()[:-1] == [510] * (one.height - 1)  # greedy, cut between words
    two = chunks.filter(pl.col("note_id") == notes["note_id"][1]).sort("chunk_index")
    assert two["text"][-1].endswith("tail line")  # HAIM drops the last chunk; never here
    assert two["text"][0].startswith("first")


def test_word_longer_than_the_limit_is_cut_inside(tokenizer):
    word = "x" * 60  # 60 wordpieces with this vocabulary ('x' then '##x' ...), limit 10
    chunks = chunk_notes(_notes([f"a {word} b"]), tokenizer, 12)
    assert chunks["n_wordpieces"].max() <= 10
    assert chunks["n_wordpieces"].sum() == 62


def test_source_from_note_type_and_empty_input(tokenizer):
    chunks = chunk_notes(_notes(["no acute process", "patient admitted"]), tokenizer)
    assert chunks["source"].to_list() == ["radiology", "discharge"]
    assert chunk_notes(_notes([]).clear(), tokenizer).schema == pl.Schema(CHUNK_SCHEMA)
    with pytest.raises(ValueError):
        chunk_notes(_notes(["x"]), tokenizer, 2)
