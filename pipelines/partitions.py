"""Subject shards: per-patient assets are partitioned by `subject_id % N`, one Dagster partition per shard."""

import dagster as dg


def shard_partitions(shards: int) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition([str(i) for i in range(shards)])
