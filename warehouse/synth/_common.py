"""Shared helpers of the synthetic generator: seeded streams, segment arithmetic, column builders."""

from __future__ import annotations

import zlib

import numpy as np
import polars as pl

H = 3600  # seconds per hour
DAY = 86400
MIN = 60


class Streams:
    """Independent random streams keyed by name (and optional integers), all derived from one seed.

    A stream depends only on (seed, key): adding a table, or switching images/notes off, never shifts
    the numbers another table draws.
    """

    def __init__(self, seed: int):
        self.seed = int(seed) % (1 << 64)

    def __call__(self, *key: str | int) -> np.random.Generator:
        words = [self.seed & 0xFFFFFFFF, self.seed >> 32]
        for k in key:
            if isinstance(k, str):
                words.append(zlib.crc32(k.encode()))
            else:
                words.append(int(k) & 0xFFFFFFFF)
        return np.random.default_rng(np.random.SeedSequence(words))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def at(arr: np.ndarray, idx: np.ndarray, fill=0) -> np.ndarray:
    """arr[idx] where idx >= 0, else fill (also when arr is empty)."""
    arr = np.asarray(arr)
    idx = np.asarray(idx, dtype=np.int64)
    if len(arr) == 0:
        return np.full(idx.shape, fill, dtype=np.result_type(arr.dtype, np.asarray(fill).dtype))
    return np.where(idx >= 0, arr[np.clip(idx, 0, len(arr) - 1)], fill)


def offsets(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For owners with `counts` children each: (owner index, position within owner) per child."""
    counts = np.asarray(counts, dtype=np.int64)
    off = offsets(counts)
    owner = np.repeat(np.arange(len(counts)), counts)
    pos = np.arange(off[-1], dtype=np.int64) - off[:-1][owner]
    return owner, pos


def seg_cumsum_excl(values: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Exclusive cumulative sum within runs of equal (sorted) `owner`."""
    if len(values) == 0:
        return values.copy()
    cs = np.cumsum(values) - values
    first = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    run = np.cumsum(np.r_[0, (np.diff(owner) != 0).astype(np.int64)])
    return cs - cs[first][run]


def rank_within(sorted_groups: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values of an already sorted group array."""
    _, first = np.unique(sorted_groups, return_index=True)
    return np.arange(len(sorted_groups)) - np.repeat(first, np.diff(np.r_[first, len(sorted_groups)]))


def year_start(years) -> np.ndarray:
    """Seconds since 1970 of 1 January of each year."""
    y = np.asarray(years, dtype=np.int64)
    return (y - 1970).astype("datetime64[Y]").astype("datetime64[s]").astype(np.int64)


def floor_to(x: np.ndarray, unit: int) -> np.ndarray:
    return (np.asarray(x, dtype=np.int64) // unit) * unit


def ts(secs: np.ndarray, mask: np.ndarray | None = None) -> pl.Series:
    """Seconds since 1970 -> polars Datetime (null where mask is True)."""
    v = np.asarray(secs, dtype=np.int64) * 1000
    if mask is not None and mask.any():
        v = np.ma.masked_array(v, mask=mask)
    return pl.Series(v).cast(pl.Datetime("ms"))


def dates(secs: np.ndarray, mask: np.ndarray | None = None) -> pl.Series:
    d = (np.asarray(secs, dtype=np.int64) // DAY).astype(np.int32)
    if mask is not None and mask.any():
        d = np.ma.masked_array(d, mask=mask)
    return pl.Series(d).cast(pl.Date)


def masked(values: np.ndarray, mask: np.ndarray | None) -> pl.Series:
    if mask is not None and mask.any():
        return pl.Series(np.ma.masked_array(values, mask=mask))
    return pl.Series(values)


def pick(choices, idx: np.ndarray, mask: np.ndarray | None = None) -> pl.Series:
    """Strings `choices[idx]` as a polars String series (null where mask)."""
    s = pl.Series(list(choices), dtype=pl.String).gather(np.asarray(idx, dtype=np.int64))
    if mask is not None and mask.any():
        s = pl.select(pl.when(pl.Series(mask)).then(None).otherwise(s)).to_series()
    return s


def choose(rng: np.random.Generator, n: int, probs) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def num_text(values: np.ndarray, mask: np.ndarray | None = None) -> pl.Series:
    """Numbers printed as MIMIC prints them: '91' for integral values, '98.7' otherwise."""
    s = masked(np.asarray(values, dtype=np.float64), mask)
    return pl.select(
        pl.when(s.round(0) == s).then(s.cast(pl.Int64).cast(pl.String)).otherwise(s.cast(pl.String))
    ).to_series()


def hex_ids(rng: np.random.Generator, n: int) -> pl.Series:
    """MIMIC-CXR dicom ids: five dash-separated groups of 8 hex digits."""
    parts = rng.integers(0, 1 << 32, size=(n, 5), dtype=np.uint64)
    return pl.select(pl.concat_str([_hex8(parts[:, i]) for i in range(5)], separator="-")).to_series()


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex8(v: np.ndarray) -> pl.Series:
    v = v.astype(np.uint64)
    digits = np.empty((len(v), 8), dtype=np.uint8)
    for i in range(8):
        digits[:, 7 - i] = _HEX[((v >> np.uint64(4 * i)) & np.uint64(15)).astype(np.int64)]
    return pl.Series(digits.view("S8").ravel().astype("U8"), dtype=pl.String)


def unique_ids(rng: np.random.Generator, n: int, lo: int, hi: int) -> np.ndarray:
    """n distinct integers in [lo, hi), in random order."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    span = hi - lo
    if n > span // 2:
        raise ValueError("id space too small")
    out = np.unique(rng.integers(lo, hi, size=int(n * 1.3) + 16))
    while len(out) < n:
        out = np.unique(np.r_[out, rng.integers(lo, hi, size=n)])
    out = rng.permutation(out)[:n]
    return out.astype(np.int64)
