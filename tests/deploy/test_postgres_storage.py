"""The deployment's dagster.yaml (docker/dagster.yaml) against a real PostgreSQL server, without containers:
the storages are PostgreSQL's, the pools are enforced, a materialisation run in its own process (as the
user-code container runs them) and the daemon's ticks are stored there and read back by another instance."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import REPO
from tests.postgres import postgres_server

pytest.importorskip("dagster_postgres")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """DAGSTER_HOME holding the deployment's dagster.yaml, and the environment docker/.env would give."""
    with postgres_server() as server:
        dagster_home = tmp_path_factory.mktemp("dagster_home")
        shutil.copy(REPO / "docker" / "dagster.yaml", dagster_home / "dagster.yaml")
        env = {**os.environ, **server.env(), "DAGSTER_HOME": str(dagster_home)}
        yield dagster_home, env


def _instance(dagster_home: Path, env: dict) -> dg.DagsterInstance:
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("DAGSTER_")})
    try:
        return dg.DagsterInstance.from_config(str(dagster_home))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_storages_and_pools_are_postgres(deployment):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    instance = _instance(*deployment)
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert instance.event_log_storage.supports_global_concurrency_limits
    pools = instance.get_concurrency_config().pool_config
    assert pools.default_pool_limit == 1  # gpu and duckdb: one step at a time across all runs


@pytest.mark.slow
def test_materialisation_and_daemon_ticks_are_stored(deployment, synth_root, tmp_path):
    dagster_home, env = deployment
    env = {**env, "CLINFUSE_HOME": str(tmp_path / "home"), "CLINFUSE_MIMIC_IV": str(synth_root / "mimic-iv"),
           "CLINFUSE_MIMIC_CXR": "", "CLINFUSE_MIMIC_NOTE": "", "PYTHONPATH": os.pathsep.join(
               p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
    key = dg.AssetKey(["raw", "hosp_patients"])
    result = subprocess.run([sys.executable, "-m", "dagster", "asset", "materialize", "-m", "pipelines.definitions",
                             "--select", key.to_user_string()], env=env, cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]

    daemon = subprocess.Popen([sys.executable, "-m", "dagster._daemon", "run", "-m", "pipelines.definitions"],
                              env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        instance = _instance(dagster_home, env)  # a second instance: everything it sees came through PostgreSQL
        event = instance.get_latest_materialization_event(key)
        assert event is not None and event.asset_materialization.metadata["rows"].value > 0
        runs = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS]))
        assert len(runs) == 1
        wanted = {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR"}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and daemon.poll() is None:
            if wanted <= set(instance.get_daemon_heartbeats()):
                break
            time.sleep(2)
        assert daemon.poll() is None, daemon.stderr.read()[-2000:]
        assert wanted <= set(instance.get_daemon_heartbeats())
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)


@pytest.mark.slow
def test_shard_steps_in_their_own_processes_against_postgres(deployment, synth_root, tmp_path):
    """Beyond one machine, each step may run anywhere: here `clinfuse run` with two workers records to the
    deployment's PostgreSQL storage, over a shard-partitioned selection on two shards, every step in a process
    of its own; the outputs equal an in-process run's, so no step relied on state in another process."""
    from tests.graph import catalog_contents, materialise, start_cli_run, step_processes
    from warehouse.lake import Home
    from warehouse.sources import synthetic_sources

    dagster_home, env = deployment
    selection = "+key:features/timeseries_ihm"  # raw -> cohorts -> features/timeseries_* (per shard)
    home = Home.open(tmp_path / "home")
    shutil.copy(REPO / "docker" / "dagster.yaml", home.dagster / "dagster.yaml")  # the same storage settings
    run = start_cli_run(home.root, synth_root, selection, workers=2, shards=2, env=env)
    _, err = run.communicate(timeout=1200)
    assert run.returncode == 0, err[-3000:]

    instance = _instance(dagster_home, env)  # what the steps recorded, read back through PostgreSQL
    [recorded] = instance.get_runs(filters=dg.RunsFilter(tags={"clinfuse/pid": str(run.pid)}))
    assert recorded.status == dg.DagsterRunStatus.SUCCESS
    assert recorded.tags["dagster/asset_partition_range_end"] == "1"
    steps = step_processes(instance, recorded.run_id)
    # the shard-partitioned step (features/timeseries_*, both shards), the cohorts and the raw tables it reads
    assert {"medfuse_task_tables", "cohorts__icu_stays", "raw__icu_chartevents"} <= set(steps), sorted(steps)
    pids = [pid for pid, _, _ in steps.values()]
    assert len(set(pids)) == len(pids) and run.pid not in pids, "one process per step, none the run's own"

    reference = Home.open(tmp_path / "reference")
    materialise(reference, synthetic_sources(synth_root), selection, shards=2)  # one process, in memory
    got, want = catalog_contents(home), catalog_contents(reference)
    assert "features.timeseries_ihm" in want and all(rows for rows, _ in want.values())
    assert got == want
