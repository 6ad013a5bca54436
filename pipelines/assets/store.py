"""`store/registry`: every feature view declared in `features/store/registry.py`, with the store's guards."""

import dagster as dg

from features.finite import non_finite_counts
from features.store.guards import audit_store
from features.store.registry import REGISTRY, registry_markdown, write_registry
from pipelines.resources import ClinfuseResource

CODE_VERSION = "1"
KEY = dg.AssetKey(["store", "registry"])


@dg.asset(key=KEY, group_name="store", code_version=CODE_VERSION, kinds={"duckdb"},
          deps=sorted({dg.AssetKey(view.source.split("/")) for view in REGISTRY}, key=lambda k: k.path),
          description="The feature-store registry (store.registry) and one store.<view> per materialised view: "
                      "entity keys, as-of column, feature groups with dtypes, source asset, code version, "
                      "weights_source.",
          check_specs=[
              dg.AssetCheckSpec("no_feature_after_prediction_time", asset=KEY,
                                description="the standard training frames have zero rows whose feature as-of "
                                            "time is after the prediction time"),
              dg.AssetCheckSpec("no_subject_in_two_splits", asset=KEY,
                                description="no subject appears in two splits, in features.splits or any frame"),
              dg.AssetCheckSpec("no_non_finite_value", asset=KEY,
                                description="no features.* or embeddings.* table holds NaN or ±inf (missing is NULL)"),
          ])
def registry(context: dg.AssetExecutionContext, clinfuse: ClinfuseResource):
    home = clinfuse.open_home()
    rows = write_registry(home)
    audit = audit_store(home)
    yield dg.MaterializeResult(metadata={"rows": rows, "registry": dg.MetadataValue.md(registry_markdown(home)),
                                         "frames_checked": ", ".join(sorted(audit["frames"])) or "none",
                                         "frames_skipped": ", ".join(audit["skipped"]) or "none"})
    yield dg.AssetCheckResult(check_name="no_feature_after_prediction_time", passed=audit["leakage_rows"] == 0,
                              severity=dg.AssetCheckSeverity.ERROR, metadata={"rows": audit["leakage_rows"]})
    yield dg.AssetCheckResult(check_name="no_subject_in_two_splits", passed=audit["crossing_subjects"] == 0,
                              severity=dg.AssetCheckSeverity.ERROR, metadata={"subjects": audit["crossing_subjects"]})
    non_finite = {table: n for table, n in non_finite_counts(home).items() if n}
    yield dg.AssetCheckResult(check_name="no_non_finite_value", passed=not non_finite,
                              severity=dg.AssetCheckSeverity.ERROR,
                              metadata={"tables": ", ".join(f"{t} ({n})" for t, n in non_finite.items()) or "none"})
