"""DenseNet121-res224-chex loading (offline, through torchxrayvision's real cache lookup) and embeddings."""

from __future__ import annotations

import math
import shutil

import numpy as np
import polars as pl
import pytest
import torch
import torchxrayvision as xrv

from features.cxr import densenet as dn
from features.cxr.tensors import tensor_frame
from features.weights import RANDOM_INIT, WeightsUnavailable
from warehouse.lake import ClinfuseError

FILE = "chex-densenet121-d121-tw-lr001-rot45-tr15-sc15-seed0-best.pt"


def _images(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:224, 0:224]
    base = 90 + 60 * np.sin(xx / 23.0) * np.cos(yy / 31.0)
    if n == 0:
        return np.empty((0, 224, 224), np.uint8)
    return np.stack([np.clip(base + rng.normal(0, 25, (224, 224)) + 10 * i, 0, 255) for i in range(n)]).astype(np.uint8)


@pytest.fixture(autouse=True)
def no_download(monkeypatch):
    """We are offline: any attempt by torchxrayvision to download fails the test."""
    def refuse(url, filename):
        raise AssertionError(f"torchxrayvision tried to download {url} -> {filename}")

    monkeypatch.setattr(xrv.utils, "download", refuse)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """A torchxrayvision cache holding a stand-in chex weights file: a pickled, randomly initialised
    `DenseNet(weights=None)` (the file format xrv loads), its BatchNorm statistics calibrated on one batch so
    activations have the scale of a trained model."""
    torch.manual_seed(1234)
    model = xrv.models.DenseNet(weights=None)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 1.0
    model.train()
    with torch.no_grad():
        model(dn.normalize_batch(torch.from_numpy(_images(8, seed=99))))
    model.eval()
    folder = tmp_path_factory.mktemp("xrv-cache") / "models_data"
    folder.mkdir()
    torch.save(model, folder / FILE)
    return folder


@pytest.fixture(scope="module")
def loaded(cache_dir):
    return dn.load_densenet("strict", cache_dir)


def test_weights_file_is_where_xrv_looks(cache_dir, monkeypatch, tmp_path):
    assert dn.weights_file(cache_dir) == str(cache_dir / FILE)
    assert xrv.models.get_weights(dn.WEIGHTS, cache_dir=str(cache_dir)) == dn.weights_file(cache_dir)
    monkeypatch.setenv("HOME", str(tmp_path))  # the default cache is ~/.torchxrayvision/models_data/
    assert dn.weights_file() == str(tmp_path / ".torchxrayvision" / "models_data" / FILE)


def test_strict_loads_by_weight_name(loaded, cache_dir):
    model, source = loaded
    assert source == f"torchxrayvision:densenet121-res224-chex ({cache_dir / FILE})"
    assert model.weights == dn.WEIGHTS and not model.training
    assert tuple(model.pathologies) == dn.CHEX_LABELS
    reference = torch.load(cache_dir / FILE, weights_only=False).state_dict()
    for name, value in model.state_dict().items():
        if name != "op_threshs":
            assert torch.equal(value, reference[name]), name


def test_strict_finds_the_default_cache_through_home(cache_dir, monkeypatch, tmp_path):
    target = tmp_path / ".torchxrayvision" / "models_data"
    target.mkdir(parents=True)
    shutil.copy(cache_dir / FILE, target / FILE)
    monkeypatch.setenv("HOME", str(tmp_path))
    _model, source = dn.load_densenet("strict")
    assert str(target / FILE) in source


def test_strict_without_the_file_names_the_path(tmp_path):
    with pytest.raises(WeightsUnavailable) as err:
        dn.load_densenet("strict", tmp_path / "empty-cache")
    message = str(err.value)
    assert str(tmp_path / "empty-cache" / FILE) in message and "wget" in message and "weights: auto" in message
    assert not (tmp_path / "empty-cache").exists()  # nothing created, nothing downloaded


def test_policy_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CLINFUSE_WEIGHTS", "strict")
    with pytest.raises(WeightsUnavailable):
        dn.load_densenet(None, tmp_path)
    monkeypatch.setenv("CLINFUSE_WEIGHTS", "auto")
    assert dn.load_densenet(None, tmp_path)[1] == RANDOM_INIT


