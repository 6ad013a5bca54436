"""Discretiser: hand-written episodes, task shapes, and a cross-check against a loop port of the
mimic3-benchmarks `Discretizer.transform` (the reference algorithm, used here as an oracle)."""

import random

import numpy as np
import polars as pl
import pytest

from features.mimic3_benchmarks import discretizer_config
from features.timeseries.discretize import (
    discretize,
    ihm_stay_ids,
    pheno_stay_ids,
    timeseries_ihm,
    timeseries_pheno,
)
from features.timeseries.layout import COLUMNS

CFG = discretizer_config()
HR, GLU, EYE = "Heart Rate", "Glucose", "Glascow coma scale eye opening"
EVENT_SCHEMA = {"stay_id": pl.Int64, "hours": pl.Float64, "variable": pl.String,
                "value_str": pl.String, "value_num": pl.Float64}


def events(rows):
    """rows: (stay_id, hours, variable, value) with value a float (continuous) or str (categorical)."""
    out = []
    for stay, hours, var, value in rows:
        cat = CFG.is_categorical[var]
        out.append((stay, hours, var, value if cat else None, None if cat else float(value)))
    return pl.DataFrame(out, schema=EVENT_SCHEMA, orient="row")


def one_stay(rows, horizon=48.0, timestep=2.0):
    res = discretize(events([(1, *r) for r in rows]), pl.DataFrame({"stay_id": [1]}),
                     timestep=timestep, horizon_hours=horizon)
    return res


def col(res, name):
    return res.frame[name].to_list()


def test_bin_edges_at_exactly_timestep():
    res = one_stay([(0.0, HR, 60), (2.0, HR, 70), (2.0001, HR, 80)], horizon=6.0)
    assert res.frame.height == 3  # int(6/2 + 1 - 1e-6)
    # t=0 and t=2.0 share bin 0 (last wins), t=2.0001 is bin 1.
    assert col(res, HR) == [70, 80, 80]
    assert col(res, "mask->Heart Rate") == [1, 1, 0]


def test_normal_value_before_first_observation_then_carry_forward():
    res = one_stay([(5.0, GLU, 200), (9.5, GLU, 150)], horizon=12.0)
    assert col(res, GLU) == [128, 128, 200, 200, 150, 150]
    assert col(res, "mask->Glucose") == [0, 0, 1, 0, 1, 0]


def test_last_in_bin_wins_regardless_of_input_order():
    res = one_stay([(1.5, HR, 90), (0.5, HR, 100), (1.0, HR, 95)], horizon=2.0)
    assert col(res, HR)[0] == 90


def test_categorical_one_hot_normal_then_observed():
    res = one_stay([(3.0, EYE, "Spontaneously")], horizon=6.0)
    f = res.frame
    assert f["Glascow coma scale eye opening->4 Spontaneously"].to_list() == [1, 0, 0]
    assert f["Glascow coma scale eye opening->Spontaneously"].to_list() == [0, 1, 1]
    assert f["mask->Glascow coma scale eye opening"].to_list() == [0, 1, 0]
    eye_cols = [c for c in COLUMNS if c.startswith(EYE + "->")]
    assert f.select(pl.sum_horizontal(eye_cols)).to_series().to_list() == [1, 1, 1]
    # Never-observed channels: CRR "0.0" and GCS total "15" constantly 1, masks 0.
    assert set(f["Capillary refill rate->0.0"]) == {1} and set(f["Glascow coma scale total->15"]) == {1}


def test_unknown_category_is_counted_not_fatal():
    res = one_stay([(1.0, EYE, "Opens eyes sometimes"), (1.0, HR, 80), (9.0, EYE, "To Pain")], horizon=10.0)
    assert res.n_unseen == 1
    assert res.unseen.row(0) == (EYE, "Opens eyes sometimes", 1)
    eye_cols = [c for c in COLUMNS if c.startswith(EYE + "->")]
    sums = res.frame.select(pl.sum_horizontal(eye_cols)).to_series().to_list()
    assert sums == [0, 0, 0, 0, 1]  # unseen carried forward as all-zero until "To Pain"
    assert col(res, "mask->Glascow coma scale eye opening") == [1, 0, 0, 0, 1]


def test_asof_hours_is_latest_event_used():
    res = one_stay([(3.0, GLU, 200), (2.5, HR, 80), (7.0, HR, 90)], horizon=10.0)
    # empty steps (4-6 h, 8-10 h) are known no earlier than their start, never older than they are
    assert res.frame["asof_hours"].to_list() == [None, 3.0, 4.0, 7.0, 8.0]


def test_events_after_horizon_skipped_and_shape():
    res = one_stay([(48.0, HR, 100), (48.0000005, HR, 110), (49.0, HR, 120)])
    assert res.frame.shape == (24, 3 + 76)
    assert res.frame.columns == ["stay_id", "step", "asof_hours", *COLUMNS]
    assert col(res, HR)[-1] == 110


def test_ihm_task_filters_and_shapes():
    stays = pl.DataFrame({"stay_id": [1, 2, 3, 4], "los": [3.0, 1.5, 5.0, 2.5]})
    ev = events([(1, 1.0, HR, 80), (1, -3.0, HR, 999), (1, 60.0, HR, 999),
                 (2, 1.0, HR, 80),          # LoS < 48 h: excluded
                 (3, 50.0, HR, 80),         # no event in the first 48 h: excluded
                 (4, 47.0, HR, 70)])
    assert ihm_stay_ids(ev, stays)["stay_id"].to_list() == [1, 4]
    res2 = timeseries_ihm(ev, stays, timestep=2.0)
    res1 = timeseries_ihm(ev, stays, timestep=1.0)
    assert res2.frame.select(COLUMNS).shape == (2 * 24, 76) and res1.frame.select(COLUMNS).shape == (2 * 48, 76)
    s1 = res2.frame.filter(pl.col("stay_id") == 1)
    assert s1[HR].to_list() == [80.0] * 24  # pre-ICU and after-48h rows dropped


