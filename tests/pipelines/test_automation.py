"""The source sensor and the retrain automation request exactly what changed, in each case: nothing changed,
one source file changed, one asset's code changed, a parent's data changed or came out identical."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil

import dagster as dg
import pytest

from pipelines.automation import DEFAULT_RETRAIN_CRON, source_files
from pipelines.definitions import build_definitions
from pipelines.resources import ClinfuseResource
from warehouse.sources import synthetic_sources

RAW_SOURCES = dg.AssetKey(["raw", "sources"])


def _tick(resource: ClinfuseResource, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(cursor=cursor, resources={"clinfuse": resource})
    return source_files(context)


def _requested(result: dg.SensorResult) -> set[dg.AssetKey]:
    return {key for request in result.run_requests for key in request.asset_selection}


def _touch(path, seconds: int = 60) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds * 10**9))


def test_source_sensor_requests_only_changed_tables(synth_copy, tmp_path):
    sources = synthetic_sources(synth_copy)
    resource = ClinfuseResource(home=str(tmp_path / "home"), **{k: v or "" for k, v in sources.as_dict().items()})
    first = _tick(resource, None)  # a home never ingested: every table with a file
    layouts = resource.layouts()
    files = {t: p for layout in layouts.values() for t, p in layout.files.items()}
    assert _requested(first) == {dg.AssetKey(["raw", t]) for t in files} | {dg.AssetKey(["raw", "cxr_images"]),
                                                                             RAW_SOURCES}
    cursor = first.cursor

    unchanged = _tick(resource, cursor)
    assert not unchanged.run_requests and "no source file changed" in unchanged.skip_reason.skip_message

    _touch(files["hosp_admissions"])
    one = _tick(resource, cursor)
    assert _requested(one) == {dg.AssetKey(["raw", "hosp_admissions"]), RAW_SOURCES}
    again = _tick(resource, cursor)  # the same change seen twice (a restarted daemon): the same run key
    assert again.run_requests[0].run_key == one.run_requests[0].run_key
    assert not _tick(resource, one.cursor).run_requests

    _touch(files["cxr_metadata"])  # the image list follows the metadata that lists every image
    assert _requested(_tick(resource, one.cursor)) == {dg.AssetKey(["raw", "cxr_metadata"]),
                                                       dg.AssetKey(["raw", "cxr_images"]), RAW_SOURCES}


def test_source_sensor_first_look_at_an_ingested_home_is_a_baseline(materialised):
    home, _ = materialised
    resource = ClinfuseResource(home=str(home.root))
    result = _tick(resource, None)
    assert not result.run_requests and json.loads(result.cursor)


@pytest.fixture
def history(materialised, tmp_path):
    """A copy of the materialised home's Dagster instance (the events are changed here, not there)."""
    home, _ = materialised
    copy = tmp_path / "dagster"
    shutil.copytree(home.dagster, copy)
    with dg.DagsterInstance.from_config(str(copy)) as instance:
        yield home, instance


def _evaluate(defs, instance, when, cursor=None):
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=when, cursor=cursor)
    return {r.key for r in result.results if r.true_subset.size}, result.cursor


def _children(defs, key: dg.AssetKey) -> set[dg.AssetKey]:
    return set(defs.resolve_asset_graph().get(key).child_keys)


def _data_version(instance, key) -> str:
    return instance.get_latest_materialization_event(key).asset_materialization.tags["dagster/data_version"]


def _report(instance, key, data_version: str) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(key, tags={"dagster/data_version": data_version}))


@pytest.mark.slow
def test_retrain_requests_exactly_what_changed(history):
    home, instance = history
    defs = build_definitions(ClinfuseResource(home=str(home.root)))
    monday = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    sunday_tick = dt.datetime(2026, 12, 6, 3, 5, tzinfo=dt.UTC)  # after DEFAULT_RETRAIN_CRON's tick
    assert DEFAULT_RETRAIN_CRON == "0 3 * * 0"
    _, cursor = _evaluate(defs, instance, monday)

    requested, _ = _evaluate(defs, instance, sunday_tick, cursor)
    assert requested == set(), "nothing changed: nothing rebuilt at the weekly tick"

    # one raw table re-ingested with different content: at the tick, exactly its direct (non-raw) children
    patients = dg.AssetKey(["raw", "hosp_patients"])
    _report(instance, patients, "changed-content")
    requested, _ = _evaluate(defs, instance, monday + dt.timedelta(hours=1), cursor)
    assert requested == set(), "a raw change waits for the weekly tick"
    requested, _ = _evaluate(defs, instance, sunday_tick, cursor)
    assert requested == {k for k in _children(defs, patients) if k.path[0] != "raw"}


@pytest.mark.slow
def test_retrain_follows_data_versions_not_materialisations(history):
    home, instance = history
    defs = build_definitions(ClinfuseResource(home=str(home.root)))
    monday = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    _, cursor = _evaluate(defs, instance, monday)
    frame = dg.AssetKey(["frames", "ihm"])

    _report(instance, frame, _data_version(instance, frame))  # rebuilt, identical content
    requested, cursor = _evaluate(defs, instance, monday + dt.timedelta(minutes=1), cursor)
    assert requested == set(), "a model whose frame came out identical is not retrained"

    _report(instance, frame, "different-content")
    requested, _ = _evaluate(defs, instance, monday + dt.timedelta(minutes=2), cursor)
    assert requested == _children(defs, frame) and requested  # every model of the task, nothing else


@pytest.mark.slow
def test_retrain_rebuilds_an_asset_whose_code_changed(history):
    home, instance = history
    changed = dg.AssetKey(["cohorts", "icu_stays"])

    def definitions(version: str | None):
        defs = build_definitions(ClinfuseResource(home=str(home.root)))
        if version is None:
            return defs
        assets = [a.map_asset_specs(lambda s: s.replace_attributes(code_version=version) if s.key == changed else s)
                  if isinstance(a, dg.AssetsDefinition) else a for a in defs.assets]
        return dg.Definitions(assets=assets, resources=defs.resources)

    monday = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    sunday_tick = dt.datetime(2026, 12, 6, 3, 5, tzinfo=dt.UTC)
    _, cursor = _evaluate(definitions(None), instance, monday)
    requested, _ = _evaluate(definitions("edited-sql"), instance, sunday_tick, cursor)
    assert requested == {changed}, "only the asset whose code changed; its children wait for its new data"
