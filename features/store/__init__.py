"""The feature store: feature views declared in code, point-in-time retrieval of training frames, online
lookup of the latest feature vector, leakage guards, the as-of audit and a PyTorch Dataset over the frames.

    names.py         kinds, statuses, ASOF_SUFFIX, quote: a leaf every other module may import
    model.py         FeatureGroup, FeatureView, Registry (the declaration types)
    declarations.py  the project's 17 views: VIEWS, REGISTRY, get_view
    resolve.py       a view against its lake table: ResolvedView, resolve, resolve_all
    publish.py       store.registry and the store.<view> catalog views: write_registry, registry_markdown
    guards.py        pure frame guards: leakage_rows, subjects_crossing_splits, check_frame, frame_report
    retrieval.py     get_training_frame (DuckDB ASOF JOIN; sequences; labels by key; TTL; split)
    online.py        latest_features (cached connection, key filter pushed into the Parquet scan)
    audit.py         audit_store: every feature row's as-of bounds the times of its inputs (sampled)
    dataset.py       FeatureDataset (imports torch; import it from its module)
    registry.py      the old names, re-exported

Imports go one way: names <- model <- declarations <- resolve <- publish / retrieval <- online, audit
(tests/unit/test_store_imports.py). The task frames (which views make each task's frame) are in
features/tasks.py. See README.md in this folder for the semantics and SQL examples. No Dagster here.
"""

from features.store.audit import audit_store
from features.store.declarations import REGISTRY, VIEWS, get_view
from features.store.guards import (
    GuardReport,
    check_frame,
    frame_report,
    leakage_rows,
    subjects_crossing_splits,
)
from features.store.model import FeatureGroup, FeatureView, Registry
from features.store.online import latest_features, online_store
from features.store.publish import read_registry, registry_markdown, registry_table, write_registry
from features.store.retrieval import (
    cohort_entities,
    get_training_frame,
    load_training_frame,
    parse_ttl,
    save_training_frame,
)

__all__ = [
    "REGISTRY", "VIEWS", "FeatureGroup", "FeatureView", "GuardReport", "Registry", "audit_store", "check_frame",
    "cohort_entities", "frame_report", "get_training_frame", "get_view", "latest_features", "leakage_rows",
    "online_store", "parse_ttl", "load_training_frame", "read_registry", "registry_markdown", "registry_table",
    "subjects_crossing_splits", "save_training_frame", "write_registry",
]
