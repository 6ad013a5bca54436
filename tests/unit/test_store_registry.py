"""The feature registry: every feature table of the project is registered, with keys and as-of columns that
exist; `store.registry` and the `store.<view>` views are written and queryable; tables that are not
materialised yet are listed as such; the agreed schemas of the tables built elsewhere fit the declarations."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from features.store import (
    REGISTRY,
    cohort_entities,
    frame_report,
    get_training_frame,
    latest_features,
    read_registry,
    registry_markdown,
    write_registry,
)
from features.store.registry import MATERIALISED, NOT_MATERIALISED, REGISTRY_SCHEMA, resolve
from warehouse.lake import Home, catalog, publish, write_arrow
from warehouse.tables import CHEXPERT_LABELS

# Every table that holds entity features or task labels, built here or in parallel work (issue 5 list).
PROJECT_TABLES = {
    "features/timeseries_ihm", "features/timeseries_pheno", "features/cxr_tensors", "features/note_chunks",
    "embeddings/cxr_densenet121_chex", "embeddings/notes_clinicalbert_notes", "embeddings/notes_clinicalbert",
    "features/haim", "features/cxr_pairs_ihm", "features/cxr_pairs_pheno",
    "cohorts/ihm_48h", "cohorts/phenotyping", "cohorts/los", "cohorts/haim_samples", "raw/cxr_chexpert",
}
# Lake tables of the feature layers that are not entity features (parameters, assignments).
NOT_FEATURE_VIEWS = {"features/splits", "features/normalizer_ihm", "features/normalizer_pheno",
                     "features/cxr_failures",  # unreadable images: a log, not features
                     "features/haim_faithful",  # the published HAIM code's output, leaks included: never served
                     "features/timeseries_events"}  # cleaned events: served through the time series built from them


def test_every_project_table_is_registered():
    sources = {v.source for v in REGISTRY}
    assert PROJECT_TABLES <= sources, PROJECT_TABLES - sources
    kinds = {v.source: v.kind for v in REGISTRY}
    assert kinds["features/timeseries_ihm"] == kinds["features/timeseries_pheno"] == "sequence"
    assert {v.name for v in REGISTRY if v.kind == "label"} >= {"labels_ihm", "labels_pheno", "labels_los", "labels_haim"}
    for view in REGISTRY:
        assert view.entity_keys and (view.asof is None) == view.is_label
        assert len(view.fingerprint) == 12


def test_wide_views_are_described_compactly():
    haim = REGISTRY.get("haim")
    assert len(haim.groups) <= 16 and all(g.pattern for g in haim.groups)
    assert sum(g.expected for g in haim.groups if g.stack and not g.optional) == 4077
    assert len(REGISTRY.get("timeseries_ihm").groups) == 1


def test_an_empty_home_lists_every_view_as_not_materialised(home):
    rows = write_registry(home)
    table = read_registry(home)
    assert table.num_rows == rows == sum(len(v.groups) for v in REGISTRY)
    assert table.schema.equals(REGISTRY_SCHEMA)
    assert set(table["status"].to_pylist()) == {NOT_MATERIALISED}
    with catalog(home, write=False) as con:
        listed = con.execute("SELECT DISTINCT view FROM store.registry ORDER BY 1").fetchall()
        views = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'store'").fetchall()
    assert {r[0] for r in listed} == set(REGISTRY.names())
    assert views == [("registry",)]
    assert "not materialised" in registry_markdown(home)


# ---------------------------------------------------------------- the materialised synthetic store


@pytest.fixture(scope="module")
def store_home(materialised, tmp_path_factory) -> Home:
    """A copy of the materialised lake with its catalog views, so writing the registry leaves the shared
    fixture untouched."""
    source, _ = materialised
    home = Home.open(tmp_path_factory.mktemp("store") / "home")
    shutil.copytree(source.lake, home.lake, dirs_exist_ok=True)
    for schema in ("cohorts", "features", "embeddings"):
        for table_dir in sorted((home.lake / schema).glob("*")):
            if table_dir.is_dir() and not table_dir.name.startswith((".", "_")) and any(table_dir.rglob("*.parquet")):
                publish(home, schema, table_dir.name)
    write_registry(home)
    return home


def test_registry_is_readable_as_store_registry(store_home):
    with catalog(store_home, write=False) as con:
        rows = con.execute("SELECT view, status, rows, n_columns, entity_keys, asof_column FROM store.registry "
                           "ORDER BY view, feature_group").fetchall()
    by_view = {r[0]: r for r in rows}
    for name in ("timeseries_ihm", "timeseries_pheno", "labels_ihm", "labels_pheno", "labels_los", "labels_chexpert"):
        assert by_view[name][1] == MATERIALISED and by_view[name][2] > 0, name
    assert by_view["timeseries_ihm"][3] == 76 and by_view["timeseries_ihm"][4] == ["stay_id"]
    assert by_view["timeseries_ihm"][5] == "asof_time" and by_view["labels_ihm"][5] is None
    markdown = registry_markdown(store_home)
    assert all(f"`{name}`" in markdown for name in REGISTRY.names())


def test_keys_and_asof_columns_exist_in_every_materialised_table(store_home):
    materialised = [v for v in REGISTRY if resolve(v, store_home).materialised]
    assert len(materialised) >= 6
    for view in materialised:
        rv = resolve(view, store_home)
        assert not rv.problems, (view.name, rv.problems)
        assert set(view.entity_keys) <= set(rv.table_columns)
        assert view.asof is None or rv.table_columns[view.asof].startswith("TIMESTAMP")


def test_every_feature_table_in_the_lake_is_registered(store_home):
    registered = {v.source for v in REGISTRY}
    for layer in ("features", "embeddings"):
        base = store_home.lake / layer
        tables = {f"{layer}/{p.name}" for p in base.iterdir() if p.is_dir()} if base.is_dir() else set()
        unregistered = tables - registered - NOT_FEATURE_VIEWS
        assert not unregistered, f"register these tables in features/store/registry.py: {sorted(unregistered)}"


def test_store_views_standardise_keys_and_asof(store_home):
    with catalog(store_home, write=False) as con:
        cols = [r[0] for r in con.execute("DESCRIBE store.timeseries_ihm").fetchall()]
        n = con.execute("SELECT count(*) FROM store.timeseries_ihm").fetchall()[0][0]
        label_cols = [r[0] for r in con.execute("DESCRIBE store.labels_ihm").fetchall()]
    assert cols[:5] == ["stay_id", "subject_id", "hadm_id", "step", "asof_time"] and len(cols) == 5 + 76
    assert n == resolve(REGISTRY.get("timeseries_ihm"), store_home, stats=True).rows
    assert label_cols == ["stay_id", "subject_id", "hadm_id", "y_true"]


README_SQL = """
SELECT c.stay_id, c.prediction_time, ts.step, ts.asof_time AS ts_asof, ts."Heart Rate", l.y_true, s.split
FROM cohorts.ihm_48h AS c
ASOF LEFT JOIN store.timeseries_ihm AS ts
       ON ts.stay_id = c.stay_id AND ts.asof_time <= c.prediction_time
