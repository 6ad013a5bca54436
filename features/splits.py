"""Subject-level train/val/test splits: seeded hash split (default 70/10/20) or MedFuse's reference files.

A subject's split under `make_splits` depends only on (subject_id, seed): it does not change with the
order of the input or when other subjects are added, so incremental runs never move a subject.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import polars as pl

from features.mimic3_benchmarks import reference_test_set, reference_val_set

SPLITS: tuple[str, ...] = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.7, 0.1, 0.2)
_SPLIT_DTYPE = pl.Enum(SPLITS)

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def make_splits(
    subject_ids: Iterable[int] | pl.Series,
    seed: int,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
) -> pl.DataFrame:
    """subject_id, split ('train' | 'val' | 'test'), one row per unique subject, sorted by subject_id.

    Each subject draws u = splitmix64(subject_id, seed) / 2^64 in [0, 1) and falls in train when
    u < f_train, in val when u < f_train + f_val, else test; fractions hold in expectation.
    """
    f_train, f_val, f_test = _check_fractions(fractions)
    ids = _unique_ids(subject_ids)
    u = _uniform_hash(ids, seed)
    split = np.where(u < f_train, 0, np.where(u < f_train + f_val, 1, 2))
    return pl.DataFrame({
        "subject_id": ids,
        "split": pl.Series(np.asarray(SPLITS)[split], dtype=pl.String).cast(_SPLIT_DTYPE),
    })


def reference_splits(subject_ids: Iterable[int] | pl.Series) -> pl.DataFrame:
    """MedFuse's split (reference §1.8): subject_id, split, listed.

    test = flag 1 in testset_iv.csv; val = flag 1 in valset_iv.csv; everyone else is train. Subjects absent
    from testset_iv.csv (the files cover MIMIC-IV v1.0 only) go to train with listed = False.
    """
    ids = pl.DataFrame({"subject_id": _unique_ids(subject_ids)})
    test = reference_test_set().rename({"flag": "_test"})
    val = reference_val_set().rename({"flag": "_val"})
    joined = ids.join(test, on="subject_id", how="left").join(val, on="subject_id", how="left")
    split = pl.when(pl.col("_test") == 1).then(pl.lit("test")) \
        .when(pl.col("_val") == 1).then(pl.lit("val")).otherwise(pl.lit("train"))
    return joined.select(
        "subject_id", split.cast(_SPLIT_DTYPE).alias("split"), pl.col("_test").is_not_null().alias("listed"),
    ).sort("subject_id")


def subjects_in_several_splits(assignments: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Subjects that appear under more than one split (must be empty): subject_id, splits (sorted list).

    `assignments` is any frame with subject_id and split, e.g. the union of per-task sample lists.
    """
    return (
        assignments.lazy()
        .group_by("subject_id")
        .agg(pl.col("split").cast(pl.String).unique().sort().alias("splits"))
        .filter(pl.col("splits").list.len() > 1)
        .sort("subject_id")
        .collect()
    )


def stays_in_split(stays: pl.DataFrame | pl.LazyFrame, assignments: pl.DataFrame, split: str = "train") -> pl.Series:
    """stay_id of the stays whose subject is assigned to `split` (e.g. the normaliser's training stays)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    chosen = assignments.lazy().filter(pl.col("split").cast(pl.String) == split).select("subject_id")
    return stays.lazy().join(chosen, on="subject_id", how="semi").select("stay_id").unique() \
        .sort("stay_id").collect().to_series()


def split_fractions(assignments: pl.DataFrame) -> dict[str, float]:
    """Share of subjects per split (for reports and checks)."""
    n = assignments.height
    counts = dict(assignments.group_by("split").len().select(pl.col("split").cast(pl.String), "len").iter_rows())
    return {s: (counts.get(s, 0) / n if n else 0.0) for s in SPLITS}


def _check_fractions(fractions: tuple[float, float, float]) -> tuple[float, float, float]:
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    return tuple(float(f) for f in fractions)  # type: ignore[return-value]


def _unique_ids(subject_ids: Iterable[int] | pl.Series) -> np.ndarray:
    series = subject_ids if isinstance(subject_ids, pl.Series) else pl.Series(list(subject_ids), dtype=pl.Int64)
    if series.null_count():
        raise ValueError("subject_ids contain nulls")
    return np.unique(series.cast(pl.Int64).to_numpy())


def _splitmix64(x: np.ndarray) -> np.ndarray:
    # uint64 arithmetic wraps modulo 2^64, which is what splitmix64 wants.
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _uniform_hash(ids: np.ndarray, seed: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        seed_key = _splitmix64(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
        h = _splitmix64(ids.astype(np.uint64) ^ seed_key)
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)
