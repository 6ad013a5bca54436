"""cohorts/m3h_tasks -> frames/m3h -> models/m3h -> reports/m3h materialised with the whole graph on the small
synthetic source (the session home of tests/conftest.py): labels, frame, the single- vs multi-task report for every
trained task, the tabular view for the baselines, and the m3h rows of the leaderboard."""

from __future__ import annotations

import json

import dagster as dg
import numpy as np

from features.m3h.frame import MODALITIES, load_m3h_frame
from features.m3h.tasks import all_tasks
from models.published import M3H_TASK_NAMES
from pipelines.definitions import defs
from warehouse.lake import catalog


def _record(home, layer: str, name: str) -> dict:
    return json.loads((home.root / "artifacts" / "records" / layer / f"{name}.json").read_text())


def test_the_m3h_assets_form_one_lineage_from_raw_to_report():
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey(["reports", "m3h"])).parent_keys == {dg.AssetKey(["models", "m3h"])}
    assert graph.get(dg.AssetKey(["models", "m3h"])).parent_keys == {dg.AssetKey(["frames", "m3h"])}
    assert graph.get(dg.AssetKey(["models", "m3h"])).pools == {"gpu"}
    assert graph.get(dg.AssetKey(["cohorts", "m3h_tasks"])).parent_keys == {
        dg.AssetKey(k) for k in (["raw", "hosp_diagnoses_icd"], ["raw", "hosp_admissions"], ["cohorts", "haim_samples"])}
    frame_parents = graph.get(dg.AssetKey(["frames", "m3h"])).parent_keys
    for key in (["cohorts", "m3h_tasks"], ["features", "haim"], ["features", "splits"]):
        assert dg.AssetKey(key) in frame_parents, key
    assert dg.AssetKey(["reports", "m3h"]) in graph.get(dg.AssetKey(["reports", "leaderboard"])).parent_keys


def test_task_names_are_the_published_fig4_names():
    assert {t.name for t in all_tasks()} <= set(M3H_TASK_NAMES)


def test_labels_and_frame_are_materialised_and_consistent(materialised):
    home, _ = materialised
    with catalog(home, write=False) as con:
        samples = con.execute("SELECT count(*) FROM cohorts.haim_samples").fetchone()[0]
        tasks = con.execute("SELECT count(*), count(DISTINCT sample_id) FROM cohorts.m3h_tasks").fetchone()
        crossing = con.execute("SELECT count(*) FROM (SELECT subject_id FROM frames.m3h GROUP BY 1 "
                               "HAVING count(DISTINCT split) > 1)").fetchone()[0]
        # a block is NULL exactly where its source had nothing before the image time
        vision = con.execute("SELECT count(*) FROM frames.m3h f JOIN features.haim h USING (sample_id) "
                             "WHERE (f.vd_0 IS NULL) = h.has_cxr_embedding").fetchone()[0]
    assert samples > 0 and tasks == (samples, samples) and crossing == 0 and vision == 0
    frame = load_m3h_frame(home)
    assert frame.num_rows == samples and {"sex", "age", "race", "split"} <= set(frame.column_names)
    rows = frame.select(["has_language", "n_rad_0", "n_dis_0"]).to_pylist()
    assert all(r["has_language"] == (r["n_rad_0"] is not None or r["n_dis_0"] is not None) for r in rows)
    event = dg.DagsterInstance.from_config(str(home.dagster)).get_latest_materialization_event(
        dg.AssetKey(["frames", "m3h"])).asset_materialization
    assert event.tags["dagster/data_version"] == event.metadata["fingerprint"].value
    assert "train_prevalence" in event.metadata


def test_the_report_shows_single_and_multi_task_for_every_trained_task(materialised):
    home, _ = materialised
    record = _record(home, "models", "m3h")
    trained, skipped = record["trained_tasks"], record["skipped_tasks"]
    assert trained and set(trained) | set(skipped) == {t.name for t in all_tasks()}
    assert all(record["train_counts"][t] < record["settings"]["min_train_positives"] or "max_tasks" in why
               or "no training negative" in why or "classes" in why for t, why in skipped.items())
    assert record["checkpoints"]["multi"]["checkpoint"].startswith("artifacts/m3h/")
    report = _record(home, "reports", "m3h")
    doc = json.loads((home.root / report["metrics"]).read_text())
    assert doc["kind"] == "multihead" and doc["model"] == "m3h"
    heads = {(h["model"], h["task"]) for h in doc["heads"]}
    for task in trained:  # a task without a labelled test row has no head but still a table row
        assert (("m3h", task) in heads) == (("m3h_single", task) in heads)
    sections = {s["title"]: s for s in doc["sections"]}
    table = sections["Single-task vs multi-task"]
    assert [r["task"] for r in table["data"]["rows"]] == trained
    assert all(f"| {t} |" in table["markdown"] for t in trained)
    for row in table["data"]["rows"]:  # the best multi-task set of a task holds it and one other task at least
        assert row.get("best_set") is None or (row["task"] in row["best_set"] and len(row["best_set"]) > 1)
    assert sections["Skipped tasks"]["data"]["skipped"] == skipped
    assert "Phenotyping (clustering)" in sections and "Task interaction (TIM)" in sections
    if record["tim"] is not None:
        assert (home.root / report["report_dir"] / "tim_heatmap.png").is_file()
        assert record["tim"]["split"] == "val"
    assert doc["provenance"]["mode"] == "fixed" and doc["provenance"]["mode_description"]
    with catalog(home, write=False) as con:
        models = {m for (m,) in con.execute("SELECT DISTINCT model FROM reports.leaderboard").fetchall()}
    if heads:
        assert {"m3h", "m3h_single"} & models


def test_the_tabular_view_for_the_baselines(materialised):
    from models.m3h.data import tabular_task

    home, _ = materialised
    record = _record(home, "models", "m3h")
    task = tabular_task(home, record["settings"])
    assert task.name == "m3h" and [t.name for t in task.targets] == record["trained_tasks"]
    assert task.X.shape == (len(task.split), len(task.feature_names)) and task.X.dtype == np.float32
    assert np.isnan(task.X).any(), "missing embeddings stay NaN for the baselines to impute"
    assert not {t.name for t in all_tasks()} & set(task.feature_names)
    assert task.fingerprint == record["lineage"]["frame"]["fingerprint"]
    assert set(MODALITIES) and task.description