def test_auto_without_the_file_is_random_init_with_chex_semantics(tmp_path):
    model, source = dn.load_densenet("auto", tmp_path)
    assert source == RANDOM_INIT
    assert tuple(model.pathologies) == dn.CHEX_LABELS and model.input_resolution == 224
    chex = torch.tensor(xrv.models.model_urls[dn.WEIGHTS]["op_threshs"])
    assert torch.equal(torch.isnan(model.op_threshs), torch.isnan(chex))
    again, _ = dn.load_densenet("auto", tmp_path)
    for (name, a), b in zip(model.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.allclose(a, b, rtol=0, atol=0, equal_nan=True), name  # same seed, same weights


def test_constants():
    assert dn.PATHOLOGIES == tuple(xrv.datasets.default_pathologies) and len(dn.PATHOLOGIES) == 18
    assert dn.UNTRAINED == ("Infiltration", "Emphysema", "Fibrosis", "Pleural_Thickening", "Nodule", "Mass", "Hernia")


def test_normalisation_is_xrv_normalize():
    imgs = _images(3)
    expected = np.stack([xrv.datasets.normalize(img, 255) for img in imgs])[:, None]
    assert torch.equal(dn.normalize_batch(torch.from_numpy(imgs)), torch.from_numpy(expected))


def test_one_features_pass_equals_model_forward(loaded):
    model, _ = loaded
    x = dn.normalize_batch(torch.from_numpy(_images(3)))
    with torch.inference_mode():
        dense, out = dn.forward_both(model, x)
        assert torch.allclose(dense, model.features2(x), atol=1e-6)
        assert torch.allclose(out, model(x), atol=1e-6)


def test_embeddings_dims_no_nan_deterministic(loaded):
    model, _ = loaded
    imgs = _images(5)
    dense, paths = dn.embed_arrays(imgs, model, "cpu", batch_size=2)
    assert dense.shape == (5, 1024) and paths.shape == (5, 18)
    assert dense.dtype == np.float32 and paths.dtype == np.float32
    assert np.isfinite(dense).all() and np.isfinite(paths).all()
    untrained = [i for i, p in enumerate(dn.PATHOLOGIES) if p in dn.UNTRAINED]
    assert (paths[:, untrained] == 0.5).all()
    assert ((paths >= 0) & (paths <= 1)).all()
    assert np.array_equal(dn.embed_arrays(imgs, model, "cpu", batch_size=2)[0], dense)


def test_batch_equals_single_images(loaded):
    model, _ = loaded
    imgs = _images(4, seed=3)
    dense, paths = dn.embed_arrays(imgs, model, "cpu", batch_size=4)
    singles = [dn.embed_arrays(imgs[i:i + 1], model, "cpu", batch_size=1) for i in range(4)]
    np.testing.assert_allclose(dense, np.concatenate([s[0] for s in singles]), atol=1e-4, rtol=0)
    np.testing.assert_allclose(paths, np.concatenate([s[1] for s in singles]), atol=1e-4, rtol=0)


def _tensors(n: int) -> pl.DataFrame:
    plain = _images(n)
    clahe = 255 - plain
    keys = pl.DataFrame({"dicom_id": [f"d{i}" for i in range(n)], "subject_id": list(range(n)),
                         "study_id": [5] * n, "study_datetime": [None] * n, "view_position": ["AP"] * n})
    return tensor_frame(keys, np.arange(n), clahe, plain)


def test_embed_images_table(loaded):
    model, source = loaded
    tensors = _tensors(3)
    frame = dn.embed_images(tensors, model, torch.device("cpu"), batch_size=2, weights_source=source)
    assert frame.schema == pl.Schema(dn.EMBEDDING_SCHEMA)
    assert frame["dicom_id"].to_list() == ["d0", "d1", "d2"]
    assert frame["weights_source"].unique().to_list() == [source]
    assert frame["dense"].dtype == pl.Array(pl.Float32, 1024) and frame["pathologies"].dtype == pl.Array(pl.Float32, 18)
    dense, _ = dn.embed_arrays(_images(3), model, "cpu")
    np.testing.assert_allclose(frame["dense"].to_numpy(), dense, atol=1e-5)  # the plain column by default
    assert not any(math.isnan(v) for row in frame["pathologies"].to_list() for v in row)
    with_clahe = dn.embed_images(tensors, model, "cpu", use_clahe=True)
    assert not np.array_equal(with_clahe["dense"].to_numpy(), frame["dense"].to_numpy())
    assert with_clahe["weights_source"][0] == source  # read from the model when not given


def test_random_init_source_recorded(tmp_path):
    model, source = dn.load_densenet("auto", tmp_path)
    frame, stats = dn.build_embeddings(_tensors(2), model=(model, source), device="cpu")
    assert frame["weights_source"].to_list() == [RANDOM_INIT] * 2
    assert stats["weights_source"] == RANDOM_INIT and stats["untrained"] == list(dn.UNTRAINED)


def test_nan_outputs_are_an_error(tmp_path):
    model, _ = dn.load_densenet("auto", tmp_path)
    with torch.no_grad():
        model.classifier.weight[0, 0] = float("nan")
    with pytest.raises(ClinfuseError, match="NaN"):
        dn.embed_images(_tensors(2), model, "cpu")


def test_empty_shard(tmp_path):
    model, _ = dn.load_densenet("auto", tmp_path)
    frame = dn.embed_images(_tensors(0), model, "cpu")
    assert frame.height == 0 and frame.schema == pl.Schema(dn.EMBEDDING_SCHEMA)


def test_fixed_widths_after_a_parquet_round_trip(loaded, tmp_path):
    model, source = loaded
    frame = dn.embed_images(_tensors(2), model, "cpu", weights_source=source)
    frame.with_columns(pl.col("dense").arr.to_list(), pl.col("pathologies").arr.to_list()).write_parquet(tmp_path / "e.parquet")
    back = dn.with_fixed_widths(pl.read_parquet(tmp_path / "e.parquet"))
    assert back.schema == pl.Schema(dn.EMBEDDING_SCHEMA)
    np.testing.assert_array_equal(back["dense"].to_numpy(), frame["dense"].to_numpy())
