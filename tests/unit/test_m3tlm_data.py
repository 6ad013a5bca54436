"""M3T-LM's inputs: the vocabulary and scaler see the training split only, token sequences are left-padded,
oversampling never changes validation or test rows, and the tabular view for the baselines."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa
import pytest

from features.m3tlm.frame import NUMERIC_NAMES, ONEHOT_NAMES
from models.m3tlm.data import (
    OOV,
    FrameArrays,
    Inputs,
    M3tlmDataset,
    Scaler,
    Vocabulary,
    collate,
    oversample_rows,
)
from models.m3tlm.settings import resolve_settings
from warehouse.lake import ClinfuseError


def _frame(n: int = 12, deaths=(0, 1)) -> pa.Table:
    rng = np.random.default_rng(0)
    split = np.array(["train"] * 8 + ["val"] * 2 + ["test"] * 2)[:n]
    mortality = np.zeros(n, np.int8)
    mortality[list(deaths)] = 1
    numeric = rng.normal(size=(n, len(NUMERIC_NAMES)))
    numeric[0, 1] = np.nan
    onehot = np.zeros((n, len(ONEHOT_NAMES)), np.float32)
    onehot[:, 0] = 1
    dx = [["fever", "sepsis"], ["fever"], [], ["heart", "failure", "fever"]] * 2 + [["testonly"], ["fever"]] * 2
    return pa.table({
        "hadm_id": np.arange(100, 100 + n), "subject_id": np.arange(n), "split": split,
        "numeric": pa.array([[None if np.isnan(v) else float(v) for v in row] for row in numeric],
                            pa.list_(pa.float64())),
        "onehot": pa.array(onehot.tolist(), pa.list_(pa.float32())), "ethnicity": pa.array([0] * n, pa.int8()),
        "dx_tokens": pa.array(dx[:n], pa.list_(pa.string())), "px_tokens": pa.array([["cath"]] * n, pa.list_(pa.string())),
        "has_cxr": [False] * n, "dicom_id": pa.array([None] * n, pa.string()), "sex": ["F"] * n,
        "age": np.full(n, 60.0), "race": ["WHITE"] * n, "los_days": np.linspace(0.5, 9, n),
        "mortality": pa.array(mortality, pa.int8()), "frame_mode": ["fixed"] * n,
        "window_hours": pa.array([24] * n, pa.int32()),
        "admittime": [datetime(2150, 1, 1)] * n, "prediction_time": [datetime(2150, 1, 2)] * n,
    })


def test_the_vocabulary_is_built_on_the_training_split_and_sequences_are_left_padded():
    arrays = FrameArrays(_frame())
    vocab = Vocabulary.fit(arrays.dx_tokens, arrays.rows("train"), size=10)
    assert vocab.words == ["fever", "failure", "heart", "sepsis"]   # by count, then alphabetically
    assert "testonly" not in vocab.words                             # a word seen only in test rows
    ids = vocab.encode(arrays.dx_tokens, 4)
    assert ids[0].tolist() == [0, 0, 2, 5] and ids[2].tolist() == [0, 0, 0, 0]
    assert ids[3].tolist() == [0, 4, 3, 2] and ids[8].tolist() == [0, 0, 0, OOV]
    assert Vocabulary.fit(arrays.dx_tokens, arrays.rows("train"), size=3).encode(arrays.dx_tokens, 2)[3].tolist() == \
        [OOV, OOV]  # only "fever" fits; truncation keeps the first tokens
    with pytest.raises(ClinfuseError):
        Vocabulary.fit(arrays.dx_tokens, arrays.rows("train"), size=2)


def test_the_scaler_uses_training_statistics_only():
    arrays = FrameArrays(_frame())
    train = arrays.rows("train")
    scaler = Scaler.fit(arrays.numeric, train)
    changed = arrays.numeric.copy()
    changed[arrays.rows("test")] = 1e6
    assert Scaler.fit(changed, train) == scaler
    out = scaler.transform(arrays.numeric)
    assert not np.isnan(out).any() and np.allclose(out[train].mean(0), 0, atol=1e-5)


def test_oversampling_never_changes_validation_or_test_rows():
    arrays = FrameArrays(_frame(deaths=(0, 1)))
    settings = resolve_settings("demo")
    inputs = Inputs(arrays, settings)
    train, val, test = arrays.rows("train"), arrays.rows("val"), arrays.rows("test")
    before = {s: collate(M3tlmDataset(inputs, arrays.rows(s)).__getitems__(range(len(arrays.rows(s)))))
              for s in ("val", "test")}
    resampled = oversample_rows(train, inputs.mortality[train], "random", seed=3)
    assert set(resampled) == set(train) and not set(resampled) & (set(val) | set(test))
    assert len(resampled) == 12 and inputs.mortality[resampled].sum() == 6     # 6 survivors, 2 deaths -> 6 + 6
    assert np.array_equal(oversample_rows(train, inputs.mortality[train], "random", seed=3), resampled)
    assert np.array_equal(arrays.rows("val"), val) and np.array_equal(arrays.rows("test"), test)
    for s in ("val", "test"):
        after = collate(M3tlmDataset(inputs, arrays.rows(s)).__getitems__(range(len(arrays.rows(s)))))
        assert all(np.array_equal(before[s][k].numpy(), after[k].numpy()) for k in after)
        assert after["index"].tolist() == arrays.rows(s).tolist()
    assert np.array_equal(oversample_rows(train, inputs.mortality[train], "class_weight"), train)


def test_the_shuffled_label_control_permutes_training_labels_only():
    arrays = FrameArrays(_frame())
    inputs = Inputs(arrays, resolve_settings("demo"))
    inputs.shuffle_training_labels(seed=1)
    train, held = arrays.rows("train"), np.concatenate([arrays.rows("val"), arrays.rows("test")])
    assert sorted(inputs.los[train]) == sorted(arrays.los[train]) and not np.array_equal(inputs.los[train], arrays.los[train])
    assert np.array_equal(inputs.los[held], arrays.los[held]) and np.array_equal(inputs.mortality[held], arrays.mortality[held])


def test_the_tabular_view_for_the_baselines(home):
    from features.m3tlm.frame import TASK
    from models.m3tlm.data import tabular_task
    from warehouse.lake import write_arrow

    with pytest.raises(ClinfuseError, match="materialise frames/m3tlm first"):
        tabular_task(home)
    write_arrow(home, "frames", TASK, _frame())
    task = tabular_task(home)
    assert task.X.shape == (12, 26 + 28 + 6) and task.X.dtype == np.float32 and np.isnan(task.X[0, 1])
    assert len(task.feature_names) == 60 and task.feature_names[0] == "age"
    los, mortality = task.targets
    assert (los.name, los.kind, mortality.name, mortality.kind) == ("los", "regression", "mortality", "binary")
    assert los.y.shape == (12,) and mortality.y.shape == (12, 1) and mortality.y.sum() == 2
    assert list(task.split[:9]) == ["train"] * 8 + ["val"] and len(task.fingerprint) == 16
