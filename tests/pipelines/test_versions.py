"""Staleness inputs and concurrency of the graph: every code version is a hash of the code and SQL an asset runs,
a SQL edit changes exactly the assets that run that file, error checks block their children, and the pools."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import pytest

from pipelines.definitions import defs
from pipelines.logs import error_reason
from warehouse.ingest import INGEST_CODE_VERSION

REPO = Path(__file__).resolve().parents[2]
WARNING_CHECKS = {"manifest_rows", "label_prevalence", "no_unseen_categories", "embeddings_present"}
_PRINT_VERSIONS = ("import json, warnings; warnings.simplefilter('ignore'); from pipelines.definitions import defs; "
                   "print(json.dumps({n.key.to_user_string(): n.code_version "
                   "for n in defs.resolve_asset_graph().asset_nodes}))")


def _code_versions() -> dict[str, str]:
    return {n.key.to_user_string(): n.code_version for n in defs.resolve_asset_graph().asset_nodes}


def test_every_code_version_is_a_hash_of_source_files():
    for key, version in _code_versions().items():
        if key.startswith("raw/"):  # the documented ingest layout version (warehouse.ingest)
            assert version == INGEST_CODE_VERSION, key
        else:
            assert re.fullmatch(r"[0-9a-f]{12}", version or ""), f"{key}: code_version {version!r}"


def _versions_after_editing(tmp: Path, rel: str) -> dict[str, str]:
    """The code versions of a copy of the repository in which `rel` gained a comment line."""
    tree = tmp / rel.replace("/", "_")
    shutil.copytree(REPO, tree, ignore=shutil.ignore_patterns(".git", "__pycache__", ".venv", "tests", "bench"))
    with (tree / rel).open("a") as f:
        f.write("\n-- edited\n")
    out = subprocess.run([sys.executable, "-c", _PRINT_VERSIONS], cwd=tree, capture_output=True, text=True,
                         env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "HOME": str(tmp)}, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("edits", [{
    "warehouse/sql/cohorts/los.sql": {"cohorts/los"},
    "features/haim/events.sql": {"features/haim", "features/haim_faithful"},
}])
def test_a_sql_edit_changes_exactly_the_assets_that_run_it(tmp_path, edits):
    before = _code_versions()
    with ThreadPoolExecutor(len(edits)) as pool:
        after = dict(zip(edits, pool.map(lambda rel: _versions_after_editing(tmp_path, rel), edits), strict=True))
    for rel, expected in edits.items():
        assert after[rel].keys() == before.keys()
        assert {k for k in before if after[rel][k] != before[k]} == expected, rel


def test_error_checks_block_their_children_and_warnings_do_not():
    specs = [spec for assets in defs.assets if isinstance(assets, dg.AssetsDefinition) for spec in assets.check_specs]
    assert {spec.name for spec in specs} >= WARNING_CHECKS | {"schema", "keys_not_null", "no_nan"}
    for spec in specs:
        assert spec.blocking == (spec.name not in WARNING_CHECKS), f"{spec.asset_key.to_user_string()}:{spec.name}"


def test_a_failed_error_check_stops_the_steps_after_it_and_the_error_names_it():
    @dg.asset(check_specs=[dg.AssetCheckSpec("keys_not_null", asset="parent", blocking=True)])
    def parent():
        yield dg.Output(1)
        yield dg.AssetCheckResult(check_name="keys_not_null", passed=False, severity=dg.AssetCheckSeverity.ERROR)

    @dg.asset
    def child(parent):
        return parent + 1

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([parent, child], instance=instance, raise_on_error=False)
    assert not result.success
    assert [m.asset_key for m in result.get_asset_materialization_events()] == [dg.AssetKey("parent")]
    assert [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"] == ["parent"]
    failure = next(e for e in result.all_events if e.is_step_failure)
    # the one line `clinfuse run` prints for the failed step (pipelines.run.materialize_selection)
    assert error_reason(failure.step_failure_data.error) == \
        "1 blocking asset check failed with ERROR severity: parent: keys_not_null"


def test_embedding_training_and_catalog_writing_assets_are_pooled():
    pools = {n.key.to_user_string(): n.pools for n in defs.resolve_asset_graph().asset_nodes}
    catalog_writers = {"raw/sources", "store/registry", "reports/leaderboard"}
    for key, pool in pools.items():
        if key.startswith(("embeddings/", "models/")):
            assert pool == {"gpu"}, key
        elif key in catalog_writers:
            assert pool == {"duckdb"}, key
        else:
            assert not pool, key


def test_the_home_instance_declares_both_pools_with_one_slot(tmp_path):
    from pipelines.run import home_instance
    from warehouse.lake import Home

    home = Home.open(tmp_path / "home")
    for _ in range(2):  # a second opening finds them in place
        with home_instance(home) as instance:
            limits = {p.name: (p.limit, p.from_default) for p in instance.event_log_storage.get_pool_limits()}
            config = instance.get_concurrency_config().pool_config
            assert instance.event_log_storage.supports_global_concurrency_limits
        assert limits == {"gpu": (1, False), "duckdb": (1, False)}
        assert config.default_pool_limit == 1 and config.pool_granularity.value == "op"
