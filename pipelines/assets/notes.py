"""Note chunks and Bio_ClinicalBERT embeddings per subject shard (one model instance per run)."""

import functools
import os
from typing import Literal

import dagster as dg

from features.embed_cache import cache_metadata
from features.notes.build import (
    CHUNK_EMBEDDINGS_TABLE,
    CHUNKS_TABLE,
    NOTE_EMBEDDINGS_TABLE,
    ORDER_BY,
    build_note_chunks,
    build_note_embeddings,
    chunks_to_embed,
    notes_cache,
    notes_to_embed,
)
from features.notes.tokenizer import load_tokenizer
from features.progress import Progress, count_rows
from features.weights import NO_SOURCE, weights_policy
from pipelines.partitions import shard_partitions, shards_data_version, write_partitions
from pipelines.resources import ClinfuseResource
from warehouse.lake import ShardedTable
from warehouse.versions import TIME_RULES, source_version

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # the tokenizer runs before any worker fork
CHUNKS_CODE = source_version("features/notes/build.py", "features/notes/chunks.py", "features/notes/tokenizer.py",
                             "features/weights.py", *TIME_RULES)
EMBEDDINGS_CODE = source_version("features/notes", "features/weights.py", "features/device.py", "features/embed_cache.py")


def _sharded(table: tuple[str, str]) -> ShardedTable:
    return ShardedTable(*table, ORDER_BY[table[1]])


_NOTE_INPUTS = [dg.AssetKey(["raw", "note_discharge"]), dg.AssetKey(["raw", "note_radiology"])]


class NotesConfig(dg.Config):
    """`model`: a Hugging Face id (from the local cache), a directory, or `random-init:L<n>` (Bio_ClinicalBERT's
    widths with n layers, randomly initialised: a CPU-sized stand-in); empty = the resource's notes_model.
    `weights`: strict (error without pretrained weights) or auto (random-init fallback, recorded); empty =
    the resource's setting ($CLINFUSE_WEIGHTS, else strict). `use_cache` (embeddings only): reuse the vectors the
    home's embedding cache holds (features.embed_cache) and embed only the other chunks; false: a clean recompute
    that neither reads nor writes the cache."""

    model: str = ""
    weights: Literal["", "strict", "auto"] = ""
    pooling: Literal["pooler", "mean"] = "pooler"
    device: str = "auto"
    batch_size: int = 32
    use_cache: bool = True


def _model(config: NotesConfig, clinfuse: ClinfuseResource) -> str:
    return config.model or clinfuse.notes_model_id()


def _policy(config: NotesConfig, clinfuse: ClinfuseResource) -> str:
    return weights_policy(config.weights or None) if config.weights else clinfuse.weights_policy()


def build_notes_assets(shards: int) -> list:
    partitions = shard_partitions(shards)
    policy = dg.BackfillPolicy.single_run()

    @dg.asset(key=list(CHUNKS_TABLE), group_name="features", code_version=CHUNKS_CODE, deps=_NOTE_INPUTS,
              partitions_def=partitions, backfill_policy=policy, kinds={"polars", "parquet"},
              description="Discharge and radiology notes split on line boundaries into chunks of <= 512 "
                          "wordpieces ([CLS]/[SEP] included); no chunk is dropped, over-long lines are split.")
    def note_chunks(context: dg.AssetExecutionContext, config: NotesConfig, clinfuse: ClinfuseResource):
        home = clinfuse.open_home(context)
        # no note in the source: empty tables, no tokenizer loaded (strict weights are needed only to embed)
        tokenizer, source = (load_tokenizer(_model(config, clinfuse), _policy(config, clinfuse))
                             if notes_to_embed(home) else (None, NO_SOURCE))

        with Progress("note chunks", len(context.partition_keys), unit="shards", log=context.log.info) as bar:
            def build(con, shard: int, shards: int):
                built = build_note_chunks(home, shard, shards, tokenizer, con=con)
                bar.update(1)
                return {CHUNKS_TABLE[1]: built.chunks}, built.stats

            written = write_partitions(context, home, [_sharded(CHUNKS_TABLE)], build)
        totals = {k: written.total(k) for k in ("notes", "empty_notes", "chunks", "seconds")}
        rate = totals["chunks"] / totals["seconds"] if totals["seconds"] else 0.0
        return dg.MaterializeResult(metadata={**totals, "chunks_per_second": round(rate, 1),
                                              "tokenizer_source": source},
                                    data_version=shards_data_version(context, home, CHUNKS_TABLE))

    specs = [dg.AssetSpec(list(t), group_name="embeddings", code_version=EMBEDDINGS_CODE, partitions_def=partitions,
                          deps=[dg.AssetKey(list(CHUNKS_TABLE))], kinds={"pytorch", "parquet"}, description=d)
             for t, d in ((CHUNK_EMBEDDINGS_TABLE, "Bio_ClinicalBERT embedding (768) of every note chunk."),
                          (NOTE_EMBEDDINGS_TABLE, "Per-note embedding: the chunks' mean weighted by wordpieces."))]

    @dg.multi_asset(specs=specs, name="notes_clinicalbert", backfill_policy=policy, can_subset=False, pool="gpu")
    def notes_clinicalbert(context: dg.AssetExecutionContext, config: NotesConfig, clinfuse: ClinfuseResource):
        from features.notes.bert import (  # torch and transformers: only in the step that embeds
            bert_identity,
            get_bert,
        )

        home = clinfuse.open_home(context)
        model, policy = _model(config, clinfuse), _policy(config, clinfuse)
        present = chunks_to_embed(home) > 0  # none: no identity to take, no model to load (strict or not)
        identity, weights_source = bert_identity(model, policy, config.pooling, device=config.device) \
            if present else ({}, NO_SOURCE)
        cache = notes_cache(home, identity) if present and config.use_cache else None
        bert = functools.cache(lambda: get_bert(model, policy, config.pooling))  # at the first chunk to embed
        bar = Progress("note embeddings", count_rows(home, *CHUNKS_TABLE), unit="chunks", log=context.log.info)

        def build(con, shard: int, shards: int):
            built = build_note_embeddings(home, shard, shards, pooling=config.pooling, device=config.device,
                                          batch_size=config.batch_size, bert=bert, cache=cache,
                                          weights_source=weights_source if present else None, con=con,
                                          progress=bar)
            return {CHUNK_EMBEDDINGS_TABLE[1]: built.chunks, NOTE_EMBEDDINGS_TABLE[1]: built.notes}, built.stats

        tables = (CHUNK_EMBEDDINGS_TABLE, NOTE_EMBEDDINGS_TABLE)
        try:
            written = write_partitions(context, home, [_sharded(t) for t in tables], build)
        finally:
            bar.close()
        rows = {t: written.rows[t[1]] for t in tables}
        seconds = written.total("seconds")
        device = written.stats[-1]["device"] if written.stats else ""
        for table, n in rows.items():
            rate = rows[CHUNK_EMBEDDINGS_TABLE] / seconds if seconds else 0.0
            yield dg.MaterializeResult(asset_key=list(table), metadata={
                "rows": n, "weights_source": weights_source, "pooling": config.pooling, "device": device,
                "chunks_per_second": round(rate, 2), "seconds": round(seconds, 3),
                **cache_metadata(written, config.use_cache, bert.cache_info().currsize > 0)},
                data_version=shards_data_version(context, home, table))

    return [note_chunks, notes_clinicalbert]