LEFT JOIN store.labels_ihm AS l ON l.stay_id = c.stay_id
LEFT JOIN features.splits AS s ON s.subject_id = c.subject_id
ORDER BY c.stay_id
"""


def test_the_readme_sql_example_agrees_with_get_training_frame(store_home):
    with catalog(store_home, write=False) as con:
        sql_rows = con.execute(README_SQL).fetchall()
    entities = cohort_entities(store_home, "cohorts/ihm_48h", ["subject_id", "stay_id", "prediction_time"])
    frame = get_training_frame(entities, "timeseries_ihm,labels_ihm", home=store_home)
    api = {r["stay_id"]: r for r in frame.to_pylist()}
    assert len(sql_rows) == frame.num_rows > 0
    for stay, pred, step, asof, _hr, y, split in sql_rows:
        row = api[stay]
        assert asof <= pred and row["timeseries_ihm__step"][-1] == step
        assert row["timeseries_ihm__asof_time"] == asof and row["labels_ihm__y_true"] == y and row["split"] == split


# ---------------------------------------------------------------- the agreed schemas of tables built elsewhere

T = datetime(2150, 3, 1, 8)


def _ts(hours: list[float]) -> pa.Array:
    return pa.array([T + timedelta(hours=x) for x in hours], pa.timestamp("us"))


def _floats(n_rows: int, width: int, seed: int) -> pa.Array:
    values = np.random.default_rng(seed).standard_normal((n_rows, width)).astype(np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(values.ravel()), width)


def write_agreed_tables(home: Home) -> None:
    """Tables with exactly the schemas agreed for issue 5 (and cohorts.haim_samples' SQL)."""
    subjects = pa.array([1, 1, 2], pa.int64())
    write_arrow(home, "embeddings", "cxr_densenet121_chex", pa.table({
        "dicom_id": ["a", "b", "c"], "subject_id": subjects, "study_id": pa.array([11, 12, 21], pa.int64()),
        "study_datetime": _ts([0, 10, 5]), "view_position": ["AP", "PA", "AP"],
        "dense": _floats(3, 1024, 0), "pathologies": _floats(3, 18, 1), "weights_source": ["random-init"] * 3}))
    write_arrow(home, "embeddings", "notes_clinicalbert_notes", pa.table({
        "note_id": ["n1", "n2", "n3"], "subject_id": subjects, "hadm_id": pa.array([100, 100, 200], pa.int64()),
        "note_type": ["radiology", "discharge", "radiology"], "source": ["radiology", "discharge", "radiology"],
        "charttime": _ts([1, 30, 2]), "available_time": _ts([1, 30, 2]), "n_chunks": pa.array([1, 3, 2], pa.int32()),
        "embedding": _floats(3, 768, 2), "weights_source": ["random-init"] * 3}))
    image = np.arange(224 * 224, dtype=np.uint32).astype(np.uint8).tobytes()
    write_arrow(home, "features", "cxr_tensors", pa.table({
        "dicom_id": ["a", "b", "c"], "subject_id": subjects, "study_id": pa.array([11, 12, 21], pa.int64()),
        "study_datetime": _ts([0, 10, 5]), "view_position": ["AP", "PA", "AP"],
        "height": pa.array([224] * 3, pa.int32()), "width": pa.array([224] * 3, pa.int32()),
        "clahe": pa.array([image] * 3, pa.binary()), "plain": pa.array([image] * 3, pa.binary())}))
    write_arrow(home, "embeddings", "notes_clinicalbert", pa.table({
        "note_id": ["n1", "n2", "n2", "n3"], "subject_id": pa.array([1, 1, 1, 2], pa.int64()),
        "hadm_id": pa.array([100, 100, 100, 200], pa.int64()),
        "note_type": ["radiology", "discharge", "discharge", "radiology"],
        "source": ["radiology", "discharge", "discharge", "radiology"], "charttime": _ts([1, 30, 30, 2]),
        "available_time": _ts([1, 30, 30, 2]),
        "chunk_index": pa.array([0, 0, 1, 0], pa.int32()), "n_wordpieces": pa.array([40, 512, 100, 20], pa.int32()),
        "embedding": _floats(4, 768, 3), "weights_source": ["random-init:L1"] * 4}))
    write_arrow(home, "features", "cxr_pairs_ihm", pa.table({
        "subject_id": pa.array([1, 2], pa.int64()), "hadm_id": pa.array([100, 200], pa.int64()),
        "stay_id": pa.array([1000, 2000], pa.int64()), "intime": _ts([-1, 4]), "prediction_time": _ts([47, 52]),
        "has_cxr": [True, False], "dicom_id": ["a", None], "study_id": pa.array([11, None], pa.int64()),
        "study_datetime": pa.array([T, None], pa.timestamp("us")),
        "view_position": ["AP", None]}))
    write_arrow(home, "features", "note_chunks", pa.table({
        "note_id": ["n1", "n2", "n2", "n3"], "subject_id": pa.array([1, 1, 1, 2], pa.int64()),
        "hadm_id": pa.array([100, 100, 100, 200], pa.int64()), "note_type": ["radiology", "discharge", "discharge",
                                                                           "radiology"],
        "source": ["radiology", "discharge", "discharge", "radiology"], "charttime": _ts([1, 30, 30, 2]),
        "available_time": _ts([1, 30, 30, 2]),
        "chunk_index": pa.array([0, 0, 1, 0], pa.int32()), "n_wordpieces": pa.array([40, 512, 100, 20], pa.int32()),
        "text": ["chest x-ray", "discharge part 1", "discharge part 2", "report"]}))
    haim = {"sample_id": ["a-100", "b-100", "c-200"], "subject_id": subjects,
            "hadm_id": pa.array([100, 100, 200], pa.int64()), "stay_id": pa.array([1000, 1000, 2000], pa.int64()),
            "dicom_id": ["a", "b", "c"], "study_id": pa.array([11, 12, 21], pa.int64()),
            "prediction_time": _ts([0, 10, 5]), "asof_time": _ts([-1, 9, 4])}
    blocks = {"de": 6, "vd": 1024, "vp": 18, "vmd": 1024, "vmp": 18, "ts_ce": 99, "ts_le": 242, "ts_pe": 110,
              "n_rad": 768, "n_dis": 768}
    for prefix, n in blocks.items():
        for i in range(n):
            haim[f"{prefix}_{i}"] = pa.array([float(i), float(i) + 0.5, None], pa.float32())
    haim["has_cxr_embedding"] = [True, True, False]
    write_arrow(home, "features", "haim", pa.table(haim))
    samples = {"sample_id": ["a-100", "b-100", "c-200"], "subject_id": subjects,
               "hadm_id": pa.array([100, 100, 200], pa.int64()), "stay_id": pa.array([1000, 1000, 2000], pa.int64()),
               "dicom_id": ["a", "b", "c"], "study_id": pa.array([11, 12, 21], pa.int64()),
               "prediction_time": _ts([0, 10, 5]), "mortality_48h": pa.array([0, 1, None], pa.int8()),
               "discharge_48h": pa.array([0, 0, 1], pa.int8()), "img_length_of_stay_hours": [80.0, 20.0, 30.0],
               "death_status": pa.array([0, 1, 0], pa.int32()),
               **{name: [1.0, None, 0.0] for name in CHEXPERT_LABELS}}
    write_arrow(home, "cohorts", "haim_samples", pa.table(samples))


@pytest.fixture
def agreed(home):
    write_agreed_tables(home)
    return home


def test_the_agreed_schemas_fit_the_declarations(agreed):
    names = ["cxr_densenet121_chex", "cxr_densenet121_chex_by_image", "notes_clinicalbert_notes",
             "notes_clinicalbert", "cxr_tensors", "cxr_tensors_by_image", "cxr_pairs_ihm", "note_chunks", "haim",
             "labels_haim"]
    for name in names:
        rv = resolve(REGISTRY.get(name), agreed, stats=True)
        assert rv.materialised and not rv.problems, (name, rv.problems)
    haim = resolve(REGISTRY.get("haim"), agreed, stats=True)
    assert {g: len(c) for g, c in haim.groups.items()}["vd"] == 1024 and haim.groups["n_ecg"] == ()
    assert haim.weights_source == "random-init"  # inherited from the embeddings it was built from
    write_registry(agreed)
    registry = read_registry(agreed)
    status = dict(zip(registry["view"].to_pylist(), registry["status"].to_pylist(), strict=True))
    weights = dict(zip(registry["view"].to_pylist(), registry["weights_source"].to_pylist(), strict=True))
    assert all(status[n] == MATERIALISED for n in names)
    assert weights["cxr_densenet121_chex"] == weights["notes_clinicalbert_notes"] == "random-init"
    assert weights["notes_clinicalbert"] == "random-init:L1"
    with catalog(agreed, write=False) as con:
        for name in names:
            cols = [r[0] for r in con.execute(f"DESCRIBE store.{name}").fetchall()]
            assert ("asof_time" in cols) != REGISTRY.get(name).is_label, name
        assert con.execute("SELECT count(*) FROM store.haim").fetchall() == [(3,)]


def test_retrieval_through_the_agreed_tables(agreed):
    entities = pa.table({"sample_id": ["a-100", "b-100", "c-200", "zz"],
                         "subject_id": pa.array([1, 1, 2, 3], pa.int64()),
                         "prediction_time": _ts([0, 10, 5, 5])})
    views = ["haim", "cxr_densenet121_chex", "notes_clinicalbert_notes", "note_chunks", "cxr_tensors", "labels_haim"]
    frame = get_training_frame(entities, views, home=agreed)
    assert frame.schema.field("haim__vd").type == pa.list_(pa.float32(), 1024)
    assert frame["haim__de"].to_pylist()[1] == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]
    assert frame["cxr_densenet121_chex__dicom_id"].to_pylist() == ["a", "b", "c", None]
    assert frame["notes_clinicalbert_notes__note_id"].to_pylist() == [None, "n1", "n3", None]  # n1 at 1h > 0h
    assert frame["note_chunks__length"].to_pylist() == [0, 1, 1, 0]
    assert frame["note_chunks__text"].to_pylist()[1] == ["chest x-ray"]
    assert frame["labels_haim__mortality_48h"].to_pylist() == [0, 1, None, None]
    report = frame_report(frame)
    assert report["guards"]["leakage_rows"] == 0
    lineage = {v["name"]: v for v in report["views"]}
    assert lineage["haim"]["weights_source"] == "random-init" and lineage["haim"]["source"] == "features/haim"
    assert lineage["cxr_tensors"]["shapes"] == {"cxr_tensors__clahe": [224, 224], "cxr_tensors__plain": [224, 224]}
    later = get_training_frame(entities.set_column(2, "prediction_time", _ts([40, 40, 40, 40])), views, home=agreed)
    assert later["note_chunks__note_id"].to_pylist()[1] == ["n1", "n2", "n2"]
    assert later["note_chunks__chunk_index"].to_pylist()[1] == [0, 0, 1]
    # MedFuse: the pairing rows are the entities, the paired image's tensor comes through its dicom_id
    pairs = get_training_frame(pa.table({"stay_id": pa.array([1000, 2000], pa.int64()), "dicom_id": ["a", None],
                                         "prediction_time": _ts([47, 52])}),
                               "cxr_pairs_ihm,cxr_tensors_by_image,cxr_densenet121_chex_by_image", home=agreed)
    assert pairs["cxr_pairs_ihm__dicom_id"].to_pylist() == ["a", None]
    assert pairs["cxr_tensors_by_image__asof_time"].to_pylist() == [T, None]
    assert pairs["cxr_densenet121_chex_by_image__dense"].null_count == 1
    chunks = get_training_frame(entities, "notes_clinicalbert", home=agreed, ttl="24h")
    assert chunks["notes_clinicalbert__length"].to_pylist() == [0, 1, 1, 0]
    assert [len(e) for e in chunks["notes_clinicalbert__embedding"].to_pylist()[1]] == [768]
    top = latest_features("haim", ["c-200", "a-100"], home=agreed)
    assert top["sample_id"].to_pylist() == ["c-200", "a-100"] and top.schema.field("vp").type == pa.list_(pa.float32(), 18)
