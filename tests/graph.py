"""Tests build tables the way users do: through the Dagster assets (pipelines.run.materialize_selection),
recorded in an in-memory instance (the on-disk event log costs seconds per run and no test reads it), so
every step runs in the test's process (one worker)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from warehouse.lake import ClinfuseError, Home
from warehouse.sources import Sources


def materialise(home: Home, sources: Sources, selection: str, *, shards: int, **kwargs) -> dict:
    """Materialise `selection` (whole multi-assets, every shard in one ranged run); raise on a failed step.
    Returns materialize_selection's result: `metadata` maps each asset key to its materialisation metadata."""
    from pipelines.run import materialize_selection

    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize_selection(home, sources, selection, shards=shards, instance=instance, workers=1,
                                       **kwargs)
    if result["failed_checks"]:
        raise ClinfuseError(f"failed checks: {', '.join(result['failed_checks'])}")
    return result


def step_processes(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[int, float, float | None]]:
    """From a run's event log: step key -> (pid of the process that ran it, start time, end time or None)."""
    kinds = dg.DagsterEventType
    steps: dict[str, tuple[int, float, float | None]] = {}
    for entry in instance.all_logs(run_id, of_type={kinds.STEP_START, kinds.STEP_SUCCESS, kinds.STEP_FAILURE}):
        event = entry.dagster_event
        if event.event_type == kinds.STEP_START:
            steps[event.step_key] = (event.pid, entry.timestamp, None)
        else:
            steps[event.step_key] = (*steps[event.step_key][:2], entry.timestamp)
    return steps


def catalog_contents(home: Home) -> dict[str, tuple[int, str]]:
    """Every view of the home's catalog: its row count and a hash of its rows, whatever their order."""
    from warehouse.lake import catalog

    with catalog(home, write=False) as con:
        views = con.execute("SELECT schema_name || '.' || view_name FROM duckdb_views() "
                            "WHERE NOT internal ORDER BY 1").fetchall()
        return {name: con.execute(f"SELECT count(*), md5(coalesce(string_agg(md5(CAST(t AS VARCHAR)), ',' "
                                  f"ORDER BY md5(CAST(t AS VARCHAR))), '')) FROM {name} t").fetchone()
                for (name,) in views}


def start_cli_run(home: Path, sources_root: Path, selection: str, *, workers: int, shards: int,
                  env: dict | None = None) -> subprocess.Popen:
    """A real `clinfuse run` process on this repository's code (stdout and stderr piped, as text)."""
    repo = str(Path(__file__).resolve().parents[1])
    env = {**(env or os.environ), "CLINFUSE_SHARDS": str(shards),
           "PYTHONPATH": os.pathsep.join(p for p in (repo, os.environ.get("PYTHONPATH", "")) if p)}
    return subprocess.Popen([sys.executable, "-m", "clinfuse.cli", "run", "--home", str(home), "--mimic-iv",
                             str(sources_root), "--select", selection, "--workers", str(workers)],
                            env=env, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
