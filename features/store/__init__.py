"""The feature store: a registry of feature views declared in code, point-in-time retrieval of training
frames, online lookup of the latest feature vector, leakage guards and a PyTorch Dataset over the frames.

    registry.py   FeatureView / FeatureGroup declarations, store.registry and store.<view> views
    retrieval.py  get_training_frame (DuckDB ASOF JOIN; sequences; labels by key; TTL; split)
    online.py     latest_features (cached connection, key filter pushed into the Parquet scan)
    guards.py     leakage_rows, subjects_crossing_splits, audit_store
    dataset.py    FeatureDataset (imports torch; import it from its module)

See README.md in this folder for the semantics and SQL examples. No Dagster here.
"""

from features.store.guards import (
    GuardReport,
    audit_store,
    check_frame,
    frame_report,
    leakage_rows,
    subjects_crossing_splits,
)
from features.store.online import latest_features, online_store
from features.store.registry import (
    REGISTRY,
    VIEWS,
    FeatureGroup,
    FeatureView,
    Registry,
    get_view,
    read_registry,
    registry_markdown,
    registry_table,
    write_registry,
)
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
