"""The embedding assets through Dagster: a second materialisation of unchanged inputs takes every vector from the
home's embedding cache without loading a model, reports it in its metadata, and writes the same tables;
use_cache=false recomputes everything."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest

import features.cxr.densenet as densenet
import features.notes.bert as bert
from pipelines.definitions import build_assets, build_definitions
from pipelines.resources import ClinfuseResource
from pipelines.run import run_config_for
from warehouse.lake import Home

SHARDS = 2
INPUTS = ["features/note_chunks", "features/cxr_tensors", "features/cxr_failures"]
EMBEDDINGS = ["embeddings/notes_clinicalbert", "embeddings/notes_clinicalbert_notes", "embeddings/cxr_densenet121_chex"]
TABLES = [("embeddings", "notes_clinicalbert"), ("embeddings", "notes_clinicalbert_notes"),
          ("embeddings", "cxr_densenet121_chex")]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from warehouse.ingest import ingest
    from warehouse.sources import synthetic_sources
    from warehouse.synth import generate

    root = tmp_path_factory.mktemp("embedding-cache")
    generate(root / "src", patients=8, seed=3)
    home = Home.open(root / "home")
    ingest(home, synthetic_sources(root / "src"), shards=SHARDS)
    return home


def _materialise(home: Home, keys: list[str], sets: tuple[str, ...] = ()) -> dict:
    resource = ClinfuseResource(home=str(home.root), shards=SHARDS, weights="auto", notes_model="random-init:L1")
    defs = build_definitions(resource)
    tags = {"dagster/asset_partition_range_start": "0", "dagster/asset_partition_range_end": str(SHARDS - 1)}
    result = dg.materialize(build_assets(SHARDS), selection=[dg.AssetKey(k.split("/")) for k in keys],
                            resources=defs.resources, instance=dg.DagsterInstance.ephemeral(), tags=tags,
                            run_config=run_config_for(defs, None, sets))
    assert result.success
    return {e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}


def _table(home: Home, schema: str, name: str) -> pl.DataFrame:
    return pl.concat([pl.read_parquet(p) for p in sorted(home.table_dir(schema, name).glob("shard=*/*.parquet"))])


def _tables(home: Home) -> dict[str, pl.DataFrame]:
    return {name: _table(home, schema, name) for schema, name in TABLES}


def _refuse(*_args, **_kwargs):
    raise AssertionError("a model was loaded although every vector is cached")


def test_second_materialisation_reads_the_cache_and_loads_no_model(home, monkeypatch):
    _materialise(home, INPUTS)
    first = _materialise(home, EMBEDDINGS)
    for key in ("embeddings/cxr_densenet121_chex", "embeddings/notes_clinicalbert"):
        assert first[key]["rows"] > 0 and first[key]["cache_misses"] == first[key]["rows"]
        assert first[key]["cache_hits"] == 0 and first[key]["model_loaded"] is True
    tables = _tables(home)
    with monkeypatch.context() as patch:
        patch.setattr(densenet, "load_densenet", _refuse)  # imported by the asset bodies when they run
        patch.setattr(bert, "get_bert", _refuse)
        again = _materialise(home, EMBEDDINGS)
    for key in ("embeddings/cxr_densenet121_chex", "embeddings/notes_clinicalbert"):
        assert (again[key]["cache_hits"], again[key]["cache_misses"]) == (first[key]["rows"], 0)
        assert again[key]["model_loaded"] is False and again[key]["weights_source"] == first[key]["weights_source"]
    for name, frame in _tables(home).items():
        assert frame.equals(tables[name]), name
    # bypassing the cache: a clean recompute, same tables (same batches as the first run: exactly equal)
    clean = _materialise(home, EMBEDDINGS, ("embeddings/cxr_densenet121_chex.use_cache=false",
                                            "embeddings/notes_clinicalbert.use_cache=false"))
    for key in ("embeddings/cxr_densenet121_chex", "embeddings/notes_clinicalbert"):
        assert clean[key]["cache_hits"] == 0 and clean[key]["model_loaded"] is True
        assert clean[key]["use_cache"] is False
    for name, frame in _tables(home).items():
        assert frame.equals(tables[name]), name


def test_tensors_are_decoded_once_per_file_and_use_cache_false_decodes_all(home):
    """features/cxr_tensors through Dagster: a rebuild of unchanged files takes every tensor from the home's tensor
    cache and writes the same table; use_cache=false decodes every file again, with the same result."""
    first = _materialise(home, ["features/cxr_tensors", "features/cxr_failures"])["features/cxr_tensors"]
    tensors = _table(home, "features", "cxr_tensors")
    assert first["rows"] == tensors.height > 0 and first["use_cache"] is True
    again = _materialise(home, ["features/cxr_tensors", "features/cxr_failures"])["features/cxr_tensors"]
    assert (again["cache_hits"], again["cache_misses"]) == (tensors.height, 0)
    clean = _materialise(home, ["features/cxr_tensors", "features/cxr_failures"],
                         ("features/cxr_tensors.use_cache=false",))["features/cxr_tensors"]
    assert (clean["cache_hits"], clean["cache_misses"], clean["use_cache"]) == (0, tensors.height, False)
    for run in (again, clean):
        assert run["rows"] == tensors.height
    rebuilt = _table(home, "features", "cxr_tensors")
    assert rebuilt.equals(tensors)
