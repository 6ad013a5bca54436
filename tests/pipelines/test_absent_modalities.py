"""A modality absent from the source (no notes, no chest X-rays: the real MIMIC-IV demo) gives empty tables with
weights_source "no source", in the default strict weights mode, without loading any model."""

from __future__ import annotations

import dagster as dg
import pytest

import features.cxr.densenet as densenet
import features.notes.bert as bert
import pipelines.assets.notes as notes_assets
from pipelines.definitions import build_assets, build_definitions
from pipelines.resources import ClinfuseResource
from warehouse.lake import Home, catalog

SHARDS = 2
EMBEDDING_SIDE = ["features/note_chunks", "embeddings/notes_clinicalbert", "embeddings/notes_clinicalbert_notes",
                  "features/cxr_tensors", "features/cxr_failures", "embeddings/cxr_densenet121_chex"]


@pytest.fixture(scope="module")
def iv_only_home(tmp_path_factory):
    from warehouse.ingest import ingest
    from warehouse.sources import Sources
    from warehouse.synth import generate

    root = tmp_path_factory.mktemp("iv-only")
    generate(root / "src", patients=12, seed=3, layout="v2.2", images=False, notes=False)
    home = Home.open(root / "home")
    ingest(home, Sources(mimic_iv=root / "src" / "mimic-iv"), shards=SHARDS)
    return home


def _refuse(*_args, **_kwargs):
    raise AssertionError("a model was loaded although there is nothing to embed")


def test_absent_notes_and_images_give_empty_tables_without_loading_a_model(iv_only_home, monkeypatch):
    # the assets import the model loaders in their bodies (graph loading imports no torch): patch them at home
    for module, name in ((notes_assets, "load_tokenizer"), (bert, "get_bert"), (densenet, "load_densenet")):
        monkeypatch.setattr(module, name, _refuse)
    resource = ClinfuseResource(home=str(iv_only_home.root), shards=SHARDS, weights="strict")
    tags = {"dagster/asset_partition_range_start": "0", "dagster/asset_partition_range_end": str(SHARDS - 1)}
    result = dg.materialize(build_assets(SHARDS), selection=[dg.AssetKey(k.split("/")) for k in EMBEDDING_SIDE],
                            resources=build_definitions(resource).resources, instance=dg.DagsterInstance.ephemeral(),
                            tags=tags)
    assert result.success
    meta = {e.asset_key.to_user_string(): e.materialization.metadata
            for e in result.get_asset_materialization_events()}
    for key in ("embeddings/notes_clinicalbert", "embeddings/cxr_densenet121_chex"):
        assert meta[key]["weights_source"].value == "no source" and meta[key]["rows"].value == 0
    assert meta["features/note_chunks"]["tokenizer_source"].value == "no source"
    with catalog(iv_only_home, write=False) as con:
        for key in EMBEDDING_SIDE:
            assert con.execute(f"SELECT count(*) FROM {key.replace('/', '.')}").fetchone()[0] == 0
        types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE embeddings.notes_clinicalbert_notes)")
                     .fetchall())
    assert types["embedding"].startswith("FLOAT[") and types["weights_source"] == "VARCHAR"  # a real run's columns
