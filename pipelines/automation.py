"""Scheduled retraining and the source sensor, both visible and switchable in the UI (Automation tab).

- `source_files` (sensor): stats the MIMIC table files every few minutes and requests re-ingestion of exactly
  the raw tables whose files changed (its cursor holds every file's size and mtime; the run key is a hash of
  the changed states, so a restart never ingests the same change twice).
- `retrain` (declarative automation): every asset downstream of `raw` carries `RETRAIN_CONDITION`:
  * at the weekly cron tick (CLINFUSE_RETRAIN_CRON, default Sunday 03:00): an asset whose code version changed,
    that is missing, or one of whose raw inputs holds different data since it was last built, is rebuilt;
  * then the change travels only as far as the data does: an asset is rebuilt when a non-raw parent's data
    version changed. A model whose frame came out identical keeps its data version, so it is not retrained.
Raw assets carry the source file's fingerprint as their data version, so re-ingesting an unchanged file
changes nothing downstream. Both start stopped unless CLINFUSE_AUTOMATION=on (the deployment sets it).
"""

import json
import os

import dagster as dg

from pipelines.resources import ClinfuseResource
from warehouse.watch import changed_tables, source_state, state_fingerprint

DEFAULT_RETRAIN_CRON = "0 3 * * 0"
RAW = dg.AssetSelection.groups("raw")


def retrain_cron() -> str:
    return os.environ.get("CLINFUSE_RETRAIN_CRON", "").strip() or DEFAULT_RETRAIN_CRON


def _default_status() -> dg.DefaultSensorStatus:
    on = os.environ.get("CLINFUSE_AUTOMATION", "").strip().lower() in ("1", "on", "true", "running")
    return dg.DefaultSensorStatus.RUNNING if on else dg.DefaultSensorStatus.STOPPED


def retrain_condition(cron: str) -> dg.AutomationCondition:
    AC = dg.AutomationCondition
    weekly = AC.cron_tick_passed(cron) & (
        AC.code_version_changed() | AC.missing() | AC.any_deps_match(AC.data_version_changed()).allow(RAW)
    ).since_last_handled()
    propagate = AC.any_deps_match(AC.data_version_changed()).ignore(RAW).since_last_handled()
    return ((weekly | propagate) & ~AC.any_deps_missing() & ~AC.any_deps_in_progress()
            & ~AC.in_progress()).with_label(f"retrain ({cron})")


def with_automation(assets: list, cron: str) -> list:
    """Every asset outside `raw` gets the retrain condition."""
    condition = retrain_condition(cron)

    def attach(spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec if spec.group_name == "raw" else spec.replace_attributes(automation_condition=condition)

    return [a.map_asset_specs(attach) if isinstance(a, dg.AssetsDefinition) else a for a in assets]


@dg.sensor(name="source_files", target=RAW, minimum_interval_seconds=300, default_status=_default_status(),
           description="Re-ingests the raw tables whose MIMIC files changed (size or modification time).")
def source_files(context: dg.SensorEvaluationContext, clinfuse: ClinfuseResource):
    current = source_state(clinfuse.layouts())
    if context.cursor is None and clinfuse.open_home().table_dir("raw", "sources").is_dir():
        # first look at an ingested home: this is the baseline (a missing raw asset is the retrain's job)
        return dg.SensorResult(skip_reason="first look: source files recorded", cursor=json.dumps(current))
    previous = json.loads(context.cursor) if context.cursor else {}
    changed = changed_tables(previous, current)
    if not changed:
        return dg.SensorResult(skip_reason="no source file changed", cursor=json.dumps(current))
    keys = [dg.AssetKey(["raw", t]) for t in changed] + [dg.AssetKey(["raw", "sources"])]
    request = dg.RunRequest(run_key=f"sources-{state_fingerprint(current, changed)}", asset_selection=keys,
                            tags={"clinfuse/changed": ",".join(changed)[:200]})
    return dg.SensorResult(run_requests=[request], cursor=json.dumps(current))


retrain = dg.AutomationConditionSensorDefinition(
    "retrain", target=dg.AssetSelection.all() - RAW, default_status=_default_status(), minimum_interval_seconds=60,
    description="Rebuilds what is stale at the weekly tick, then retrains models whose inputs' data changed.")

SENSORS = [source_files, retrain]
