"""models.data: frame -> numpy, image tensors from the lake, batches, normalisation, augmentation, noise."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader

from features.timeseries.layout import CONTINUOUS_COLUMN_INDICES, CONTINUOUS_COLUMNS
from features.timeseries.normalizer import NormalizerState
from models.data import FrameArrays, FusionDataset, ImageStore, NoiseSpec, collate, frame_and_images
from warehouse.lake import ClinfuseError

N_ROWS = 40
LABELS = ("a", "b", "c")
CONT = np.asarray(CONTINUOUS_COLUMN_INDICES)
OTHER = np.setdiff1d(np.arange(76), CONT)
MISSING_DICOM = "d-undecodable"


def make_frame(n: int = N_ROWS, seed: int = 0) -> tuple[pa.Table, list[np.ndarray]]:
    """n stays: 0..8 steps (rows 0 and 5 have none), 60 % with an image; row 3 claims an image that has
    no tensor. Splits: 24 train, 8 val, 8 test."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 9, n)
    lengths[[0, 5]] = 0
    steps = [(rng.normal(50.0, 20.0, (k, 76))).astype(np.float32) for k in lengths]
    has = rng.random(n) < 0.6
    has[[1, 2, 3]] = True
    dicom = [f"d{i:03d}" if h else None for i, h in enumerate(has)]
    dicom[3] = MISSING_DICOM
    split = ["train"] * 24 + ["val"] * 8 + ["test"] * 8
    y = rng.integers(0, 2, (n, len(LABELS))).astype(np.int8)
    y[24:26] = [[0, 0, 0], [1, 1, 1]]  # val has both classes of every label
    table = pa.table({
        "stay_id": pa.array(np.arange(100, 100 + n), pa.int64()),
        "subject_id": pa.array(np.arange(n) // 2, pa.int64()),
        "split": split,
        "ts_length": pa.array(lengths, pa.int32()),
        "ts_values": pa.array([s.tolist() if len(s) else None for s in steps],
                              pa.list_(pa.list_(pa.float32(), 76))),
        "has_cxr": pa.array(has),
        "dicom_id": pa.array(dicom, pa.string()),
        "sex": ["F", "M"] * (n // 2),
        "age": rng.uniform(20, 90, n),
        "race": ["WHITE"] * n,
        **{name: pa.array(y[:, j], pa.int8()) for j, name in enumerate(LABELS)},
    })
    return table, steps


def write_tensors(root, table: pa.Table, seed: int = 1) -> dict[str, np.ndarray]:
    """features.cxr_tensors-like Parquet in two hive shards; `plain` = 255 - `clahe` to tell them apart."""
    rng = np.random.default_rng(seed)
    ids = [d for d in table["dicom_id"].to_pylist() if d and d != MISSING_DICOM] + ["d-other-stay"]
    images = {d: rng.integers(0, 256, (224, 224), dtype=np.uint8) for d in ids}
    for shard in (0, 1):
        part = ids[shard::2]
        folder = root / f"shard={shard}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({
            "dicom_id": part, "subject_id": pa.array([0] * len(part), pa.int64()),
            "height": pa.array([224] * len(part), pa.int32()), "width": pa.array([224] * len(part), pa.int32()),
            "clahe": pa.array([images[d].tobytes() for d in part], pa.binary()),
            "plain": pa.array([(255 - images[d]).tobytes() for d in part], pa.binary()),
        }), folder / "data.parquet")
    return images


@pytest.fixture
def frame():
    return make_frame()


@pytest.fixture
def lake(tmp_path, frame):
    images = write_tensors(tmp_path / "cxr_tensors", frame[0])
    return tmp_path / "cxr_tensors", images


def state(seed: int = 3, shuffled: bool = False) -> NormalizerState:
    rng = np.random.default_rng(seed)
    cols = list(CONTINUOUS_COLUMNS)
    means, stds = rng.uniform(-10, 60, 12), rng.uniform(0.5, 30, 12)
    order = rng.permutation(12) if shuffled else np.arange(12)
    return NormalizerState(tuple(cols[i] for i in order), tuple(float(means[i]) for i in order),
                           tuple(float(stds[i]) for i in order), n_rows=100), means, stds


def test_frame_arrays_flat_and_from_parquet(tmp_path, frame):
    table, steps = frame
    arrays = FrameArrays(table, LABELS)
    assert arrays.ts_values.shape == (sum(len(s) for s in steps), 76) and arrays.ts_values.dtype == np.float32
    for i in (0, 1, 7):
        np.testing.assert_array_equal(arrays.ts_values[arrays.ts_offsets[i]:arrays.ts_offsets[i + 1]], steps[i])
    assert arrays.labels.shape == (N_ROWS, 3) and arrays.labels.dtype == np.float32
    assert list(arrays.rows("val")) == list(range(24, 32))
    pq.write_table(table, tmp_path / "frame.parquet")  # Parquet has no fixed-size list: list<list<float>>
    again = FrameArrays(tmp_path / "frame.parquet", LABELS)
    np.testing.assert_array_equal(again.ts_values, arrays.ts_values)
    np.testing.assert_array_equal(again.ts_offsets, arrays.ts_offsets)
    assert (again.dicom_id == arrays.dicom_id).all() and again.split[0] == "train"


