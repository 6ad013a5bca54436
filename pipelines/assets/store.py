"""`store/registry`: every feature view declared in `features/store/registry.py`, with the store's guards."""

import dagster as dg

from features.finite import non_finite_counts
from features.store.audit import audit_store
from features.store.declarations import REGISTRY
from features.store.publish import registry_markdown, write_registry
from pipelines.resources import ClinfuseResource
from warehouse.versions import source_version

CODE_VERSION = source_version("features/store", "features/finite.py", "features/splits.py")
KEY = dg.AssetKey(["store", "registry"])


@dg.asset(key=KEY, group_name="store", code_version=CODE_VERSION, kinds={"duckdb"}, pool="duckdb",
          deps=sorted({dg.AssetKey(view.source.split("/")) for view in REGISTRY}, key=lambda k: k.path),
          description="The feature-store registry (store.registry) and one store.<view> per materialised view: "
                      "entity keys, as-of column, feature groups with dtypes, source asset, code version, "
                      "weights_source.",
          check_specs=[
              dg.AssetCheckSpec("asof_covers_inputs", asset=KEY, blocking=True,
                                description="in every feature table, no sampled row has an as-of earlier than "
                                            "an input that went into it (features.store.audit)"),
              dg.AssetCheckSpec("no_subject_in_two_splits", asset=KEY, blocking=True,
                                description="no subject appears in two splits, in features.splits or any frame"),
              dg.AssetCheckSpec("no_non_finite_value", asset=KEY, blocking=True,
                                description="no features.* or embeddings.* table holds NaN or ±inf (missing is NULL)"),
          ])
def registry(context: dg.AssetExecutionContext, clinfuse: ClinfuseResource):
    home = clinfuse.open_home()
    rows = write_registry(home)
    audit = audit_store(home, settings=_build_settings(context))
    per_view = {name: {k: v for k, v in a.items() if v is not None} for name, a in audit["views"].items()}
    yield dg.MaterializeResult(metadata={"rows": rows, "registry": dg.MetadataValue.md(registry_markdown(home)),
                                         "views_audited": ", ".join(sorted(audit["views"])) or "none",
                                         "views_skipped": ", ".join(audit["skipped"]) or "none"})
    yield dg.AssetCheckResult(check_name="asof_covers_inputs", passed=audit["violations"] == 0,
                              severity=dg.AssetCheckSeverity.ERROR,
                              metadata={"violations": audit["violations"], "views": dg.MetadataValue.json(per_view)})
    yield dg.AssetCheckResult(check_name="no_subject_in_two_splits", passed=audit["crossing_subjects"] == 0,
                              severity=dg.AssetCheckSeverity.ERROR, metadata={"subjects": audit["crossing_subjects"]})
    non_finite = {table: n for table, n in non_finite_counts(home).items() if n}
    yield dg.AssetCheckResult(check_name="no_non_finite_value", passed=not non_finite,
                              severity=dg.AssetCheckSeverity.ERROR,
                              metadata={"tables": ", ".join(f"{t} ({n})" for t, n in non_finite.items()) or "none"})


def _build_settings(context: dg.AssetExecutionContext) -> dict[str, dict]:
    """The settings each view's table was built with (mode, timestep_hours), from its latest materialisation."""
    settings = {}
    for view in REGISTRY:
        if view.is_label:
            continue
        event = context.instance.get_latest_materialization_event(dg.AssetKey(view.source.split("/")))
        mat = event.asset_materialization if event else None
        if mat is not None:
            settings[view.name] = {k: mat.metadata[k].value for k in ("mode", "timestep_hours") if k in mat.metadata}
    return settings
