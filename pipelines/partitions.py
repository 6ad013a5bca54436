"""Subject shards: per-patient assets are partitioned by `subject_id % N`, one Dagster partition per shard.

The partitions definition is the one source of N in a run: `pipelines.definitions` builds it from
$CLINFUSE_SHARDS (warehouse.lake.shard_count, as `clinfuse run` does) and hands the same N to the
unpartitioned assets that shard their tables as the `shards` resource (a fixed value, not run config)."""

import hashlib
from collections.abc import Callable, Mapping, Sequence

import dagster as dg
import duckdb

from warehouse.lake import Home, ShardedTable, ShardsWritten, write_shards
from warehouse.versions import content_version


def shard_partitions(shards: int) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition([str(i) for i in range(shards)])


def shards_of(context: dg.AssetExecutionContext) -> int:
    """N of a shard-partitioned asset: the size of its partitions definition."""
    return len(context.assets_def.partitions_def.get_partition_keys())


def write_partitions(
    context: dg.AssetExecutionContext,
    home: Home,
    tables: Sequence[ShardedTable],
    build: Callable[[duckdb.DuckDBPyConnection, int, int], tuple[Mapping[str, object], dict]],
) -> ShardsWritten:
    """Write the run's partitions (one shard each; a ranged run writes them all) of `tables` through the one
    shard loop (warehouse.lake.write_shards). `build(con, shard, shards)` -> ({table name: frame}, stats)."""
    shards = shards_of(context)
    return write_shards(home, tables, [int(k) for k in context.partition_keys], shards,
                        lambda con, shard: build(con, shard, shards))


def shards_data_version(context: dg.AssetExecutionContext, home: Home, key: Sequence[str]) -> dg.DataVersion:
    """The data version of the shards of table `key` (schema, name) this run wrote: each shard's content hash
    (also recorded on that partition's materialisation as `content`). Dagster records one data version per
    materialisation and gives it to every partition of a ranged run, so for several shards it is the hash of
    their hashes: a rebuild that writes the same bytes reports the same version, and children stay up to date."""
    asset_key = dg.AssetKey(list(key))
    table_dir = home.table_dir(*key)
    versions = {k: content_version(table_dir / f"shard={k}") for k in context.partition_keys}
    for partition, version in versions.items():
        context.add_asset_metadata({"content": version}, asset_key=asset_key, partition_key=partition)
    if len(versions) == 1:
        return dg.DataVersion(next(iter(versions.values())))
    joined = "".join(f"{k}={v}\n" for k, v in sorted(versions.items(), key=lambda kv: int(kv[0])))
    return dg.DataVersion(hashlib.sha256(joined.encode()).hexdigest()[:16])
