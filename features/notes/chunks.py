"""Split notes into BERT-sized chunks on line boundaries, never dropping one (reference §4.6, §7 item 22).

Rule (`chunk_notes`): a chunk holds at most `max_wordpieces - 2` content wordpieces, so that with
[CLS] and [SEP] it fits `max_wordpieces` (512). Lines (split on '\\n') are added greedily, in order,
while the chunk stays within that limit; the next line that does not fit starts a new chunk. A line
longer than the limit on its own is first cut into pieces of at most the limit, at word boundaries
(a BERT word is at most 100 characters, so at most 100 wordpieces: with 510 a word never has to be
cut; with a tiny limit a cut inside a word is the last resort). HAIM's differences, fixed here: its
last chunk is dropped, and an over-long line breaks its BERT call.

A chunk's text is the exact substring of the note it covers (lines keep their '\\n' between them), so
its wordpieces are exactly the note's wordpieces over that span: concatenating the wordpieces of a
note's chunks gives the wordpieces of the whole note, none lost or repeated. Notes with no wordpiece
(null, empty or blank text) give no chunk; the builder counts them.

Vectorised: line offsets come from Polars; wordpieces per line from one batch tokenisation of whole
notes (Rust, parallel) in which '\\n' is an added separator token; the greedy packing runs for all
notes at once with `searchsorted` over a global cumulative count (one NumPy step per chunk position,
not a Python loop per note or per line); chunk texts are sliced by Polars. Only over-long lines (rare:
510 wordpieces on one line) go through a small per-line loop to find their word boundaries.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from tokenizers import AddedToken

from features.notes.tokenizer import backend_copy
from warehouse.timerules import with_note_available_time

CHUNK_SCHEMA: dict[str, pl.DataType] = {
    "note_id": pl.String, "subject_id": pl.Int64, "hadm_id": pl.Int64, "note_type": pl.String,
    "source": pl.String, "charttime": pl.Datetime("us"), "available_time": pl.Datetime("us"),
    "chunk_index": pl.Int32, "n_wordpieces": pl.Int32, "text": pl.String,
}
SOURCE_OF_NOTE_TYPE = {"DS": "discharge", "RR": "radiology", "AR": "radiology"}
N_SPECIAL = 2  # [CLS] ... [SEP]
ENCODE_BATCH = 4096  # notes per tokenizer call


def empty_chunks() -> pl.DataFrame:
    return pl.DataFrame(schema=CHUNK_SCHEMA)


def with_note_times(notes: pl.DataFrame) -> pl.DataFrame:
    """Adds `source` (from note_type) and `available_time` (see above) when a frame lacks them."""
    if "source" not in notes.columns:
        mapped = pl.col("note_type").replace_strict(SOURCE_OF_NOTE_TYPE, default=None, return_dtype=pl.String)
        notes = notes.with_columns(pl.coalesce(mapped, pl.col("note_type").str.to_lowercase()).alias("source"))
    if "available_time" not in notes.columns:  # the lake's note_available_time rule (warehouse/timerules.py)
        notes = with_note_available_time(notes)
    return notes


def _split_long_line(offsets: np.ndarray, word_ids: np.ndarray, line_len: int, limit: int) -> list[tuple[int, int, int]]:
    """Pieces (char_start, char_end, n_wordpieces) of one over-long line: greedy, each <= limit, cut
    before a token that starts a word when one is in reach, else (a word longer than the limit) inside it."""
    n = len(offsets)
    starts_word = np.ones(n, dtype=bool)
    starts_word[1:] = word_ids[1:] != word_ids[:-1]
    word_starts = np.flatnonzero(starts_word)
    pieces, tok = [], 0
    while tok < n:
        end = tok + limit
        if end >= n:
            end = n
        else:
            reach = word_starts[(word_starts > tok) & (word_starts <= end)]
            if len(reach):
                end = int(reach[-1])
        pieces.append((tok, end))
        tok = end
    cuts = [int(offsets[t][0]) for t, _ in pieces[1:]]
    char_bounds = [0, *cuts, line_len]
    return [(char_bounds[i], char_bounds[i + 1], b - a) for i, (a, b) in enumerate(pieces)]


def _line_counts(texts: list[str], backend, n_lines: int) -> np.ndarray:
    """Wordpieces per line, for the lines of all notes in order (as `str.split("\\n")` gives them).

    Whole notes are tokenised in one batch call (about twice as fast as one call per line) with '\\n'
    registered as an added special token on this private copy of the tokenizer: added tokens are cut
    out before normalisation, so each newline becomes a separator id and the text between two newlines
    is tokenised exactly as that line alone would be."""
    newline = AddedToken("\n", special=True, normalized=False, lstrip=False, rstrip=False, single_word=False)
    backend.add_special_tokens([newline])
    nl = backend.token_to_id("\n")
    ids = []
    for start in range(0, len(texts), ENCODE_BATCH):  # bounded memory: Encoding objects are large
        encs = backend.encode_batch_fast(texts[start:start + ENCODE_BATCH], add_special_tokens=False)
        ids += [np.asarray(e.ids, dtype=np.int32) for e in encs]
    per_note = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    flat = np.concatenate(ids) if ids else np.empty(0, np.int32)
    del ids
    is_nl = flat == nl
    note_of = np.repeat(np.arange(len(per_note), dtype=np.int32), per_note)
    nl_per_note = np.bincount(note_of[is_nl], minlength=len(per_note))
    lines_per_note = nl_per_note + 1
    if int(lines_per_note.sum()) != n_lines:
        raise RuntimeError("the tokenizer split notes into a different number of lines than str.split(\"\\n\")")
    line_offset = np.cumsum(lines_per_note) - lines_per_note
    nl_before = np.cumsum(is_nl) - is_nl  # newlines before each token, over all notes
    note_nl_start = np.cumsum(nl_per_note) - nl_per_note
    line_of = line_offset[note_of] + nl_before - note_nl_start[note_of]
    return np.bincount(line_of[~is_nl], minlength=n_lines).astype(np.int64)


def _segments(notes: pl.DataFrame, backend, limit: int) -> pl.DataFrame:
    """One row per segment (a line, or a piece of an over-long line), in note and text order:
    _n, char_start, char_end (characters within the note), n_tok."""
    lines = (
        notes.select("_n", pl.col("text").fill_null("").str.split("\n").alias("line"))
        .explode("line")
        .with_columns(pl.col("line").str.len_chars().cast(pl.Int64).alias("_len"))
        .with_columns((pl.col("_len") + 1).cum_sum().over("_n").alias("_end1"))
        .with_columns((pl.col("_end1") - pl.col("_len") - 1).alias("char_start"))
        .with_columns((pl.col("char_start") + pl.col("_len")).alias("char_end"))
        .with_row_index("_line")
    )
    n_tok = _line_counts(notes["text"].fill_null("").to_list(), backend, lines.height)
    lines = lines.with_columns(pl.Series("n_tok", n_tok)).select("_line", "_n", "char_start", "char_end", "n_tok", "line")
    long = np.flatnonzero(n_tok > limit)
    if not len(long):
        return lines.drop("line", "_line")
    long_lines = lines[long]
    encs = backend.encode_batch(long_lines["line"].to_list(), add_special_tokens=False)
    rows = []
    for (line_id, n, start, length), enc in zip(
            long_lines.select("_line", "_n", "char_start", pl.col("line").str.len_chars()).iter_rows(), encs, strict=True):
        offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
        word_ids = np.asarray([-1 if w is None else w for w in enc.word_ids], dtype=np.int64)
        for k, (a, b, t) in enumerate(_split_long_line(offsets, word_ids, length, limit)):
            rows.append((line_id, k, n, start + a, start + b, t))
    pieces = pl.DataFrame(rows, schema={"_line": pl.UInt32, "_piece": pl.Int64, "_n": pl.UInt32,
                                        "char_start": pl.Int64, "char_end": pl.Int64, "n_tok": pl.Int64}, orient="row")
    kept = lines.filter(pl.col("n_tok") <= limit).with_columns(pl.lit(0, pl.Int64).alias("_piece"))
    return (pl.concat([kept.drop("line"), pieces], how="diagonal_relaxed")
            .sort("_line", "_piece").drop("_line", "_piece"))


def _pack(note_idx: np.ndarray, n_tok: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy packing of consecutive segments into chunks of <= limit wordpieces, for all notes at once.

    Returns (first segment, last segment, wordpieces) per chunk, in note then chunk order. Segments of
    one note are contiguous; each holds <= limit wordpieces. Zero-wordpiece segments (blank lines) join
    the chunk before them, or the first chunk when they lead the note."""
    n = len(n_tok)
    if n == 0:
        return (np.empty(0, np.int64),) * 3
    cum = np.cumsum(n_tok)
    before = cum - n_tok
    bounds = np.flatnonzero(np.r_[True, note_idx[1:] != note_idx[:-1], True])
    first, last = bounds[:-1], bounds[1:] - 1
    has_tokens = cum[last] - before[first] > 0
    cur, stop = first[has_tokens], last[has_tokens]
    starts, ends = [], []
    while len(cur):
        end = np.searchsorted(cum, before[cur] + limit, side="right") - 1
        end = np.clip(end, cur, stop)
        starts.append(cur)
        ends.append(end)
        # side="right" already swallowed the blank lines after the last one that fits (their cumulative
        # count does not grow), so a note with segments left has wordpieces left.
        nxt = end + 1
        alive = nxt <= stop
        cur, stop = nxt[alive], stop[alive]
    first_seg = np.concatenate(starts)
    last_seg = np.concatenate(ends)
    order = np.argsort(first_seg, kind="stable")  # note order, then chunk order (segments are in text order)
    first_seg, last_seg = first_seg[order], last_seg[order]
    return first_seg, last_seg, cum[last_seg] - before[first_seg]


