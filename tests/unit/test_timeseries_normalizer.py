"""Normaliser: fitted on training stays only, ddof=1, std floor, JSON / frame round trip."""

import numpy as np
import polars as pl
import pytest

from features.timeseries.layout import COLUMNS, CONTINUOUS_COLUMNS
from features.timeseries.normalizer import NormalizerState, apply_normalizer, fit_normalizer
from warehouse.lake import ClinfuseError


def frame(values_by_stay):
    """values_by_stay: {stay_id: [Heart Rate per step]}; other continuous columns constant 1.0."""
    rows = []
    for stay, hrs in values_by_stay.items():
        for step, hr in enumerate(hrs):
            row = {c: 0.0 for c in COLUMNS}
            row.update({c: 1.0 for c in CONTINUOUS_COLUMNS})
            row["Heart Rate"] = hr
            rows.append({"stay_id": stay, "step": step, **row})
    return pl.DataFrame(rows).with_columns(pl.col(c).cast(pl.Float32) for c in COLUMNS)


def test_fit_on_train_rows_only():
    base = {1: [80.0, 90.0], 2: [100.0, 70.0]}
    state = fit_normalizer(frame(base), train_stay_ids=[1, 2])
    with_outlier = fit_normalizer(frame({**base, 3: [10_000.0, 10_000.0]}), train_stay_ids=[1, 2])
    assert with_outlier.means == state.means and with_outlier.stds == state.stds
    hr = CONTINUOUS_COLUMNS.index("Heart Rate")
    assert state.means[hr] == pytest.approx(85.0)
    assert state.stds[hr] == pytest.approx(np.std([80, 90, 100, 70], ddof=1))
    assert state.n_rows == 4


def test_std_floor_for_constant_columns():
    state = fit_normalizer(frame({1: [80.0, 90.0]}), pl.Series([1]))
    assert state.stds[CONTINUOUS_COLUMNS.index("Weight")] == 1e-7


def test_apply_touches_only_continuous_columns():
    f = frame({1: [80.0, 90.0], 2: [100.0, 70.0]}).with_columns(pl.lit(1.0, pl.Float32).alias("mask->Heart Rate"))
    state = fit_normalizer(f, pl.DataFrame({"stay_id": [1, 2]}))
    out = apply_normalizer(f, state)
    assert out["Heart Rate"].mean() == pytest.approx(0.0, abs=1e-6)
    assert out["mask->Heart Rate"].to_list() == [1.0] * 4
    assert out.schema == f.schema
    assert isinstance(apply_normalizer(f.lazy(), state), pl.LazyFrame)


def test_round_trips(tmp_path):
    state = fit_normalizer(frame({1: [80.0, 90.0]}), [1], metadata={"timestep": 2.0, "task": "ihm"})
    assert NormalizerState.from_json(state.to_json()) == state
    state.save(tmp_path / "n.json")
    assert NormalizerState.load(tmp_path / "n.json") == state
    path = tmp_path / "n.parquet"
    state.to_frame().write_parquet(path)
    back = NormalizerState.from_frame(pl.read_parquet(path), metadata=state.metadata)
    assert back == state


def test_needs_training_rows():
    with pytest.raises(ClinfuseError, match="0 training time steps"):
        fit_normalizer(frame({1: [80.0, 90.0]}), [99])


def test_the_state_does_not_depend_on_row_order_or_chunking():
    """Two builds join the time series to the split in whatever order the threads finish: the statistics
    (and so the normaliser table's bytes) must be the same for every order."""
    rng = np.random.default_rng(3)
    n = 200_000
    base = pl.DataFrame({"stay_id": rng.integers(0, 500, n), "step": np.arange(n)}).with_columns(
        pl.Series(c, rng.lognormal(3, 1.5, n).astype(np.float32)) for c in CONTINUOUS_COLUMNS)
    states = []
    for seed in (0, 1, 2):
        order = np.random.default_rng(seed).permutation(n)
        shuffled = base[order]
        chunked = pl.concat([shuffled[i:i + 7_777] for i in range(0, n, 7_777)], rechunk=False)
        states.append(fit_normalizer(chunked, range(0, 400)))
    assert states[0] == states[1] == states[2]
    assert states[0].to_frame().equals(states[1].to_frame())


def test_an_empty_training_split_is_one_clear_error():
    with pytest.raises(ClinfuseError, match="training split of this cohort is empty"):
        fit_normalizer(frame({1: [80.0, 90.0]}), [])