def test_from_numpy_matches_the_table(frame):
    arrays = FrameArrays(frame[0], LABELS)
    again = FrameArrays.from_numpy(ts_values=arrays.ts_values, ts_offsets=arrays.ts_offsets, labels=arrays.labels,
                                   label_columns=LABELS, split=arrays.split, has_cxr=arrays.frame_has_cxr,
                                   dicom_id=arrays.dicom_id, subject_id=arrays.subject_id)
    a = FusionDataset(arrays, np.arange(N_ROWS)).__getitems__(list(range(N_ROWS)))
    b = FusionDataset(again, np.arange(N_ROWS)).__getitems__(list(range(N_ROWS)))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (again.lengths == arrays.lengths).all() and "40 rows" in repr(again)


def test_frame_errors(frame):
    table, _ = frame
    with pytest.raises(ClinfuseError, match="lacks column"):
        FrameArrays(table, ("nope",))
    nulls = table.set_column(table.schema.get_field_index("a"), "a", pa.array([None] * N_ROWS, pa.int8()))
    with pytest.raises(ClinfuseError, match="null"):
        FrameArrays(nulls, LABELS)
    wrong = table.set_column(table.schema.get_field_index("ts_length"), "ts_length", pa.array([3] * N_ROWS, pa.int32()))
    with pytest.raises(ClinfuseError, match="ts_length"):
        FrameArrays(wrong, LABELS)


def test_batch_padding_and_lengths(frame):
    table, steps = frame
    arrays = FrameArrays(table, LABELS)
    ds = FusionDataset(arrays, np.arange(N_ROWS))
    picked = [0, 1, 5, 9, 2]
    batch = ds.__getitems__(picked)
    longest = max(max(len(steps[i]), 1) for i in picked)
    assert batch["ts"].shape == (5, longest, 76) and batch["ts"].dtype == torch.float32
    assert batch["lengths"].tolist() == [max(len(steps[i]), 1) for i in picked]
    assert batch["lengths"].dtype == torch.int64
    for b, i in enumerate(picked):
        n = len(steps[i])
        np.testing.assert_array_equal(batch["ts"][b, :n].numpy(), steps[i])
        assert (batch["ts"][b, max(n, 1):] == 0).all()
    assert (batch["ts"][0] == 0).all() and (batch["ts"][2] == 0).all()  # no steps -> one zero step
    assert batch["index"].tolist() == picked
    np.testing.assert_array_equal(batch["y"].numpy(), arrays.labels[picked])
    assert batch["image"].shape == (5, 1, 224, 224) and not batch["has_cxr"].any()  # no ImageStore


def test_collate_and_dataloader_agree_with_getitems(frame):
    arrays = FrameArrays(frame[0], LABELS)
    ds = FusionDataset(arrays, arrays.rows("train"), normalizer=state()[0])
    whole = ds.__getitems__(list(range(8)))
    merged = collate([ds[i] for i in range(8)])
    loaded = next(iter(DataLoader(ds, batch_size=8, collate_fn=collate)))
    for other in (merged, loaded):
        assert set(other) == set(whole)
        for key in whole:
            assert torch.equal(other[key], whole[key]), key
    assert collate(whole) is whole


