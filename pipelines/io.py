"""IO manager: an asset returns a frame, it lands as Parquet in the lake and as a DuckDB view.

Asset key `layer/name` -> `lake/<layer>/<name>/` and view `<layer>.<name>`. Inputs load lazily as
Polars LazyFrames over the same files.
"""


import json
import os

import dagster as dg
import polars as pl
import pyarrow as pa

from pipelines.resources import ClinfuseResource
from warehouse.lake import ClinfuseError, parquet_glob, publish, write_arrow


class LakeIOManager(dg.ConfigurableIOManager):
    clinfuse: dg.ResourceDependency[ClinfuseResource]

    def _where(self, key: dg.AssetKey) -> tuple[str, str]:
        if len(key.path) != 2:
            raise ValueError(f"asset key {key.to_user_string()} is not layer/name")
        return key.path[0], key.path[1]

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:  # the asset wrote its table itself (streaming COPY) and published it
            return
        schema, name = self._where(context.asset_key)
        home = self.clinfuse.open_home()
        table = obj.to_arrow() if isinstance(obj, pl.DataFrame) else obj
        if not isinstance(table, pa.Table):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected a Polars or Arrow table, got {type(obj)}")
        rows = write_arrow(home, schema, name, table, partition_by_shard="shard" in table.column_names)
        publish(home, schema, name)
        context.add_output_metadata({"rows": rows, "path": str(home.table_dir(schema, name))})

    def load_input(self, context: dg.InputContext) -> pl.LazyFrame:
        schema, name = self._where(context.asset_key)
        table_dir = self.clinfuse.open_home().table_dir(schema, name)
        return pl.scan_parquet(parquet_glob(table_dir), hive_partitioning=True)


class RecordIOManager(dg.ConfigurableIOManager):
    """Model and report assets write their own files (checkpoints, report.html, ...) and pass downstream a
    small JSON record of what they wrote (paths, fingerprints, headline figures). The record is stored at
    `<home>/artifacts/records/<layer>/<name>.json`, so a report reads the checkpoint its model asset made,
    never "the newest file"."""

    clinfuse: dg.ResourceDependency[ClinfuseResource]

    def _path(self, key: dg.AssetKey):
        return self.clinfuse.open_home().root.joinpath("artifacts", "records", *key.path).with_suffix(".json")

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        path = self._path(context.asset_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp-{os.getpid()}")
        tmp.write_text(json.dumps(obj, sort_keys=True, indent=2, default=str))
        os.replace(tmp, path)

    def load_input(self, context: dg.InputContext):
        path = self._path(context.asset_key)
        if not path.is_file() and (context.definition_metadata or {}).get("allow_missing"):
            return None  # e.g. the leaderboard lists the reports that exist
        if not path.is_file():
            raise ClinfuseError(f"{context.asset_key.to_user_string()} is not materialised: materialise it first")
        return json.loads(path.read_text())
