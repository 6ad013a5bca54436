"""CXR image tensors: CLAHE, resize/crop geometry, bad files, 16-bit and RGBA inputs, DataLoader workers."""

from __future__ import annotations

import cv2
import numpy as np
import polars as pl
import pytest
import torch

from features.cxr.tensors import (
    CROP,
    TENSOR_BYTES,
    TENSOR_SCHEMA,
    CxrImageDataset,
    center_crop,
    clahe,
    decode_all,
    decode_gray,
    preprocess,
    read_gray,
    resize_short_side,
    tensor_frame,
    tensor_from_row,
    tensors_to_array,
)


def _radiograph(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth gradient with a bright blob and noise: enough structure for CLAHE to matter."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = 60 + 80 * xx / w + 40 * np.exp(-(((yy - h / 2) / (h / 4)) ** 2 + ((xx - w / 3) / (w / 5)) ** 2))
    img += rng.normal(0, 6, (h, w))
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture
def files(tmp_path):
    """A JPEG, a truncated JPEG, garbage bytes, an empty file, a 16-bit PNG, an RGBA PNG, an RGB JPEG."""
    img = _radiograph(300, 400)
    paths = {"jpeg": tmp_path / "good.jpg", "truncated": tmp_path / "truncated.jpg",
             "garbage": tmp_path / "garbage.jpg", "empty": tmp_path / "empty.jpg",
             "png16": tmp_path / "deep.png", "rgba": tmp_path / "alpha.png", "rgb": tmp_path / "colour.jpg",
             "missing": tmp_path / "nowhere.jpg"}
    data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    paths["jpeg"].write_bytes(data)
    paths["truncated"].write_bytes(data[: len(data) // 2])
    paths["garbage"].write_bytes(b"this is not an image at all")
    paths["empty"].write_bytes(b"")
    deep = (img.astype(np.uint16) * 16 + 100)  # a 12-bit-range image, as radiographs often are
    assert cv2.imwrite(str(paths["png16"]), deep)
    rgba = np.dstack([img, (img // 2), (255 - img), np.full_like(img, 7)])
    assert cv2.imwrite(str(paths["rgba"]), rgba)
    assert cv2.imwrite(str(paths["rgb"]), np.dstack([img, img, img]))
    return {k: str(v) for k, v in paths.items()}, img, deep, rgba


# ---------------------------------------------------------------- one image


def test_clahe_is_opencv_clahe():
    img = _radiograph(512, 420, seed=1)
    expected = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(img)
    assert np.array_equal(clahe(img), expected)
    assert not np.array_equal(clahe(img), img)


@pytest.mark.parametrize(("shape", "resized"), [
    ((300, 400), (256, 341)),  # landscape: int(256 * 400 / 300) = 341
    ((517, 333), (397, 256)),  # portrait
    ((100, 150), (256, 384)),  # smaller than 224: upscaled
    ((256, 300), (256, 300)),  # short side already 256: untouched
    ((500, 500), (256, 256)),
])
def test_resize_short_side_and_crop_shapes(shape, resized):
    img = _radiograph(*shape)
    out = resize_short_side(img, 256)
    assert out.shape == resized and out.dtype == np.uint8
    assert center_crop(out, 224).shape == (CROP, CROP)


def test_resize_interpolation_area_when_shrinking_linear_when_enlarging():
    big, small = _radiograph(600, 800), _radiograph(120, 160)
    assert np.array_equal(resize_short_side(big), cv2.resize(big, (341, 256), interpolation=cv2.INTER_AREA))
    assert np.array_equal(resize_short_side(small), cv2.resize(small, (341, 256), interpolation=cv2.INTER_LINEAR))


def test_geometry_matches_torchvision():
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    for h, w in ((300, 400), (517, 333), (421, 380)):
        img = _radiograph(h, w)
        resized = resize_short_side(img)
        ref = TF.resize(torch.from_numpy(img)[None], 256, interpolation=InterpolationMode.NEAREST)
        assert resized.shape == tuple(ref.shape[1:])
        assert np.array_equal(center_crop(resized), TF.center_crop(torch.from_numpy(resized)[None], 224)[0].numpy())


def test_center_crop_too_small():
    with pytest.raises(ValueError, match="centre-crop"):
        center_crop(np.zeros((200, 300), np.uint8), 224)


def test_preprocess_is_the_bare_opencv_pipeline(files):
    paths, _img, _, _ = files
    gray = cv2.imread(paths["jpeg"], cv2.IMREAD_GRAYSCALE)
    op = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    expected = cv2.resize(op.apply(gray), (341, 256), interpolation=cv2.INTER_AREA)[16:240, 58:282]
    assert np.array_equal(preprocess(paths["jpeg"]), expected)
    plain = cv2.resize(gray, (341, 256), interpolation=cv2.INTER_AREA)[16:240, 58:282]
    assert np.array_equal(preprocess(paths["jpeg"], clahe=False), plain)


def test_bad_files_are_reasons_not_exceptions(files):
    paths, *_ = files
    assert read_gray(paths["truncated"]) == (None, "truncated JPEG")
    assert read_gray(paths["missing"]) == (None, "missing file")
    assert read_gray(paths["garbage"]) == (None, "not decodable")
    assert read_gray(paths["empty"]) == (None, "empty file")
    assert read_gray(None) == (None, "no image file")
    for key in ("truncated", "missing", "garbage", "empty"):
        assert decode_gray(paths[key]) is None
        assert preprocess(paths[key]) is None


@pytest.mark.parametrize("trailer", [b"\n", b"\xff", b"\r\n", b"\x00" * 3, b"\xff\xff\n"])
def test_a_complete_jpeg_with_trailing_bytes_is_decoded_like_opencv(files, tmp_path, trailer):
    """Completeness is judged by decoding: bytes after the EOI marker are harmless, a cut scan is not."""
    paths, *_ = files
    data = open(paths["jpeg"], "rb").read()
    padded = tmp_path / "padded.jpg"
    padded.write_bytes(data + trailer)
    gray, reason = read_gray(padded)
    assert reason is None and np.array_equal(gray, cv2.imread(paths["jpeg"], cv2.IMREAD_UNCHANGED))
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2] + trailer)  # a cut scan: truncated, whatever follows
    assert read_gray(cut) == (None, "truncated JPEG")


def test_16bit_png_is_min_max_scaled(files):
    paths, _img, deep, _ = files
    assert cv2.imread(paths["png16"], cv2.IMREAD_UNCHANGED).dtype == np.uint16
    gray = decode_gray(paths["png16"])
    assert gray.dtype == np.uint8 and gray.shape == deep.shape
    assert gray.min() == 0 and gray.max() == 255
    lo, hi = float(deep.min()), float(deep.max())
    expected = np.round((deep.astype(np.float64) - lo) * 255.0 / (hi - lo))
    assert np.abs(gray.astype(np.float64) - expected).max() <= 1
    assert preprocess(paths["png16"]).shape == (CROP, CROP)


def test_constant_16bit_image_is_zero(tmp_path):
    path = tmp_path / "flat.png"
    cv2.imwrite(str(path), np.full((300, 300), 1234, np.uint16))
    assert np.array_equal(decode_gray(str(path)), np.zeros((300, 300), np.uint8))


def test_rgba_and_rgb_become_gray(files):
    paths, img, _, rgba = files
    gray = decode_gray(paths["rgba"])
    assert gray.ndim == 2 and np.array_equal(gray, cv2.cvtColor(rgba, cv2.COLOR_BGRA2GRAY))
    rgb = decode_gray(paths["rgb"])
    assert rgb.ndim == 2 and np.abs(rgb.astype(int) - img.astype(int)).max() <= 12  # JPEG loss only


# ---------------------------------------------------------------- many images


def _rows(paths: dict) -> list[tuple[str, str]]:
    keys = ["jpeg", "truncated", "png16", "missing", "rgba", "garbage", "rgb", "jpeg", "empty"]
    return [(f"d{i}-{k}", paths[k]) for i, k in enumerate(keys)]


def test_dataset_item(files):
    paths, *_ = files
    ds = CxrImageDataset(_rows(paths))
    item = ds[0]
    assert item["reason"] is None and item["clahe"].dtype == torch.uint8 and item["plain"].shape == (CROP, CROP)
    assert np.array_equal(item["clahe"].numpy(), preprocess(paths["jpeg"]))
    assert np.array_equal(item["plain"].numpy(), preprocess(paths["jpeg"], clahe=False))
    bad = ds[1]
    assert bad["clahe"] is None and bad["plain"] is None and bad["reason"] == "truncated JPEG"


def test_two_workers_give_the_same_bytes_as_one_process(files):
    paths, *_ = files
    ds = CxrImageDataset(_rows(paths))
    single = decode_all(ds, num_workers=0, batch_size=2)
    multi = decode_all(ds, num_workers=2, batch_size=2)
    assert np.array_equal(single[0], multi[0]) and single[0].tolist() == [0, 2, 4, 6, 7]
    assert np.array_equal(single[1], multi[1]) and np.array_equal(single[2], multi[2])
    assert single[3] == multi[3] == [(1, "truncated JPEG"), (3, "missing file"), (5, "not decodable"),
                                     (8, "empty file")]


def test_workers_after_the_parent_used_opencv_threads(files):
    """Regression: forked workers must not deadlock on OpenCV's thread pool inherited from the parent."""
    paths, *_ = files
    ds = CxrImageDataset(_rows(paths))
    threads = cv2.getNumThreads()
    big = _radiograph(1500, 1800)
    expected = decode_all(ds, num_workers=0)
    for _ in range(5):
        resize_short_side(clahe(big))  # keeps the parent's OpenCV pool busy
        got = decode_all(ds, num_workers=2, batch_size=1)
        assert np.array_equal(got[1], expected[1]) and got[3] == expected[3]
    assert cv2.getNumThreads() == threads  # restored after forking


def test_spawned_workers_give_the_same_bytes(files):
    paths, *_ = files
    ds = CxrImageDataset(_rows(paths)[:4])
    single = decode_all(ds, num_workers=0)
    spawned = decode_all(ds, num_workers=1, start_method="spawn")
    assert np.array_equal(single[1], spawned[1]) and np.array_equal(single[2], spawned[2])
    assert single[3] == spawned[3]


def test_tensor_frame_round_trip(files):
    paths, *_ = files
    rows = _rows(paths)
    images = pl.DataFrame({"dicom_id": [r[0] for r in rows], "subject_id": list(range(len(rows))),
                           "study_id": [7] * len(rows), "study_datetime": [None] * len(rows),
                           "view_position": ["AP"] * len(rows), "path": [r[1] for r in rows]})
    index, clahe_imgs, plain, _ = decode_all(CxrImageDataset(images), num_workers=0)
    frame = tensor_frame(images, index, clahe_imgs, plain)
    assert frame.schema == pl.Schema(TENSOR_SCHEMA)
    assert frame["dicom_id"].to_list() == ["d0-jpeg", "d2-png16", "d4-rgba", "d6-rgb", "d7-jpeg"]
    assert frame["clahe"].bin.size().to_list() == [TENSOR_BYTES] * 5
    first = frame.row(0, named=True)
    assert np.array_equal(tensor_from_row(first), preprocess(paths["jpeg"]))
    assert np.array_equal(tensor_from_row(first, "plain"), preprocess(paths["jpeg"], clahe=False))
    assert np.array_equal(tensor_from_row(first["plain"]), plain[0])
    assert np.array_equal(tensors_to_array(frame, "clahe"), clahe_imgs)
