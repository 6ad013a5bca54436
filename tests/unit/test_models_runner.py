"""Settings, checkpoint identity and the CLI's instance config: what the model assets rely on."""

from __future__ import annotations

import pytest
import torch

from models.profiles import resolve_settings
from models.runner import _checked_checkpoint, _normalizer_of
from warehouse.lake import ClinfuseError, Home


def test_profiles_and_modes():
    paper = resolve_settings("medfuse", "ihm", "paper")
    demo = resolve_settings("medfuse", "ihm", "demo")
    assert (paper["epochs"], paper["image_size"], paper["n_bootstrap"]) == (50, 224, 1000)
    assert (demo["image_size"], demo["n_bootstrap"]) == (64, 200)
    faithful = resolve_settings("tsfusion", "ihm", "paper", {"mode": "faithful"})
    assert faithful["betas"] == [0.9, 0.9] and faithful["missing"] == "zero_token"
    assert faithful["validation_subset"] == "paired"
    assert paper["betas"] == [0.9, 0.999] and paper["validation_subset"] == "partial"
    # the reference's PAIRED-only validation belongs to its fusion runs, not to the stage-1 models
    assert resolve_settings("uni_ehr", "ihm", "paper", {"mode": "faithful"})["validation_subset"] == "partial"
    assert resolve_settings("medfuse", "ihm", "demo", {"epochs": 2})["epochs"] == 2


@pytest.mark.parametrize("overrides, message", [
    ({"epochz": 3}, "unknown model setting"),
    ({"mode": "sideways"}, "fixed or faithful"),
    ({"image_size": 32}, "64 to 224"),
])
def test_bad_settings_are_one_line_errors(overrides, message):
    with pytest.raises(ClinfuseError, match=message):
        resolve_settings("medfuse", "ihm", "demo", overrides)


def test_the_profile_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLINFUSE_MODEL_PROFILE", "demo")
    assert resolve_settings("uni_ehr", "ihm", "")["profile"] == "demo"
    monkeypatch.setenv("CLINFUSE_MODEL_PROFILE", "huge")
    with pytest.raises(ClinfuseError, match="huge"):
        resolve_settings("uni_ehr", "ihm", "")


def test_a_report_refuses_a_checkpoint_its_model_did_not_record(tmp_path):
    path = tmp_path / "best.pt"
    torch.save({"format": 1, "model": {}, "fingerprint": "b" * 64, "config": {}, "lineage": {"frame": "x"}}, path)
    record = {"model": "medfuse_ihm", "fingerprint": "a" * 64}
    with pytest.raises(ClinfuseError, match="not the checkpoint models/medfuse_ihm recorded"):
        _checked_checkpoint(path, record, {})
    assert _checked_checkpoint(path, {**record, "fingerprint": "b" * 64}, {})["fingerprint"] == "b" * 64


def test_the_normaliser_travels_in_the_record():
    from features.timeseries.normalizer import NormalizerState

    state = NormalizerState(columns=("a", "b"), means=(1.0, 2.0), stds=(0.5, 3.0), n_rows=7, metadata={"task": "ihm"})
    import json

    assert _normalizer_of(json.loads(state.to_json())) == state
    assert _normalizer_of(None) is None


def test_the_cli_instance_gets_the_pool_settings_and_keeps_the_users(tmp_path):
    from pipelines.run import _ensure_instance_config

    home = Home.open(tmp_path / "home")
    _ensure_instance_config(home)
    fresh = (home.dagster / "dagster.yaml").read_text()
    assert "default_limit: 1" in fresh and "free_slots_after_run_end_seconds" in fresh
    (home.dagster / "dagster.yaml").write_text("telemetry:\n  enabled: false\nrun_storage:\n  module: custom\n")
    _ensure_instance_config(home)
    merged = (home.dagster / "dagster.yaml").read_text()
    assert "run_storage:\n  module: custom" in merged and "default_limit: 1" in merged
    assert merged.count("telemetry:") == 1


def test_a_missing_record_is_none_only_where_the_input_allows_it(tmp_path):
    """The leaderboard lists the reports that exist; a report without its model is an error."""
    import dagster as dg

    from pipelines.io import RecordIOManager
    from pipelines.resources import ClinfuseResource

    manager = RecordIOManager(clinfuse=ClinfuseResource(home=str(tmp_path / "home")))
    key = dg.AssetKey(["reports", "medfuse_ihm"])
    assert manager.load_input(dg.build_input_context(asset_key=key, definition_metadata={"allow_missing": True})) \
        is None
    with pytest.raises(ClinfuseError, match="reports/medfuse_ihm is not materialised"):
        manager.load_input(dg.build_input_context(asset_key=key))
    manager.handle_output(dg.build_output_context(asset_key=key), {"metrics": "reports/medfuse_ihm/metrics.json"})
    assert manager.load_input(dg.build_input_context(asset_key=key)) == {"metrics": "reports/medfuse_ihm/metrics.json"}
