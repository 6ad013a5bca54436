"""HAIM's 11 time-series statistics (features.haim.stats) against a direct NumPy/SciPy computation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.signal import find_peaks

from features.haim.layout import STATISTICS
from features.haim.stats import series_statistics


def reference(x: np.ndarray) -> list[float]:
    """HAIM's get_ts_emb on one series (already ordered, zero already appended if wanted), NaN -> 0."""
    x = np.asarray(x, dtype=float)
    d = np.diff(x)
    values = [
        x.max(), x.min(), x.mean(),
        x.var(ddof=1) if len(x) > 1 else np.nan,
        d.mean() if len(d) else np.nan,
        np.abs(d).mean() if len(d) else np.nan,
        np.abs(d).max() if len(d) else np.nan,
        np.abs(d).sum(),
        x[-1] - x[0],
        len(find_peaks(x)[0]),
        np.polyfit(np.arange(len(x)), x, 1)[0] if len(x) > 1 else 0.0,
    ]
    return [0.0 if np.isnan(v) else float(v) for v in values]


def _frame(series: dict[int, tuple[np.ndarray, np.ndarray]]) -> pl.DataFrame:
    """series id -> (times, values) in TABLE order."""
    rows = [(g, float(t), i, float(v)) for g, (ts, vs) in series.items() for i, (t, v) in enumerate(zip(ts, vs, strict=True))]
    return pl.DataFrame(rows, schema={"g": pl.Int64, "t": pl.Float64, "row": pl.Int64, "value": pl.Float64},
                        orient="row")


def _random_series(seed: int, count: int = 300) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = {}
    for g in range(count):
        n = int(rng.integers(1, 30))
        # half the series are small integers (many plateaus and ties), half continuous
        v = rng.integers(0, 4, n).astype(float) if g % 2 else rng.normal(100, 15, n)
        t = rng.permutation(n).astype(float)  # table order is not time order
        out[g] = (t, v)
    return out


def _check(out: pl.DataFrame, expected: dict[int, list[float]]) -> None:
    assert out.columns == ["g", *STATISTICS]
    assert out["g"].to_list() == sorted(expected)
    got = out.select(STATISTICS).to_numpy()
    want = np.array([expected[g] for g in sorted(expected)])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_fixed_mode_time_order_without_appended_zero():
    series = _random_series(1)
    out = series_statistics(_frame(series), ["g"], ["t"], append_zero=False)
    _check(out, {g: reference(v[np.argsort(t, kind="stable")]) for g, (t, v) in series.items()})


def test_faithful_mode_table_order_with_appended_zero():
    series = _random_series(2)
    out = series_statistics(_frame(series), ["g"], ["row"], append_zero=True)
    _check(out, {g: reference(np.r_[v, 0.0]) for g, (t, v) in series.items()})


def test_the_two_modes_differ_as_haim_artefacts_predict():
    t = np.array([2.0, 0.0, 1.0])
    v = np.array([30.0, 10.0, 20.0])  # time order 10, 20, 30: increasing
    frame = _frame({0: (t, v)})
    fixed = dict(zip(STATISTICS, series_statistics(frame, ["g"], ["t"]).row(0)[1:], strict=True))
    faithful = dict(zip(STATISTICS, series_statistics(frame, ["g"], ["row"], append_zero=True).row(0)[1:], strict=True))
    assert fixed["min"] == 10 and fixed["diff"] == 20 and fixed["trend"] == pytest.approx(10)
    assert faithful["min"] == 0  # the appended zero
    assert faithful["diff"] == -30  # last - first = 0 - 30 (table order starts with 30)
    assert faithful["mean"] == pytest.approx(15)  # (30 + 10 + 20 + 0) / 4


@pytest.mark.parametrize("x, peaks", [
    ([0, 1, 1, 0], 1),  # plateau counts once
    ([1, 1, 0], 0),  # plateau at the left edge
    ([0, 1, 1], 0),  # plateau at the right edge
    ([0, 2, 2, 2, 1, 3, 3, 0], 2),
    ([0, 1, 0, 1, 0, 1, 0], 3),
    ([0, 1, 2, 1, 2, 2, 1], 2),
    ([5], 0),
    ([1, 2], 0),
    ([3, 3, 3, 3], 0),
    ([0, 1, 1, 2, 1], 1),  # a step up is not a peak
])
def test_peaks_match_find_peaks_on_plateaus(x, peaks):
    x = np.asarray(x, dtype=float)
    assert len(find_peaks(x)[0]) == peaks
    out = series_statistics(_frame({0: (np.arange(len(x)), x)}), ["g"], ["t"])
    assert out["npeaks"].item() == peaks


def test_peaks_match_find_peaks_on_random_series_with_plateaus():
    rng = np.random.default_rng(3)
    series = {}
    for g in range(500):
        n = int(rng.integers(1, 40))
        # repeat values to create plateaus of random length
        base = rng.integers(0, 5, n).astype(float)
        reps = rng.integers(1, 4, n)
        v = np.repeat(base, reps)
        series[g] = (np.arange(len(v), dtype=float), v)
    out = series_statistics(_frame(series), ["g"], ["t"])
    want = [len(find_peaks(series[g][1])[0]) for g in sorted(series)]
    assert out["npeaks"].cast(pl.Int64).to_list() == want


def test_several_keys_and_nan_values_are_ignored():
    frame = pl.DataFrame({
        "sample": ["a", "a", "a", "a", "b", "b"], "signal": [0, 0, 1, 1, 0, 0],
        "t": [1.0, 0.0, 0.0, 1.0, 0.0, 1.0], "value": [2.0, 1.0, None, float("nan"), 5.0, 7.0],
    })
    out = series_statistics(frame, ["sample", "signal"], ["t"])
    # (a, 1) has no usable value: absent (the caller's matrix keeps zeros there)
    assert out.select("sample", "signal").rows() == [("a", 0), ("b", 0)]
    np.testing.assert_allclose(out.row(0)[2:], reference(np.array([1.0, 2.0])))
    np.testing.assert_allclose(out.row(1)[2:], reference(np.array([5.0, 7.0])))


def test_single_value_gives_zero_spread_statistics():
    out = series_statistics(_frame({0: (np.array([0.0]), np.array([42.0]))}), ["g"], ["t"])
    got = dict(zip(STATISTICS, out.row(0)[1:], strict=True))
    assert got == {"max": 42, "min": 42, "mean": 42, "variance": 0, "meandiff": 0, "meanabsdiff": 0, "maxdiff": 0,
                   "sumabsdiff": 0, "diff": 0, "npeaks": 0, "trend": 0}
    # faithful: [42, 0]
    got = dict(zip(STATISTICS, series_statistics(_frame({0: (np.array([0.0]), np.array([42.0]))}), ["g"], ["t"],
                                                 append_zero=True).row(0)[1:], strict=True))
    assert got["min"] == 0 and got["diff"] == -42 and got["trend"] == pytest.approx(-42)


def test_empty_input_gives_no_rows():
    empty = pl.DataFrame(schema={"g": pl.Int64, "t": pl.Float64, "value": pl.Float64})
    for append_zero in (False, True):
        out = series_statistics(empty, ["g"], ["t"], append_zero=append_zero)
        assert out.height == 0 and out.columns == ["g", *STATISTICS]
