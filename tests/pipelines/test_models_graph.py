"""The model side of the graph, materialised on the small synthetic source: frames, models, reports,
leaderboard, lineage from raw to report, and run config from the command line."""

from __future__ import annotations

import json

import dagster as dg
import pyarrow.parquet as pq
import pytest

from features.frames import FRAMES, load_task_frame
from models.profiles import FAMILY_TASKS, model_name
from pipelines.definitions import defs
from pipelines.run import materialize_selection, run_config_for
from warehouse.lake import ClinfuseError, catalog


def _instance(home):
    return dg.DagsterInstance.from_config(str(home.dagster))


def test_frames_carry_only_what_was_known_at_prediction_time(materialised):
    home, _ = materialised
    for task in ("ihm", "pheno"):
        frame = load_task_frame(home, task).to_pylist()
        assert frame and all(r["split"] in ("train", "val", "test") for r in frame)
        assert all(r["ts_length"] == len(r["ts_values"] or []) for r in frame)
        paired = [r for r in frame if r["has_cxr"]]
        assert paired and all(r["dicom_id"] and r["cxr_time"] <= r["prediction_time"] for r in paired)
        assert all(r["dicom_id"] is None for r in frame if not r["has_cxr"])
        assert set(FRAMES[task].label_columns) <= set(frame[0])
    with catalog(home, write=False) as con:
        # the time series steps in a frame never begin after the prediction time
        late = con.execute("""
            SELECT count(*) FROM frames.ihm f JOIN features.timeseries_ihm t USING (stay_id)
            WHERE t.step < f.ts_length AND t.asof_time > f.prediction_time""").fetchone()[0]
        crossing = con.execute("""
            SELECT count(*) FROM (SELECT subject_id FROM frames.pheno GROUP BY 1 HAVING count(DISTINCT split) > 1)
        """).fetchone()[0]
    assert late == 0 and crossing == 0


def test_frame_metadata_records_the_build_settings_and_a_data_version(materialised):
    home, _ = materialised
    event = _instance(home).get_latest_materialization_event(dg.AssetKey(["frames", "ihm"]))
    meta = event.asset_materialization.metadata
    assert meta["build_settings"].value == {"mode": "fixed", "timestep_hours": 2.0, "shards": 8}
    assert event.asset_materialization.tags["dagster/data_version"] == meta["fingerprint"].value


def test_lineage_runs_from_raw_to_report():
    graph = defs.resolve_asset_graph()

    def upstream(key):
        seen, todo = set(), [key]
        while todo:
            for parent in graph.get(todo.pop()).parent_keys:
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    report = upstream(dg.AssetKey(["reports", "medfuse_ihm"]))
    for key in (["models", "medfuse_ihm"], ["models", "uni_ehr_ihm"], ["models", "uni_cxr"], ["frames", "ihm"],
                ["features", "timeseries_ihm"], ["features", "cxr_tensors"], ["raw", "icu_chartevents"]):
        assert dg.AssetKey(key) in report, key
    assert graph.get(dg.AssetKey(["reports", "medfuse_ihm"])).parent_keys == {dg.AssetKey(["models", "medfuse_ihm"])}
    for family, task in FAMILY_TASKS:
        node = graph.get(dg.AssetKey(["models", model_name(family, task)]))
        assert node.pools == {"gpu"}


def test_every_model_has_a_checkpoint_a_report_and_a_leaderboard_row(materialised):
    home, _ = materialised
    instance = _instance(home)
    with catalog(home, write=False) as con:
        rows = con.execute("SELECT DISTINCT model, task FROM reports.leaderboard").fetchall()
        columns = [c[0] for c in con.execute("DESCRIBE reports.leaderboard").fetchall()]
    assert {"model", "task", "subset", "metric", "value", "ci_low", "ci_high"} <= set(columns)
    models = {m for m, _ in rows}
    # every family of the graph: the fusion side, the multitask models and every baseline
    assert {family for family, _ in FAMILY_TASKS} | {"m3tlm", "m3h", "m3h_single"} <= models
    assert {f"baseline_{b}" for b in ("dummy", "linear", "random_forest", "hist_gbm", "xgboost", "mlp")} <= models
    for family, task in FAMILY_TASKS:
        name = model_name(family, task)
        record = json.loads((home.root / "artifacts" / "records" / "models" / f"{name}.json").read_text())
        assert (home.root / "artifacts" / family / task / "best.pt").is_file()
        assert record["checkpoint"] == f"artifacts/{family}/{task}/best.pt", "relative: a moved home keeps working"
        assert record["lineage"]["frame"]["task"] == task
        report = home.root / "reports" / name
        for file in ("report.html", "report.md", "metrics.json", "roc.png"):
            assert (report / file).is_file(), (name, file)
        doc = json.loads((report / "metrics.json").read_text())
        assert doc["provenance"]["checkpoint_fingerprint"] == record["fingerprint"]
        meta = instance.get_latest_materialization_event(dg.AssetKey(["reports", name])).asset_materialization.metadata
        assert any(isinstance(v.value, float) for v in meta.values()), "headline metrics are numbers in the UI"
    fusion = json.loads((home.root / "reports" / "medfuse_ihm" / "metrics.json").read_text())
    assert fusion["provenance"]["weights_sources"]["cxr_encoder"].startswith("stage-1 uni_cxr")
    assert pq.read_table(home.root / "reports" / "leaderboard" / "leaderboard.parquet").num_rows > 0


