"""Tests build tables the way users do: through the Dagster assets (pipelines.run.materialize_selection),
recorded in an in-memory instance (the on-disk event log costs seconds per run and no test reads it)."""

from __future__ import annotations

import dagster as dg

from warehouse.lake import ClinfuseError, Home
from warehouse.sources import Sources


def materialise(home: Home, sources: Sources, selection: str, *, shards: int, **kwargs) -> dict:
    """Materialise `selection` (whole multi-assets, every shard in one ranged run); raise on a failed step.
    Returns materialize_selection's result: `metadata` maps each asset key to its materialisation metadata."""
    from pipelines.run import materialize_selection

    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize_selection(home, sources, selection, shards=shards, instance=instance, **kwargs)
    if result["failed_checks"]:
        raise ClinfuseError(f"failed checks: {', '.join(result['failed_checks'])}")
    return result
