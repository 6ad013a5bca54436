"""Compatibility names: the registry's pieces now live in their own modules (this module only re-exports).

    names.py         kinds, statuses, ASOF_SUFFIX, HIVE_COLUMN, quote (a leaf)
    model.py         FeatureGroup, FeatureView, Registry
    declarations.py  the project's views: VIEWS, REGISTRY, get_view
    resolve.py       ResolvedView, resolve, resolve_all, materialised_views
    publish.py       store.registry and store.<view>: write_registry, registry_markdown, read_registry, ...
    features/tasks.py  TASK_FRAMES (which views make the IHM / phenotyping / HAIM frames)

New code imports from those modules (or from `features.store`); nothing inside features/store imports this one.
"""

from features.store.declarations import REGISTRY, VIEWS, get_view
from features.store.model import FeatureGroup, FeatureView, Registry
from features.store.names import ASOF_SUFFIX, HIVE_COLUMN, KINDS, MATERIALISED, NOT_MATERIALISED, quote
from features.store.publish import (
    REGISTRY_SCHEMA,
    read_registry,
    registry_markdown,
    registry_rows,
    registry_table,
    store_view_sql,
    write_registry,
)
from features.store.resolve import ResolvedView, materialised_views, resolve, resolve_all
from features.tasks import TASK_FRAMES

__all__ = ["ASOF_SUFFIX", "HIVE_COLUMN", "KINDS", "MATERIALISED", "NOT_MATERIALISED", "REGISTRY", "REGISTRY_SCHEMA",
           "TASK_FRAMES", "VIEWS", "FeatureGroup", "FeatureView", "Registry", "ResolvedView", "get_view", "quote",
           "registry_markdown", "registry_rows", "registry_table", "resolve", "resolve_all", "store_view_sql",
           "write_registry", "read_registry", "materialised_views"]
