"""Chest X-rays: pairing to ICU stays, CLAHE'd 224 tensors, DenseNet121-res224-chex embeddings (per shard)."""

import functools
from typing import Literal

import dagster as dg
import numpy as np

from features.cxr.pairing import build_pairs
from features.embed_cache import cache_metadata
from features.progress import Progress, count_rows
from features.weights import NO_SOURCE
from pipelines.partitions import shard_partitions, shards_data_version, write_partitions
from pipelines.resources import ClinfuseResource
from warehouse.lake import ShardedTable
from warehouse.versions import TIME_RULES, source_version

PAIRS_CODE = source_version("features/cxr/pairing.py", *TIME_RULES)
TENSORS_CODE = source_version("features/cxr/tensors.py", "warehouse/images.py", "features/embed_cache.py", *TIME_RULES)
EMBEDDINGS_CODE = source_version("features/cxr/densenet.py", "features/cxr/tensors.py", "features/weights.py",
                                 "features/device.py", "features/embed_cache.py")
PAIR_TABLES = {"ihm": "cxr_pairs_ihm", "pheno": "cxr_pairs_pheno"}
PAIR_SHARDS = [ShardedTable("features", t, "subject_id, stay_id") for t in PAIR_TABLES.values()]
TENSOR_SHARDS = [ShardedTable("features", t, "subject_id, dicom_id") for t in ("cxr_tensors", "cxr_failures")]


class PairingConfig(dg.Config):
    """View positions kept (MedFuse: AP only); the latest image in the task window wins."""

    views: list[str] = ["AP"]


class TensorsConfig(dg.Config):
    """`use_cache`: take the tensors of images whose file (path, size, modification time) the home's tensor cache
    already holds (features.cxr.tensors.tensor_cache) and decode only the others; false: decode every image,
    neither reading nor writing the cache."""

    use_cache: bool = True


class DensenetConfig(dg.Config):
    """`weights`: strict | auto (random-init fallback, recorded); empty = the resource's setting.
    `use_clahe`: embed the CLAHE'd tensor instead of the plain one (HAIM embeds plain images).
    `use_cache`: reuse the vectors the home's embedding cache holds (features.embed_cache) and embed only the
    other images; false: a clean recompute of every image that neither reads nor writes the cache."""

    weights: Literal["", "strict", "auto"] = ""
    device: str = "auto"
    batch_size: int = 64
    use_clahe: bool = False
    use_cache: bool = True