def chunk_notes(notes: pl.DataFrame, tokenizer, max_wordpieces: int = 512) -> pl.DataFrame:
    """One row per chunk (schema `CHUNK_SCHEMA`): note_id, subject_id, hadm_id, note_type, source,
    charttime, available_time (when the note could be read: storetime, else the note_available_time rule),
    chunk_index, n_wordpieces (content wordpieces, [CLS]/[SEP] excluded), text.

    `notes` needs note_id, subject_id, hadm_id, note_type, charttime, text; `source` ('discharge' |
    'radiology') is derived from note_type (DS -> discharge, RR/AR -> radiology) when absent. Rows come
    out in the notes' order, chunks in text order. `tokenizer` is a fast (tokenizers-backed) tokenizer.
    """
    limit = int(max_wordpieces) - N_SPECIAL
    if limit < 1:
        raise ValueError(f"max_wordpieces must be > {N_SPECIAL}, got {max_wordpieces}")
    if notes.height == 0:
        return empty_chunks()
    notes = with_note_times(notes).with_row_index("_n")
    segs = _segments(notes, backend_copy(tokenizer), limit)
    first, last, n_wp = _pack(segs["_n"].to_numpy().astype(np.int64), segs["n_tok"].to_numpy(), limit)
    seg_note = segs["_n"].to_numpy()
    char_start = segs["char_start"].to_numpy()
    char_end = segs["char_end"].to_numpy()
    spans = pl.DataFrame({
        "_n": pl.Series(seg_note[first], dtype=pl.UInt32),
        "_start": char_start[first], "_stop": char_end[last],
        "n_wordpieces": pl.Series(n_wp, dtype=pl.Int32),
    })
    meta = notes.select("_n", "note_id", "subject_id", "hadm_id", "note_type", "source", "charttime",
                        "available_time", "text")
    return (
        spans.join(meta, on="_n", how="left", maintain_order="left")
        .with_columns(
            pl.int_range(pl.len()).over("_n").cast(pl.Int32).alias("chunk_index"),
            pl.col("text").str.slice(pl.col("_start"), pl.col("_stop") - pl.col("_start")),
        )
        .select([pl.col(c).cast(t) for c, t in CHUNK_SCHEMA.items()])
    )
