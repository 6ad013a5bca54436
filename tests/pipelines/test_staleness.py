"""What Dagster's staleness API says after a rebuild that changed nothing (SPEC §8): an unchanged source
re-ingested leaves everything downstream up to date, and an asset whose code changed is unsynced, requested by
the retrain tick, and, rebuilt with identical output, leaves its children up to date (they are not requested).
On the part of the graph from the raw tables to the time-series normalisers and cohorts/los."""

from __future__ import annotations

import datetime as dt
import re

import dagster as dg
import pytest
from dagster._core.definitions.data_version import StaleStatus
from dagster._utils.test.data_versions import get_stale_status_resolver

from pipelines.definitions import build_definitions
from pipelines.resources import ClinfuseResource
from pipelines.run import home_instance, materialize_selection
from warehouse.lake import Home
from warehouse.sources import synthetic_sources

TARGETS = [dg.AssetKey(["features", "normalizer_ihm"]), dg.AssetKey(["cohorts", "los"])]
ICU_STAYS = dg.AssetKey(["cohorts", "icu_stays"])
MONDAY = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
SUNDAY_TICK = dt.datetime(2026, 12, 6, 3, 5, tzinfo=dt.UTC)  # after the default retrain cron's tick


def _selection(keys) -> str:
    return " or ".join(f'key:"{k.to_user_string()}"' for k in sorted(keys))


@pytest.fixture(scope="module")
def built(synth_root, tmp_path_factory):
    """A home with the targets and everything upstream materialised in its own Dagster instance: (home, keys).
    The tests rebuild assets with identical output, so they share it (the first leaves every version as it was)."""
    home = Home.open(tmp_path_factory.mktemp("staleness") / "home")
    graph = build_definitions(ClinfuseResource(home=str(home.root))).resolve_asset_graph()
    keys = dg.AssetSelection.assets(*TARGETS).upstream().resolve(graph)
    result = materialize_selection(home, synthetic_sources(synth_root), _selection(keys))
    built_keys = {dg.AssetKey.from_user_string(k) for k in result["metadata"]}
    return home, built_keys


def _definitions(home: Home, changed: dg.AssetKey | None = None) -> dg.Definitions:
    """The graph, with `changed`'s code version edited (as a change to its SQL file would)."""
    defs = build_definitions(ClinfuseResource(home=str(home.root)))
    if changed is None:
        return defs
    assets = [a.map_asset_specs(lambda s: s.replace_attributes(code_version="edited") if s.key == changed else s)
              if isinstance(a, dg.AssetsDefinition) else a for a in defs.assets]
    return dg.Definitions(assets=assets, resources=defs.resources)


def _not_fresh(defs, instance, keys) -> dict[str, list[str]]:
    """The built assets (partitions) outside `raw` that the staleness API does not call up to date, with why."""
    graph = defs.resolve_asset_graph()
    resolver = get_stale_status_resolver(instance, defs.assets)  # Dagster's CachingStaleStatusResolver
    found = {}
    for key in sorted(keys):
        node = graph.get(key)
        if node.group_name == "raw":
            continue
        for partition in node.partitions_def.get_partition_keys() if node.partitions_def else [None]:
            if resolver.get_status(key, partition) != StaleStatus.FRESH:
                name = key.to_user_string() + (f"[{partition}]" if partition else "")
                found[name] = [c.reason for c in resolver.get_stale_causes(key, partition)]
    return found


def _requested(defs, instance, when, cursor, keys):
    """What the retrain automation requests among the built assets (the rest of the graph is missing)."""
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=when, cursor=cursor)
    return {r.key for r in result.results if r.true_subset.size} & keys, result.cursor


def _data_version(instance, key) -> str:
    return instance.get_latest_materialization_event(key).asset_materialization.tags["dagster/data_version"]


@pytest.mark.slow
def test_an_unchanged_source_re_ingested_leaves_everything_downstream_up_to_date(built, synth_root):
    home, keys = built
    defs = _definitions(home)
    raw = [dg.AssetKey(["raw", t]) for t in ("hosp_patients", "icu_icustays", "icu_chartevents")]
    with home_instance(home) as instance:
        assert _not_fresh(defs, instance, keys) == {}, "built in one run: up to date"
        _, cursor = _requested(defs, instance, MONDAY, None, keys)
        before = {key: _data_version(instance, key) for key in raw}
        runs = len(instance.get_runs())
    materialize_selection(home, synthetic_sources(synth_root), _selection(raw))
    with home_instance(home) as instance:
        assert len(instance.get_runs()) == runs + 1
        assert {key: _data_version(instance, key) for key in raw} == before, "the files' sha256"
        assert _not_fresh(defs, instance, keys) == {}
        requested, _ = _requested(defs, instance, SUNDAY_TICK, cursor, keys)
    assert requested == set(), "nothing to rebuild at the weekly tick"


@pytest.mark.slow
def test_an_asset_whose_code_changed_is_rebuilt_alone_when_its_output_is_identical(built):
    home, keys = built
    edited = _definitions(home, ICU_STAYS)
    with home_instance(home) as instance:
        _, cursor = _requested(_definitions(home), instance, MONDAY, None, keys)
        assert list(_not_fresh(edited, instance, keys)) == [ICU_STAYS.to_user_string()], "unsynced: code changed"
        requested, cursor = _requested(edited, instance, SUNDAY_TICK, cursor, keys)
        assert requested == {ICU_STAYS}, "only the asset whose code changed; its children wait for its new data"

        before = _data_version(instance, ICU_STAYS)
        assert dg.materialize(edited.assets, selection=[ICU_STAYS], instance=instance,
                              resources=edited.resources).success
        assert _data_version(instance, ICU_STAYS) == before, "the same bytes: the same data version"
        assert _not_fresh(edited, instance, keys) == {}
        requested, _ = _requested(edited, instance, SUNDAY_TICK + dt.timedelta(minutes=1), cursor, keys)
        assert requested == set(), "its children (cohorts/los, the task tables, ...) are not rebuilt"

        # the code edited back (the other tests share the home): rebuilt again, and again nothing else is stale
        original = _definitions(home)
        assert dg.materialize(original.assets, selection=[ICU_STAYS], instance=instance,
                              resources=original.resources).success
        assert _not_fresh(original, instance, keys) == {}


@pytest.mark.slow
def test_per_shard_tables_rebuilt_identical_keep_their_data_versions(built):
    home, keys = built
    defs = _definitions(home)
    tables = [dg.AssetKey(["cohorts", "ihm_48h"]), dg.AssetKey(["cohorts", "phenotyping"]),
              dg.AssetKey(["features", "timeseries_ihm"]), dg.AssetKey(["features", "timeseries_pheno"])]
    shards = defs.resolve_asset_graph().get(tables[0]).partitions_def.get_partition_keys()
    with home_instance(home) as instance:
        before = {key: _data_version(instance, key) for key in tables}
        result = dg.materialize(defs.assets, selection=tables, instance=instance, resources=defs.resources,
                                tags={"dagster/asset_partition_range_start": shards[0],
                                      "dagster/asset_partition_range_end": shards[-1]})
        assert result.success
        content = {m.partition: m.metadata["content"].value
                   for m in result.asset_materializations_for_node("medfuse_task_tables") if m.asset_key == tables[2]}
        assert sorted(content, key=int) == shards, "each shard's own content hash on its partition"
        assert all(re.fullmatch(r"[0-9a-f]{16}", v) for v in content.values())
        assert {key: _data_version(instance, key) for key in tables} == before
        assert _not_fresh(defs, instance, keys) == {}, "the normalisers and splits stay up to date"
