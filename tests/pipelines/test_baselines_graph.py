"""The baseline assets in the graph, materialised on the small synthetic source: estimators saved with a
record, one multi-head report with a head per baseline, the validation-only selection in it, and rows in
the leaderboard."""

from __future__ import annotations

import json

import dagster as dg

from models.baselines import BASELINES, FRAMES
from pipelines.definitions import defs
from pipelines.run import materialize_selection
from warehouse.lake import catalog


def test_baseline_assets_read_their_frame_and_their_model():
    graph = defs.resolve_asset_graph()
    for frame in FRAMES:
        model = graph.get(dg.AssetKey(["models", f"baselines_{frame}"]))
        assert dg.AssetKey(["frames", frame]) in model.parent_keys and model.pools == {"gpu"}
        report = graph.get(dg.AssetKey(["reports", f"baselines_{frame}"]))
        assert report.parent_keys == {dg.AssetKey(["models", f"baselines_{frame}"])}
    cxr = graph.get(dg.AssetKey(["models", "baselines_cxr"]))
    assert dg.AssetKey(["embeddings", "cxr_densenet121_chex"]) in cxr.parent_keys
    leaderboard = graph.get(dg.AssetKey(["reports", "leaderboard"]))
    assert dg.AssetKey(["reports", "baselines_ihm"]) in leaderboard.parent_keys


def test_baselines_ihm_model_and_report(materialised, synth_root):
    from warehouse.sources import synthetic_sources

    home, _ = materialised
    materialize_selection(home, synthetic_sources(synth_root), "key:models/baselines_ihm or key:reports/baselines_ihm",
                          settings={"model_profile": "demo"})
    record = json.loads((home.root / "artifacts" / "records" / "models" / "baselines_ihm.json").read_text())
    assert record["artifact_dir"] == "artifacts/baselines/ihm", "relative: a moved home keeps working"
    assert sorted(record["files"]) == sorted(f"{b}/ihm" for b in BASELINES)
    for entry in record["files"].values():
        assert (home.root / record["artifact_dir"] / entry["path"]).is_file()
    assert record["settings"]["profile"] == "demo" and record["n_features"] == 113

    report_record = json.loads((home.root / "artifacts" / "records" / "reports" / "baselines_ihm.json").read_text())
    doc = json.loads((home.root / report_record["metrics"]).read_text())
    assert doc["kind"] == "multihead" and doc["model"] == "baselines_ihm"
    assert sorted(h["model"] for h in doc["heads"]) == sorted(f"baseline_{b}" for b in BASELINES)
    assert {h["task"] for h in doc["heads"]} == {"ihm"}
    for head in doc["heads"]:
        assert head["provenance"]["checkpoint_fingerprint"] == record["fingerprint"]
        assert head["provenance"]["mode"] == "fixed" and head["provenance"]["mode_description"]
        assert "auroc" in head["subsets"]["test_partial"]["metrics"]
    dummy = next(h for h in doc["heads"] if h["model"] == "baseline_dummy")
    assert dummy["subsets"]["test_partial"]["metrics"]["auroc"]["value"] == 0.5  # a constant ranks nothing
    selection = next(s for s in doc["sections"] if "selection" in s["title"])
    assert sorted(s["baseline"] for s in selection["data"]["selection"]) == sorted(BASELINES)
    assert all(s["params"] is not None and s["grid"] for s in selection["data"]["selection"])
    assert (home.root / report_record["html"]).is_file()

    with catalog(home, write=False) as con:
        models = {m for (m,) in con.execute("SELECT DISTINCT model FROM reports.leaderboard WHERE task = 'ihm'")
                  .fetchall()}
    assert {f"baseline_{b}" for b in BASELINES} <= models
