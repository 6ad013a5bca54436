"""clinfuse: CLI, configuration and the public Python API.

    clinfuse.get_training_frame(entities, views, ...)   point-in-time training frame (features.store)
    clinfuse.latest_features(view, keys, ...)           latest feature vector per entity

Imported lazily, so that `clinfuse --help` does not load DuckDB, Polars and Arrow.
"""

_API = {"get_training_frame": "features.store.retrieval", "latest_features": "features.store.online"}
__all__ = list(_API)


def __getattr__(name: str):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'clinfuse' has no attribute {name!r}")