def test_normalisation_uses_given_state_and_only_continuous_columns(frame):
    table, steps = frame
    arrays = FrameArrays(table, LABELS)
    st, means, stds = state(shuffled=True)  # column order of the state must not matter
    val = arrays.rows("val")
    ds = FusionDataset(arrays, val, normalizer=st)
    batch = ds.__getitems__(list(range(len(val))))
    for b, row in enumerate(val):
        n = len(steps[row])
        got = batch["ts"][b, :n].numpy()
        np.testing.assert_allclose(got[:, CONT], (steps[row][:, CONT] - means) / stds, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(got[:, OTHER], steps[row][:, OTHER])
        assert (batch["ts"][b, max(n, 1):] == 0).all()  # padding stays zero
    # the statistics are the given (training) ones, not the validation rows' own
    valid = torch.cat([batch["ts"][b, :len(steps[r])] for b, r in enumerate(val)])
    assert abs(float(valid[:, CONT].mean())) > 0.1
    bad = NormalizerState(("Heart Rate",), (0.0,), (1.0,), 2)
    with pytest.raises(ClinfuseError, match="continuous"):
        FusionDataset(arrays, val, normalizer=bad)


def test_images_from_lake_missing_tensor_and_sizes(frame, lake):
    table_dir, images = lake
    arrays = FrameArrays(frame[0], LABELS)
    store = ImageStore.from_lake(table_dir, arrays.dicom_ids(), column="clahe")
    assert len(store) == len(images) - 1  # only the frame's images, not d-other-stay
    assert store.missing_ids == (MISSING_DICOM,) and store.missing_tensors == 1
    assert store.index_of(["d001", None, "", "zzz", MISSING_DICOM])[1:].tolist() == [-1, -1, -1, -1]
    np.testing.assert_array_equal(store.images[store.index_of(["d001"])[0]], images["d001"])
    assert arrays.attach_images(store) == 1 and arrays.missing_tensors == 1
    assert arrays.frame_has_cxr[3] and not arrays.has_cxr[3]
    assert 3 not in arrays.rows("train", paired_only=True) and 1 in arrays.rows("train", paired_only=True)

    ds = FusionDataset(arrays, np.arange(N_ROWS), images=store)
    batch = ds.__getitems__(list(range(N_ROWS)))
    assert batch["has_cxr"].tolist() == arrays.has_cxr.tolist()
    for i in range(N_ROWS):
        if arrays.has_cxr[i]:
            np.testing.assert_allclose(batch["image"][i, 0].numpy(), images[arrays.dicom_id[i]] / 255.0, atol=1e-6)
        else:
            assert (batch["image"][i] == 0).all()
    small = FusionDataset(arrays, np.arange(N_ROWS), images=store, image_size=64).__getitems__([1, 3])
    assert small["image"].shape == (2, 1, 64, 64)
    assert 0.0 <= float(small["image"].min()) and float(small["image"].max()) <= 1.0
    assert (small["image"][1] == 0).all()
    np.testing.assert_allclose(float(small["image"][0].mean()), images["d001"].mean() / 255.0, atol=0.01)

    plain_arrays, plain = frame_and_images(frame[0], LABELS, table_dir, column="plain")
    np.testing.assert_array_equal(plain.images[plain.index_of(["d001"])[0]], 255 - images["d001"])
    assert plain_arrays.missing_tensors == 1
    train = arrays.rows("train", paired_only=True)
    expected = float(np.std(np.stack([images[d] for d in arrays.dicom_id[train]]) / 255.0))
    assert store.pixel_std(train) == pytest.approx(expected, rel=1e-9)  # frame rows of the attached frame
    assert store.pixel_std(store_rows=arrays.image_index[train]) == pytest.approx(expected, rel=1e-9)
    assert store.pixel_std(arrays.rows("train")) == pytest.approx(expected, rel=1e-9)  # rows without image skipped
    with pytest.raises(ClinfuseError, match="no chest X-ray tensors"):
        ImageStore.from_lake(table_dir.parent / "absent", ["d001"])


def test_augmentation_reproducible_from_torch_rng(frame, lake):
    arrays = FrameArrays(frame[0], LABELS)
    store = ImageStore.from_lake(lake[0], arrays.dicom_ids())
    clean = FusionDataset(arrays, np.arange(N_ROWS), images=store).__getitems__(list(range(12)))
    for kind in ("medfuse", "paper"):
        ds = FusionDataset(arrays, np.arange(N_ROWS), images=store, augment=kind, image_size=64)
        torch.manual_seed(7)
        first = ds.__getitems__(list(range(12)))
        torch.manual_seed(7)
        second = ds.__getitems__(list(range(12)))
        third = ds.__getitems__(list(range(12)))
        assert torch.equal(first["image"], second["image"]) and not torch.equal(first["image"], third["image"])
        assert first["image"].shape == (12, 1, 64, 64)
        assert torch.equal(first["has_cxr"], clean["has_cxr"])
        assert (first["image"][~first["has_cxr"]] == 0).all()
        assert torch.equal(first["ts"], clean["ts"])
    with pytest.raises(ClinfuseError, match="augment"):
        FusionDataset(arrays, np.arange(N_ROWS), augment="bogus")


def _steps_touched(noisy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    return (noisy[..., CONT] != clean[..., CONT]).any(-1)


def test_noise_deterministic_fractional_and_harmless(frame, lake):
    table, steps = frame
    arrays = FrameArrays(table, LABELS)
    store = ImageStore.from_lake(lake[0], arrays.dicom_ids())
    arrays.attach_images(store)
    st = state()[0]
    values_before, images_before = arrays.ts_values.copy(), store.images.copy()
    rows = np.arange(N_ROWS)
    clean = FusionDataset(arrays, rows, st, store).__getitems__(list(range(N_ROWS)))
    spec = NoiseSpec(ts_fraction=0.5, pixel_fraction=0.3, seed=11, pixel_sigma=0.2)
    noisy = FusionDataset(arrays, rows, st, store, noise=spec).__getitems__(list(range(N_ROWS)))

    # deterministic per frame row, whatever the batch order and the dataset's row subset
    subset = FusionDataset(arrays, rows[::-1][:15], st, store, noise=spec)
    batch = subset.__getitems__([4, 0, 9])
    for b, row in enumerate(batch["index"].tolist()):
        n = max(len(steps[row]), 1)
        assert torch.equal(batch["ts"][b, :n], noisy["ts"][row, :n])
        assert torch.equal(batch["image"][b], noisy["image"][row])
    other = FusionDataset(arrays, rows, st, store, noise=NoiseSpec(0.5, 0.3, seed=12, pixel_sigma=0.2))
    assert not torch.equal(other.__getitems__(list(range(N_ROWS)))["ts"], noisy["ts"])

    # about p of the real steps and of the pixels; padding, empty stays, missing images untouched
    real = torch.arange(noisy["ts"].shape[1])[None, :] < torch.as_tensor(arrays.lengths)[:, None]
    touched = _steps_touched(noisy["ts"], clean["ts"])
    assert not touched[~real].any()
    assert 0.4 < float(touched[real].float().mean()) < 0.6
    for row in np.flatnonzero(arrays.lengths):  # randomised rounding: floor(pL) or floor(pL) + 1 steps
        assert int(touched[row].sum()) in (int(np.floor(0.5 * arrays.lengths[row])),
                                           int(np.floor(0.5 * arrays.lengths[row])) + 1)
    assert torch.equal(noisy["ts"][..., OTHER], clean["ts"][..., OTHER])
    has = clean["has_cxr"]
    changed = (noisy["image"][has] != clean["image"][has]).float().mean()
    assert 0.2 < float(changed) <= 0.31  # clipping at 0/1 leaves a few selected pixels unchanged
    assert (noisy["image"][~has] == 0).all()
    assert float(noisy["image"].min()) >= 0.0 and float(noisy["image"].max()) <= 1.0

    zero = FusionDataset(arrays, rows, st, store, noise=NoiseSpec(0.0, 0.0, seed=11)).__getitems__(list(range(N_ROWS)))
    assert torch.equal(zero["ts"], clean["ts"]) and torch.equal(zero["image"], clean["image"])
    np.testing.assert_array_equal(arrays.ts_values, values_before)  # the frame and the images are never written
    np.testing.assert_array_equal(store.images, images_before)
    with pytest.raises(ClinfuseError, match="pixel_sigma"):
        NoiseSpec(0.0, 0.1, seed=1)
    with pytest.raises(ClinfuseError, match="normalizer"):
        FusionDataset(arrays, rows, None, store, noise=NoiseSpec(0.1, 0.0, seed=1))


def test_ablations(frame, lake):
    arrays = FrameArrays(frame[0], LABELS)
    store = ImageStore.from_lake(lake[0], arrays.dicom_ids())
    st = state()[0]
    full = FusionDataset(arrays, np.arange(N_ROWS), st, store).__getitems__(list(range(N_ROWS)))
    no_cxr = FusionDataset(arrays, np.arange(N_ROWS), st, store, ablate="cxr").__getitems__(list(range(N_ROWS)))
    assert full["has_cxr"].any() and not no_cxr["has_cxr"].any() and (no_cxr["image"] == 0).all()
    assert torch.equal(no_cxr["ts"], full["ts"])
    no_ehr = FusionDataset(arrays, np.arange(N_ROWS), st, store, ablate="ehr").__getitems__(list(range(N_ROWS)))
    assert no_ehr["ts"].shape == (N_ROWS, 1, 76) and (no_ehr["ts"] == 0).all()
    assert (no_ehr["lengths"] == 1).all()
    assert torch.equal(no_ehr["image"], full["image"]) and torch.equal(no_ehr["has_cxr"], full["has_cxr"])


def test_uni_cxr_frame_without_time_series(lake):
    """The cxr frame: one row per image, no ts_values column, ts_length 0."""
    table_dir, images = lake
    ids = sorted(images)[:6]
    table = pa.table({"dicom_id": ids, "subject_id": pa.array(range(6), pa.int64()), "split": ["train"] * 6,
                      "ts_length": pa.array([0] * 6, pa.int32()), "has_cxr": [True] * 6,
                      **{f"l{j}": pa.array([j % 2] * 6, pa.int8()) for j in range(14)}})
    arrays, store = frame_and_images(table, [f"l{j}" for j in range(14)], table_dir)
    batch = FusionDataset(arrays, arrays.rows("train"), images=store).__getitems__(list(range(6)))
    assert batch["ts"].shape == (6, 1, 76) and batch["has_cxr"].all() and batch["y"].shape == (6, 14)
    assert arrays.stay_id is None
