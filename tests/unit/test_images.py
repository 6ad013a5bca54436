"""raw.cxr_images.readable and the tensors' truncation check share one rule: an image is complete when it decodes
completely (warehouse.images), not when its last two bytes are FF D9."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from warehouse.images import decodes_completely, file_is_complete_image

IMG = (np.add.outer(np.arange(120), np.arange(90)) % 251).astype(np.uint8)
JPEG = cv2.imencode(".jpg", IMG)[1].tobytes()
PNG = cv2.imencode(".png", IMG)[1].tobytes()


@pytest.mark.parametrize(("name", "data", "complete"), [
    ("jpeg", JPEG, True),
    ("jpeg + newline", JPEG + b"\n", True),
    ("jpeg + 0xFF", JPEG + b"\xff", True),
    ("jpeg + zero padding", JPEG + b"\x00" * 8, True),
    ("jpeg cut in half", JPEG[: len(JPEG) // 2], False),
    ("jpeg without its EOI", JPEG[:-2], False),
    ("jpeg cut + newline", JPEG[: len(JPEG) // 2] + b"\n", False),
    ("png under a .jpg name", PNG, True),
    ("png cut", PNG[: len(PNG) // 2], False),
    ("garbage", b"not an image", False),
    ("empty", b"", False),
])
def test_decodes_completely(name, data, complete, tmp_path):
    assert decodes_completely(data) is complete, name
    path = tmp_path / "x.jpg"
    path.write_bytes(data)
    assert file_is_complete_image(str(path), len(data)) is complete, name


def test_raw_cxr_images_readable_is_judged_by_decoding(home, synth_copy):
    """A PNG stored as .jpg and a JPEG followed by a newline are readable; a cut JPEG is not."""
    from warehouse.ingest import ingest_cxr_images
    from warehouse.lake import catalog, publish
    from warehouse.sources import detect_all, synthetic_sources

    files = sorted((synth_copy / "mimic-cxr-jpg").rglob("*.jpg"))
    png, newline, cut = files[:3]
    png.write_bytes(cv2.imencode(".png", cv2.imread(str(png), cv2.IMREAD_UNCHANGED))[1].tobytes())
    newline.write_bytes(newline.read_bytes() + b"\n")
    cut.write_bytes(cut.read_bytes()[:-100])
    ingest_cxr_images(home, detect_all(synthetic_sources(synth_copy))["mimic_cxr"], shards=2)
    publish(home, "raw", "cxr_images")
    with catalog(home, write=False) as con:
        readable = dict(con.execute("SELECT dicom_id, readable FROM raw.cxr_images").fetchall())
    assert readable[png.stem] and readable[newline.stem] and not readable[cut.stem]
    assert sum(readable.values()) == len(files) - 1