def test_retraining_with_one_seed_gives_byte_identical_metrics(materialised, synth_root):
    home, _ = materialised
    before = (home.root / "reports" / "uni_ehr_ihm" / "metrics.json").read_bytes()
    from warehouse.sources import synthetic_sources

    materialize_selection(home, synthetic_sources(synth_root), "key:models/uni_ehr_ihm or key:reports/uni_ehr_ihm",
                          settings={"model_profile": "demo"})
    assert (home.root / "reports" / "uni_ehr_ihm" / "metrics.json").read_bytes() == before


def test_run_config_from_the_command_line_is_validated(tmp_path):
    assert run_config_for(defs, None, ("models/medfuse_ihm.epochs=2", "features/timeseries_events.mode=faithful",
                                       "features/timeseries_ihm.timestep_hours=1.0")) == {
        "ops": {"models__medfuse_ihm": {"config": {"epochs": 2}},
                "features__timeseries_events": {"config": {"mode": "faithful"}},
                "medfuse_task_tables": {"config": {"timestep_hours": 1.0}}}}
    config = tmp_path / "run.yaml"
    config.write_text("ops:\n  medfuse_task_tables:\n    config:\n      timestep_hours: 1.0\n")
    assert run_config_for(defs, str(config), ())["ops"]["medfuse_task_tables"]["config"] == {"timestep_hours": 1.0}
    with pytest.raises(ClinfuseError, match="no asset 'models/nope'"):
        run_config_for(defs, None, ("models/nope.epochs=2",))
    with pytest.raises(ClinfuseError, match="ASSET.FIELD=VALUE"):
        run_config_for(defs, None, ("epochs",))


def test_a_bad_config_value_is_one_line_before_anything_runs(tmp_path, synth_root):
    from warehouse.lake import Home
    from warehouse.sources import synthetic_sources

    home = Home.open(tmp_path / "home")
    for bad, expected in (("models/medfuse_ihm.mode=sideways", "sideways"),
                          ("models/medfuse_ihm.epochz=3", "epochz")):
        with pytest.raises(ClinfuseError, match=expected) as err:
            materialize_selection(home, synthetic_sources(synth_root), "models/medfuse_ihm", sets=(bad,))
        assert "\n" not in str(err.value)
    assert not home.table_dir("raw", "icu_icustays").exists(), "nothing ran"


def test_a_missing_frame_says_what_to_materialise_first(tmp_path):
    from features.frames import write_task_frame
    from warehouse.lake import Home

    with pytest.raises(ClinfuseError, match="materialise cohorts/ihm_48h first"):
        write_task_frame(Home.open(tmp_path / "home"), "ihm")


def test_the_instance_the_cli_creates_gives_the_gpu_pool_one_slot(materialised):
    home, _ = materialised
    info = _instance(home).event_log_storage.get_concurrency_info("gpu")
    assert info.slot_count == 1 and not info.claimed_slots, "training steps queue for the one GPU slot"


def _training_step(home, pid: int):
    """(pid, start, end) of the step of the run that `clinfuse run` process `pid` started, once it started."""
    from tests.graph import step_processes

    instance = _instance(home)
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"clinfuse/pid": str(pid)}))
    steps = step_processes(instance, runs[0].run_id) if runs else {}
    return next(iter(steps.values()), None)


def _running(pid: int) -> bool:
    """A process that exists and is not a zombie (a killed child waits, dead, for its parent to reap it)."""
    from pathlib import Path

    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_a_training_killed_outright_does_not_block_the_next_run(materialised, synth_root, tmp_path):
    """SIGKILL mid-training leaves the run "started" with the gpu slot claimed; the next run frees it."""
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    from warehouse.lake import Home
    from warehouse.sources import synthetic_sources

    home = Home.open(tmp_path / "home")
    shutil.copytree(materialised[0].root, home.root, dirs_exist_ok=True)
    env = {**os.environ, "CLINFUSE_WEIGHTS": "auto", "CLINFUSE_MODEL_PROFILE": "demo"}
    proc = subprocess.Popen([sys.executable, "-m", "clinfuse.cli", "run", "--home", str(home.root),
                             "--select", "key:models/uni_ehr_pheno",
                             "--set", "models/uni_ehr_pheno.epochs=5000", "--set", "models/uni_ehr_pheno.patience=5000"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while not (step := _training_step(home, proc.pid)) \
            or not _instance(home).event_log_storage.get_concurrency_info("gpu").claimed_slots:
        assert proc.poll() is None and time.monotonic() < deadline, "the training never claimed the gpu slot"
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30  # its step process (a worker of the killed run) goes with it
    while _running(step[0]):
        assert time.monotonic() < deadline, f"the killed run's step process {step[0]} is still running"
        time.sleep(0.2)
    messages = []
    materialize_selection(home, synthetic_sources(synth_root), "key:models/uni_ehr_ihm",
                          settings={"model_profile": "demo"}, progress=messages.append)
    assert any("killed process" in m for m in messages)
    assert not _instance(home).event_log_storage.get_concurrency_info("gpu").claimed_slots


def test_a_fusion_model_refuses_a_stage1_image_encoder_trained_on_other_images(materialised):
    from models.runner import train_model

    home, _ = materialised
    records = home.root / "artifacts" / "records" / "models"
    stage1 = {"ehr": json.loads((records / "uni_ehr_ihm.json").read_text()),
              "cxr": json.loads((records / "uni_cxr.json").read_text())}
    with pytest.raises(ClinfuseError, match="image_size is 96 but the stage-1 models/uni_cxr was trained with 64"):
        train_model(home, "medfuse", "ihm", profile="demo", overrides={"image_size": 96}, stage1=stage1,
                    weights_policy="auto")
