"""frames/m3tlm -> models/m3tlm -> reports/m3tlm materialised with the whole graph on the small synthetic
source (the session home of tests/conftest.py), and the m3tlm rows of the leaderboard."""

from __future__ import annotations

import json

import dagster as dg

from features.m3tlm.frame import load_frame
from pipelines.definitions import defs
from warehouse.lake import catalog


def _record(home, layer: str, name: str) -> dict:
    return json.loads((home.root / "artifacts" / "records" / layer / f"{name}.json").read_text())


def test_the_m3tlm_assets_form_one_lineage_from_raw_to_report():
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey(["reports", "m3tlm"])).parent_keys == {dg.AssetKey(["models", "m3tlm"])}
    assert dg.AssetKey(["frames", "m3tlm"]) in graph.get(dg.AssetKey(["models", "m3tlm"])).parent_keys
    frame_parents = graph.get(dg.AssetKey(["frames", "m3tlm"])).parent_keys
    for key in (["raw", "hosp_labevents"], ["raw", "icu_chartevents"], ["features", "cxr_tensors"], ["features", "splits"]):
        assert dg.AssetKey(key) in frame_parents, key
    assert graph.get(dg.AssetKey(["models", "m3tlm"])).pools == {"gpu"}
    assert graph.get(dg.AssetKey(["frames", "m3tlm"])).group_name == "frames"


def test_the_frame_model_and_report_are_materialised_and_consistent(materialised):
    home, _ = materialised
    frame = load_frame(home).to_pylist()
    assert frame and {r["split"] for r in frame} <= {"train", "val", "test"}
    assert all(r["frame_mode"] == "fixed" and r["window_hours"] == 24 and r["los_days"] >= 0 for r in frame)
    assert all((r["prediction_time"] - r["admittime"]).total_seconds() == 24 * 3600 for r in frame)
    assert all(r["cxr_time"] <= r["prediction_time"] for r in frame if r["has_cxr"])
    instance = dg.DagsterInstance.from_config(str(home.dagster))
    event = instance.get_latest_materialization_event(dg.AssetKey(["frames", "m3tlm"])).asset_materialization
    assert event.tags["dagster/data_version"] == event.metadata["fingerprint"].value

    model = _record(home, "models", "m3tlm")
    assert (home.root / model["checkpoint"]).is_file() and model["settings"]["profile"] == "demo"
    assert model["lineage"]["frame"]["fingerprint"] == event.metadata["fingerprint"].value
    trajectory = model["gradnorm"]
    assert len(trajectory) == model["settings"]["epochs"] + 1 and trajectory[0]["weights"] == [0.5, 0.5]
    assert all(abs(sum(row["weights"]) - 1) < 1e-9 for row in trajectory)
    assert model["split_sizes"]["train_oversampled"] >= model["split_sizes"]["train"]

    report = _record(home, "reports", "m3tlm")
    doc = json.loads((home.root / report["metrics"]).read_text())
    assert doc["kind"] == "multihead" and doc["provenance"]["mode"] == "fixed"
    heads = {h["task"]: h for h in doc["heads"]}
    assert heads["los"]["kind"] == "regression" and heads["mortality"]["kind"] == "binary"
    assert {h["model"] for h in doc["heads"]} == {"m3tlm"}
    assert {"mae", "rmse", "r2", "explained_variance"} <= set(heads["los"]["subsets"]["test_partial"]["metrics"])
    assert {"accuracy", "precision", "recall", "f1_binary", "auroc"} <= \
        set(heads["mortality"]["subsets"]["test_partial"]["metrics"])
    titles = [s["title"] for s in doc["sections"]]
    assert "GradNorm task weights" in titles and "Mode and leakage" in titles
    assert (home.root / report["report_dir"] / "m3tlm_gradnorm.png").is_file()
    assert "GradNorm" in (home.root / report["html"]).read_text()
    assert {"los_mae", "mortality_auroc", "los_mean_predictor_mae"} <= set(report["headline"])


def test_the_leaderboard_lists_both_m3tlm_heads(materialised):
    home, _ = materialised
    with catalog(home, write=False) as con:
        tasks = {t for (t,) in con.execute("SELECT DISTINCT task FROM reports.leaderboard WHERE model = 'm3tlm'")
                 .fetchall()}
    assert tasks == {"los", "mortality"}
