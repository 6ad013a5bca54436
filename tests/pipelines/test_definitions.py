"""The Dagster graph: it loads, its asset keys are the snapshot, and it materialises (two steps at a time)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipelines.definitions import build_assets, build_definitions, defs
from pipelines.resources import ClinfuseResource
from warehouse.lake import catalog

REPO = Path(__file__).resolve().parents[2]
SNAPSHOT = Path(__file__).with_name("asset_keys.txt")


def test_definitions_validate_with_the_dagster_cli(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "CLINFUSE_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-m", "pipelines.definitions"],
                         capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]


def test_asset_keys_match_the_snapshot():
    """A refactor must not silently drop an asset. After an intended change: UPDATE_SNAPSHOT=1 pytest this file."""
    keys = sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys())
    if os.environ.get("UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text("\n".join(keys) + "\n")
    assert keys == SNAPSHOT.read_text().split()


def test_every_asset_has_a_description_code_version_and_a_layer_key():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert len(key.path) == 2 and node.group_name == key.path[0], key
        assert node.description and node.code_version, key


def test_libraries_never_import_dagster():
    pattern = re.compile(r"^\s*(from|import)\s+dagster", re.MULTILINE)
    offenders = [str(p.relative_to(REPO)) for pkg in ("features", "models", "warehouse", "clinfuse")
                 for p in (REPO / pkg).rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_materialise_the_graph_on_a_synthetic_source(materialised):
    home, result = materialised
    assert result["failed_checks"] == [] and result["check_warnings"] == []
    assert result["assets"] == len(defs.resolve_asset_graph().get_all_asset_keys())
    with catalog(home, write=False) as con:
        stays = con.execute("SELECT count(*) FROM raw.icu_icustays").fetchone()[0]
        absent = con.execute("SELECT count(*) FROM raw.sources WHERE status = 'absent'").fetchone()[0]
        images = con.execute("SELECT count(*), bool_and(readable) FROM raw.cxr_images").fetchone()
        notes = con.execute("SELECT count(*) FROM raw.note_discharge").fetchone()[0]
        ihm, ihm_rows = con.execute("SELECT (SELECT count(*) FROM cohorts.ihm_48h), "
                                    "(SELECT count(*) FROM features.timeseries_ihm)").fetchone()
        shards = con.execute("SELECT count(DISTINCT shard) FROM features.timeseries_pheno").fetchone()[0]
    assert stays > 0 and notes > 0 and images[0] > 0 and images[1]
    assert absent > 0  # tables the synthetic source does not write exist as empty typed tables
    assert ihm > 0 and ihm_rows == 24 * ihm  # 48 h at the default 2 h step
    assert shards == 8, "every subject shard was built in the one ranged run"
    assert list(home.dagster.rglob("*.db")), "runs are recorded in the home's Dagster instance, so the UI shows them"


def test_rerun_of_one_shard_keeps_the_others(materialised, synth_root):
    home, _ = materialised
    with catalog(home, write=False) as con:
        before = con.execute("SELECT shard, count(*) FROM features.timeseries_pheno GROUP BY 1 ORDER BY 1").fetchall()
    graph_defs = build_definitions(ClinfuseResource(home=str(home.root), mimic_iv=str(synth_root / "mimic-iv")))
    selection = [dg.AssetKey([schema, name]) for schema, name in
                 (("cohorts", "ihm_48h"), ("cohorts", "phenotyping"), ("features", "timeseries_ihm"),
                  ("features", "timeseries_pheno"))]
    result = dg.materialize(build_assets(8), selection=selection, partition_key="3",
                            resources=graph_defs.resources, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert [m.partition for m in result.asset_materializations_for_node("medfuse_task_tables")] == ["3"] * 4
    with catalog(home, write=False) as con:
        after = con.execute("SELECT shard, count(*) FROM features.timeseries_pheno GROUP BY 1 ORDER BY 1").fetchall()
    assert after == before


def test_the_shard_count_is_fixed_by_the_partitions_not_by_run_config(monkeypatch):
    """CLINFUSE_SHARDS sizes the partitions and the `shards` resource alike; no Launchpad field can change it."""
    monkeypatch.setenv("CLINFUSE_SHARDS", "16")
    graph_defs = build_definitions(ClinfuseResource(home="unused"))
    keys = graph_defs.resolve_asset_graph().get(dg.AssetKey(["features", "timeseries_ihm"])).partitions_def \
        .get_partition_keys()
    assert keys == [str(k) for k in range(16)] and graph_defs.resources["shards"] == 16
    assert "shards" not in ClinfuseResource.model_fields
    job = graph_defs.resolve_implicit_global_asset_job_def()
    with pytest.raises(Exception, match="shards"):
        dg.validate_run_config(job, {"resources": {"clinfuse": {"config": {"shards": 4}}}})


def test_workers_default_to_one_per_core_and_an_in_memory_instance_takes_one(monkeypatch, home):
    from pipelines.run import materialize_selection, worker_count
    from warehouse.lake import ClinfuseError
    from warehouse.sources import Sources

    monkeypatch.delenv("CLINFUSE_WORKERS", raising=False)
    assert worker_count() == os.cpu_count() and worker_count(3) == 3
    monkeypatch.setenv("CLINFUSE_WORKERS", "1")
    assert worker_count() == 1
    for bad, reason in (("two", "CLINFUSE_WORKERS='two': expected a whole number"), ("0", "at least 1")):
        monkeypatch.setenv("CLINFUSE_WORKERS", bad)
        with pytest.raises(ClinfuseError, match=re.escape(reason)):
            worker_count()
    with dg.DagsterInstance.ephemeral() as instance, pytest.raises(ClinfuseError, match="use one worker"):
        materialize_selection(home, Sources(), instance=instance, workers=2)
    assert not (home.root / "run.lock").exists(), "refused before anything was touched"
