"""FeatureDataset: training frames as tensors (scalars, stacked vectors, sequences, images), presence masks,
padding collate, and the lineage models keep with their checkpoints."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
import torch
from torch.utils.data import DataLoader

from features.store import FeatureGroup, FeatureView, Registry, get_training_frame
from features.store.dataset import FeatureDataset
from warehouse.lake import ClinfuseError, write_arrow

T = datetime(2150, 1, 1)
REG = Registry([
    FeatureView(name="vitals", kind="sequence", source="features/vitals", entity_keys=("stay_id",),
                row_ids=("step",), asof="t", order_by=("step",),
                groups=(FeatureGroup("values", "hr, rr", "FLOAT", columns=("hr", "rr"), stack=True),),
                description="per-step vitals"),
    FeatureView(name="img", kind="latest", source="features/img", entity_keys=("subject_id",), row_ids=("dicom_id",),
                asof="t", order_by=("dicom_id",), weights_column="weights_source",
                groups=(FeatureGroup("view_position", "view", "VARCHAR", columns=("view_position",)),
                        FeatureGroup("age", "scalar", "DOUBLE", columns=("age",)),
                        FeatureGroup("emb", "embedding", "FLOAT[]", columns=("emb",), shape=(4,)),
                        FeatureGroup("pixels", "image", "BLOB", columns=("pixels",), shape=(3, 2))),
                description="images"),
    FeatureView(name="outcome", kind="label", source="cohorts/outcome", entity_keys=("stay_id",), asof=None,
                groups=(FeatureGroup("y", "labels", "TINYINT", columns=("dead", "long_stay")),), description="labels"),
])


@pytest.fixture
def frame(home) -> pa.Table:
    write_arrow(home, "features", "vitals", pa.table({
        "stay_id": pa.array([1, 1, 1, 2], pa.int64()), "step": pa.array([0, 1, 2, 0], pa.int32()),
        "t": pa.array([T, T + timedelta(hours=2), T + timedelta(hours=4), T], pa.timestamp("us")),
        "hr": pa.array([80, 90, 100, 60], pa.float32()), "rr": pa.array([12, 14, 16, 10], pa.float32())}))
    write_arrow(home, "features", "img", pa.table({
        "subject_id": pa.array([7], pa.int64()), "dicom_id": ["d"], "t": pa.array([T], pa.timestamp("us")),
        "view_position": ["AP"], "age": [61.0], "emb": pa.array([[1.0, 2.0, 3.0, 4.0]], pa.list_(pa.float32())),
        "pixels": pa.array([bytes(range(6))], pa.binary()), "weights_source": ["random-init"]}))
    write_arrow(home, "cohorts", "outcome", pa.table({
        "stay_id": pa.array([1, 2, 3], pa.int64()), "dead": pa.array([1, 0, None], pa.int8()),
        "long_stay": pa.array([0, 1, 1], pa.int8())}))
    entities = pa.table({"stay_id": pa.array([1, 2, 3], pa.int64()), "subject_id": pa.array([7, 8, 7], pa.int64()),
                         "prediction_time": pa.array([T + timedelta(hours=3), T + timedelta(hours=1), T],
                                                     pa.timestamp("us"))})
    return get_training_frame(entities, "vitals,img,outcome", home=home, registry=REG)


def test_items_are_tensors_with_presence(frame):
    ds = FeatureDataset(frame)
    assert len(ds) == 3
    assert ds.input_columns == ["vitals__values", "img__age", "img__emb", "img__pixels"]
    assert ds.skipped == ["img__view_position"]  # strings are not tensors
    assert ds.target_columns == ["outcome__dead", "outcome__long_stay"]
    first = ds[0]
    assert first["inputs"]["vitals__values"].tolist() == [[80, 12], [90, 14]]  # steps up to 3 h: 0 and 1
    assert first["inputs"]["img__emb"].dtype == torch.float32 and first["inputs"]["img__emb"].tolist() == [1, 2, 3, 4]
    assert first["inputs"]["img__pixels"].dtype == torch.uint8
    assert first["inputs"]["img__pixels"].tolist() == [[0, 1], [2, 3], [4, 5]]
    assert first["inputs"]["img__age"].item() == 61.0
    assert first["target"].tolist() == [1.0, 0.0]
    missing = ds[1]  # subject 8 has no image: zeros / NaN and present False
    assert missing["present"] == {"vitals__values": True, "img__age": False, "img__emb": False, "img__pixels": False}
    assert np.isnan(missing["inputs"]["img__age"].item())
    assert missing["inputs"]["img__pixels"].shape == (3, 2)
    third = ds[2]
    assert third["inputs"]["vitals__values"].shape == (0, 2) and not third["present"]["vitals__values"]
    assert np.isnan(third["target"][0].item())


def test_collate_pads_sequences(frame):
    ds = FeatureDataset(frame)
    batch = next(iter(DataLoader(ds, batch_size=3, collate_fn=FeatureDataset.collate)))
    assert batch["inputs"]["vitals__values"].shape == (3, 2, 2)
    assert batch["lengths"]["vitals__values"].tolist() == [2, 1, 0]
    assert batch["inputs"]["img__pixels"].shape == (3, 3, 2)
    assert batch["present"]["img__emb"].tolist() == [True, False, True]
    assert batch["target"].shape == (3, 2) and batch["index"].tolist() == [0, 1, 2]


def test_lineage_travels_with_the_dataset(frame):
    ds = FeatureDataset(frame)
    assert set(ds.lineage["views"]) == {"vitals", "img", "outcome"}
    assert ds.lineage["views"]["img"]["weights_source"] == "random-init"
    assert ds.lineage["views"]["vitals"]["code_version"] == "1"
    assert ds.lineage["guards"]["leakage_rows"] == 0


def test_explicit_columns_and_errors(frame):
    ds = FeatureDataset(frame, inputs=["img__emb"], targets=["outcome__long_stay"])
    assert ds.input_columns == ["img__emb"] and ds[0]["target"].tolist() == [0.0]
    with pytest.raises(ClinfuseError, match="cannot be a tensor"):
        FeatureDataset(frame, inputs=["img__view_position"])
    with pytest.raises(ClinfuseError, match="no column"):
        FeatureDataset(frame, inputs=["nope"])
    with pytest.raises(ClinfuseError, match="no lineage"):
        FeatureDataset(pa.table({"x": [1.0]}))
