"""The m3tlm runner on a hand-made frame: settings follow the frame's mode, training writes a checkpoint the
report re-reads (and refuses once the frame changed), and the report has both heads and the GradNorm section."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from models.m3tlm.data import FrameArrays
from models.m3tlm.runner import _settings, evaluate_m3tlm, train_m3tlm
from models.m3tlm.settings import resolve_settings
from tests.unit.test_m3tlm_data import _frame
from warehouse.lake import ClinfuseError, write_arrow


def _faithful() -> pa.Table:
    table = _frame()
    return table.set_column(table.column_names.index("frame_mode"), "frame_mode", pa.array(["faithful"] * 12))


def test_settings_follow_the_frames_mode_and_refuse_another():
    settings = _settings(FrameArrays(_faithful()), "paper", {})
    assert (settings["mode"], settings["image_backbone"], settings["image_channels"], settings["image_size"],
            settings["cxr_weights"]) == ("faithful", "inception_resnet_v2", 1, 128, "none")
    assert _settings(FrameArrays(_frame()), "demo", {})["image_channels"] == 3
    with pytest.raises(ClinfuseError, match="materialise frames/m3tlm with mode 'fixed' first"):
        _settings(FrameArrays(_faithful()), "demo", {"mode": "fixed"})
    for bad in ({"oversample": "smote"}, {"gradnorm_update": "batch"}, {"no_such_setting": 1}):
        with pytest.raises(ClinfuseError):
            resolve_settings("demo", bad)


def test_train_then_evaluate_writes_both_heads_and_the_gradnorm_trajectory(home):
    write_arrow(home, "frames", "m3tlm", _frame(deaths=(0, 1, 8, 10)))
    record = train_m3tlm(home, profile="demo", weights_policy="auto",
                         overrides={"epochs": 2, "batch_size": 4, "gradnorm_update": "step", "device": "cpu"},
                         progress=lambda m: None)
    assert (home.root / record["checkpoint"]).is_file() and record["best_epoch"] in (1, 2)
    assert record["split_sizes"]["train_oversampled"] == 12 and record["split_sizes"]["val"] == 2
    assert len(record["gradnorm"]) > 3 and all(abs(sum(r["weights"]) - 1) < 1e-9 for r in record["gradnorm"])
    report = evaluate_m3tlm(home, record, n_bootstrap=20, device="cpu", progress=lambda m: None)
    doc = json.loads((home.root / report["metrics"]).read_text())
    assert [(h["task"], h["kind"]) for h in doc["heads"]] == [("los", "regression"), ("mortality", "binary")]
    assert doc["heads"][0]["subsets"]["test_partial"]["n"] == 2
    assert np.isfinite(report["headline"]["los_mae"]) and "los_mean_predictor_mae" in report["headline"]
    # the ReLU LoS head is alive (started at the training mean), not stuck at 0 days
    test_los = FrameArrays(_frame()).los[-2:]
    assert report["headline"]["los_mae"] < np.abs(test_los).mean() - 1
    sections = {s["title"]: s for s in doc["sections"]}
    assert len(sections["GradNorm task weights"]["data"]["trajectory"]) == len(record["gradnorm"])
    assert "fixed" in sections["Mode and leakage"]["markdown"]
    write_arrow(home, "frames", "m3tlm", _frame(deaths=(0, 2)))  # the frame changed under the checkpoint
    with pytest.raises(ClinfuseError, match="materialise models/m3tlm again"):
        evaluate_m3tlm(home, record, n_bootstrap=20, progress=lambda m: None)
