"""What the fork server of `clinfuse run`'s step processes imports once, before it forks one per step
(pipelines.run.PRELOAD): the whole graph, so no step pays for importing torch, DuckDB and every asset module."""

from pipelines.run import quiet_dagster_notices

with quiet_dagster_notices():
    import pipelines.definitions  # noqa: F401
