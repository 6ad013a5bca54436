"""Subject-level splits: disjoint, deterministic, order-independent, ~70/10/20; reference files option."""

import random

import polars as pl
import pytest

from features.splits import (
    make_splits,
    reference_splits,
    split_fractions,
    stays_in_split,
    subjects_in_several_splits,
)

IDS = list(range(10_000_000, 10_020_000))


def test_fractions_close_to_target():
    fr = split_fractions(make_splits(IDS, seed=7))
    assert fr["train"] == pytest.approx(0.7, abs=0.015)
    assert fr["val"] == pytest.approx(0.1, abs=0.01)
    assert fr["test"] == pytest.approx(0.2, abs=0.015)


def test_deterministic_and_order_independent():
    shuffled = IDS[:]
    random.Random(0).shuffle(shuffled)
    a = make_splits(IDS, seed=7)
    assert a.equals(make_splits(shuffled, seed=7))
    assert a.equals(make_splits(pl.Series(shuffled + shuffled[:50]), seed=7))  # duplicates collapse
    assert not a.equals(make_splits(IDS, seed=8))


def test_adding_subjects_moves_nobody():
    small = make_splits(IDS[:1000], seed=3)
    big = make_splits(IDS, seed=3)
    assert small.equals(big.filter(pl.col("subject_id").is_in(IDS[:1000])))


def test_disjoint_and_checker():
    s = make_splits(IDS, seed=1)
    assert s["subject_id"].is_unique().all()
    assert subjects_in_several_splits(s).height == 0
    first = s.head(1)
    other = "val" if first["split"][0] != "val" else "train"
    leaky = pl.concat([s.head(3), first.with_columns(pl.lit(other).cast(s["split"].dtype).alias("split"))])
    bad = subjects_in_several_splits(leaky)
    assert bad["subject_id"].to_list() == [first["subject_id"][0]]
    assert sorted(bad["splits"][0]) == sorted({first["split"][0], other})


def test_bad_fractions():
    with pytest.raises(ValueError):
        make_splits(IDS, seed=1, fractions=(0.5, 0.1, 0.1))


def test_reference_split_option():
    out = reference_splits([14851532, 12289120, 10663695, 1])  # test / listed / listed / unlisted
    rows = {r["subject_id"]: (r["split"], r["listed"]) for r in out.iter_rows(named=True)}
    assert rows[14851532] == ("test", True)
    assert rows[1] == ("train", False)
    assert rows[10663695][1] is True and rows[10663695][0] in ("train", "val")


def test_stays_in_split():
    s = make_splits(IDS[:100], seed=1)
    stays = pl.DataFrame({"subject_id": IDS[:100] * 2, "stay_id": range(200)})
    train = stays_in_split(stays, s, "train")
    train_subjects = set(s.filter(pl.col("split") == "train")["subject_id"])
    assert set(stays.filter(pl.col("stay_id").is_in(train.to_list()))["subject_id"]) == train_subjects
    assert len(train) == 2 * len(train_subjects)