def test_pheno_whole_stay():
    stays = pl.DataFrame({"stay_id": [1, 2], "los": [0.5, 1.0]})
    ev = events([(1, 11.0, HR, 80), (1, 13.0, HR, 999), (2, -1.0, HR, 80)])
    assert pheno_stay_ids(ev, stays)["stay_id"].to_list() == [1]
    res = timeseries_pheno(ev, stays, timestep=2.0)
    assert res.frame.height == int(12 / 2 + 1 - 1e-6)
    assert res.frame[HR].to_list() == [86.0] * 5 + [80.0]


def test_stays_from_charttime_and_intime():
    intime = pl.datetime(2150, 1, 1, 8)
    stays = pl.DataFrame({"stay_id": [7]}).with_columns(intime=intime, outtime=intime + pl.duration(hours=10))
    ev = pl.DataFrame({"stay_id": [7], "variable": [HR], "value_str": [None], "value_num": [66.0]},
                      schema_overrides={"value_str": pl.String}) \
        .with_columns(charttime=intime + pl.duration(hours=3))
    res = discretize(ev, stays, timestep=2.0)
    assert res.frame.height == 5 and res.frame[HR].to_list() == [86, 66, 66, 66, 66]


# ---------------------------------------------------------------- oracle cross-check


def reference_transform(rows, header, end, timestep):
    """Loop port of mimic3-benchmarks Discretizer.transform (start_time='zero', impute='previous')."""
    eps = 1e-6
    chans = list(CFG.channels)
    cid = {c: i for i, c in enumerate(chans)}
    begin, cur = [], 0
    for c in chans:
        begin.append(cur)
        cur += len(CFG.possible_values[c]) if CFG.is_categorical[c] else 1
    n = int(end / timestep + 1.0 - eps)
    data = np.zeros((n, cur))
    mask = np.zeros((n, len(chans)), dtype=int)
    orig = [["" for _ in chans] for _ in range(n)]

    def write(b, c, v):
        if CFG.is_categorical[c]:
            vals = CFG.possible_values[c]
            for p in range(len(vals)):
                data[b, begin[cid[c]] + p] = 1.0 if vals.index(v) == p else 0.0
        else:
            data[b, begin[cid[c]]] = float(v)

    for row in rows:
        t = float(row[0])
        if t > end + eps:
            continue
        b = int(t / timestep - eps)
        assert 0 <= b < n
        for j in range(1, len(row)):
            if row[j] == "":
                continue
            c = header[j]
            mask[b][cid[c]] = 1
            write(b, c, row[j])
            orig[b][cid[c]] = row[j]
    prev = [[] for _ in chans]
    for b in range(n):
        for c in chans:
            i = cid[c]
            if mask[b][i] == 1:
                prev[i].append(orig[b][i])
                continue
            write(b, c, prev[i][-1] if prev[i] else CFG.normal_values[c])
    return np.hstack([data, mask.astype(float)])


def random_episode(rng, stay_id, los_hours):
    times = sorted({round(rng.uniform(-1e-7, los_hours + 5), rng.choice([0, 2, 6])) for _ in range(rng.randint(1, 40))})
    times += [float(k) for k in range(0, int(los_hours) + 1, 2) if rng.random() < 0.2]  # exact edges
    times += [los_hours, los_hours + 5e-7, los_hours + 2e-6]  # around the end of the period
    rows = []
    for t in sorted(set(times)):
        for var in rng.sample(list(CFG.channels), rng.randint(1, 5)):
            vals = CFG.possible_values[var]
            value = rng.choice(vals) if CFG.is_categorical[var] else round(rng.uniform(0, 200), 3)
            rows.append((stay_id, max(t, 0.0), var, value))
    return rows


@pytest.mark.parametrize("timestep", [1.0, 2.0, 0.8])
def test_matches_reference_discretizer(timestep):
    rng = random.Random(int(timestep * 10))
    stays, rows = [], []
    for stay in range(1, 31):
        los = rng.choice([rng.uniform(0.2, 100.0), 48.0, 24.0 + 1e-7])
        stays.append((stay, los))
        rows += random_episode(rng, stay, los)
    # one value per (stay, time, variable), as clean_events guarantees
    ev = events(rows).unique(["stay_id", "hours", "variable"], keep="first", maintain_order=True)
    res = discretize(ev, pl.DataFrame(stays, schema=["stay_id", "period_hours"], orient="row"), timestep=timestep)
    assert res.n_unseen == 0
    header = ["Hours", *CFG.channels]
    for stay, los in stays:
        sub = ev.filter(pl.col("stay_id") == stay).sort("hours")
        ep_rows = []
        for (t,), grp in sub.group_by("hours", maintain_order=True):
            row = [str(t)] + [""] * len(CFG.channels)
            for var, vs, vn in grp.select("variable", "value_str", "value_num").iter_rows():
                row[header.index(var)] = vs if vs is not None else repr(vn)
            ep_rows.append(row)
        expected = reference_transform(ep_rows, header, los, timestep)
        got = res.frame.filter(pl.col("stay_id") == stay).select(COLUMNS).to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-6, err_msg=f"stay {stay}")
