"""Asset dependencies derived from the SQL an asset runs (warehouse.sqldeps), so the graph cannot drift from it."""

from pathlib import Path

import dagster as dg

from warehouse.sqldeps import sql_file_inputs


def sql_deps(*paths: Path, produces: tuple[str, str] | None = None) -> list[dg.AssetKey]:
    """The asset keys of the lake tables the SQL files read (`produces`, the asset's own table, left out)."""
    return [dg.AssetKey([schema, table]) for schema, table in sql_file_inputs(*paths, produces=produces)]