def build_cxr_assets(shards: int) -> list:
    partitions = shard_partitions(shards)
    policy = dg.BackfillPolicy.single_run()

    pair_specs = [dg.AssetSpec(["features", PAIR_TABLES[t]], group_name="features", code_version=PAIRS_CODE,
                               partitions_def=partitions, kinds={"polars", "parquet"},
                               deps=[dg.AssetKey(["cohorts", cohort]), dg.AssetKey(["raw", "cxr_metadata"])],
                               description=f"PARTIAL {cohort} samples with has_cxr and the latest image in the "
                                           f"{window} window (PAIRED = has_cxr).")
                  for t, cohort, window in (("ihm", "ihm_48h", "intime -> intime + 48 h"),
                                            ("pheno", "phenotyping", "intime -> outtime"))]

    @dg.multi_asset(specs=pair_specs, name="cxr_pairs", backfill_policy=policy, can_subset=False)
    def cxr_pairs(context: dg.AssetExecutionContext, config: PairingConfig, clinfuse: ClinfuseResource):
        home = clinfuse.open_home(context)

        def build(con, shard: int, shards: int):
            built = {t: build_pairs(home, t, shard, shards, tuple(config.views), con=con) for t in PAIR_TABLES}
            return ({PAIR_TABLES[t]: frame for t, (frame, _) in built.items()},
                    {f"{t}_{k}": stats[k] for t, (_, stats) in built.items() for k in ("partial", "paired")})

        written = write_partitions(context, home, PAIR_SHARDS, build)
        counts = {t: {k: written.total(f"{t}_{k}") for k in ("partial", "paired")} for t in PAIR_TABLES}
        for task, table in PAIR_TABLES.items():
            c = counts[task]
            yield dg.MaterializeResult(asset_key=["features", table], metadata={
                **c, "paired_fraction": round(c["paired"] / c["partial"], 4) if c["partial"] else 0.0,
                "views": ",".join(config.views)}, data_version=shards_data_version(context, home, ("features", table)))

    tensor_specs = [
        dg.AssetSpec(["features", "cxr_tensors"], group_name="features", code_version=TENSORS_CODE,
                     partitions_def=partitions, kinds={"opencv", "parquet"},
                     deps=[dg.AssetKey(["raw", "cxr_images"]), dg.AssetKey(["raw", "cxr_metadata"])],
                     description="Every readable image: grayscale, CLAHE (clip 2.0, 8x8), short side 256, centre "
                                 "crop 224, uint8 (`clahe` and `plain` as 224*224 bytes)."),
        dg.AssetSpec(["features", "cxr_failures"], group_name="features", code_version=TENSORS_CODE,
                     partitions_def=partitions, kinds={"parquet"},
                     deps=[dg.AssetKey(["raw", "cxr_images"])],
                     description="Images that could not be used (missing file, not decodable, ...), with the reason."),
    ]
    tensor_checks = [dg.AssetCheckSpec("tensor_shapes", asset=["features", "cxr_tensors"],
                                       description="every tensor is 224 x 224 bytes", blocking=True)]

    @dg.multi_asset(specs=tensor_specs, check_specs=tensor_checks, name="cxr_tensors", backfill_policy=policy,
                    can_subset=False)
    def cxr_tensors(context: dg.AssetExecutionContext, config: TensorsConfig, clinfuse: ClinfuseResource):
        # OpenCV and torch: imported only in the steps that use them
        from features.cxr.tensors import build_tensors, tensor_cache

        home = clinfuse.open_home(context)
        cache = tensor_cache(home) if config.use_cache else None
        bar = Progress("chest X-ray tensors", count_rows(home, "raw", "cxr_images", "path IS NOT NULL"),
                       unit="images", log=context.log.info)

        def build(con, shard: int, shards: int):
            tensors, failures, stats = build_tensors(home, shard, shards, con=con, progress=bar, cache=cache)
            bad = tensors.filter((tensors["height"] != 224) | (tensors["width"] != 224)).height
            return {"cxr_tensors": tensors, "cxr_failures": failures}, {**stats, "wrong_shape": bad}

        try:
            written = write_partitions(context, home, TENSOR_SHARDS, build)
        finally:
            bar.close()
        totals = {k: written.total(k) for k in ("images", "tensors", "failures", "seconds")}
        bad_shapes = written.total("wrong_shape")
        rate = totals["images"] / totals["seconds"] if totals["seconds"] else 0.0
        yield dg.MaterializeResult(asset_key=["features", "cxr_tensors"], metadata={
            "rows": totals["tensors"], "images_per_second": round(rate, 1), "shape": "224 x 224 uint8",
            **cache_metadata(written, config.use_cache)},
            data_version=shards_data_version(context, home, ("features", "cxr_tensors")))
        yield dg.MaterializeResult(asset_key=["features", "cxr_failures"], metadata={"rows": totals["failures"]},
                                   data_version=shards_data_version(context, home, ("features", "cxr_failures")))
        yield dg.AssetCheckResult(asset_key=["features", "cxr_tensors"], check_name="tensor_shapes",
                                  passed=bad_shapes == 0, metadata={"wrong_shape": bad_shapes})

    key = dg.AssetKey(["embeddings", "cxr_densenet121_chex"])

    @dg.asset(key=key, group_name="embeddings", code_version=EMBEDDINGS_CODE, partitions_def=partitions,
              backfill_policy=policy, pool="gpu", kinds={"pytorch", "parquet"},
              deps=[dg.AssetKey(["features", "cxr_tensors"])],
              description="torchxrayvision densenet121-res224-chex: 1024 pooled features + 18 outputs per image "
                          "(input scaled to [-1024, 1024] at 224 px).",
              check_specs=[dg.AssetCheckSpec("no_nan", asset=key, description="no NaN in features or outputs",
                                             blocking=True)])
    def cxr_densenet121_chex(context: dg.AssetExecutionContext, config: DensenetConfig, clinfuse: ClinfuseResource):
        from features.cxr.densenet import (
            PATHOLOGIES,
            build_embeddings,
            densenet_cache,
            densenet_identity,
            images_to_embed,
            load_densenet,
            load_tensors,
        )

        home = clinfuse.open_home(context)
        policy = config.weights or clinfuse.weights_policy()
        present = images_to_embed(home) > 0  # none: no identity to take, no model to load (strict or not)
        identity, source = densenet_identity(policy, use_clahe=config.use_clahe, device=config.device) \
            if present else ({}, NO_SOURCE)
        cache = densenet_cache(home, identity) if present and config.use_cache else None
        model = functools.cache(lambda: load_densenet(policy))  # one instance per run, at the first image to embed
        bar = Progress("DenseNet121 embeddings", count_rows(home, "features", "cxr_tensors"), unit="images",
                       log=context.log.info)

        def build(con, shard: int, shards: int):
            frame, stats = build_embeddings(load_tensors(home, shard, shards), device=config.device,
                                            batch_size=config.batch_size, use_clahe=config.use_clahe, model=model,
                                            cache=cache, shard=shard, weights_source=source if present else None,
                                            progress=bar)
            return {key.path[1]: frame}, {**stats, "nan_rows": _nan_rows(frame)}

        try:
            written = write_partitions(context, home, [ShardedTable(*key.path, "subject_id, dicom_id")], build)
        finally:
            bar.close()
        rows, seconds, nan_rows = written.rows[key.path[1]], written.total("seconds"), written.total("nan_rows")
        device = written.stats[-1]["device"] if written.stats else ""
        yield dg.MaterializeResult(metadata={
            "rows": rows, "weights_source": source, "device": device,
            "images_per_second": round(rows / seconds, 1) if seconds else 0.0, "seconds": round(seconds, 3),
            **cache_metadata(written, config.use_cache, model.cache_info().currsize > 0),
            "pathologies": dg.MetadataValue.json(list(PATHOLOGIES)), "input": "clahe" if config.use_clahe else "plain"},
            data_version=shards_data_version(context, home, key.path))
        yield dg.AssetCheckResult(check_name="no_nan", passed=nan_rows == 0, severity=dg.AssetCheckSeverity.ERROR,
                                  metadata={"rows_with_nan": nan_rows})

    return [cxr_pairs, cxr_tensors, cxr_densenet121_chex]


def _nan_rows(frame) -> int:
    if frame.height == 0:
        return 0
    dense, outputs = frame["dense"].to_numpy(), frame["pathologies"].to_numpy()
    return int((np.isnan(dense).any(axis=1) | np.isnan(outputs).any(axis=1)).sum())
