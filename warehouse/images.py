"""Is an image file complete? Judged by decoding, not by its last bytes.

A JPEG's data ends with the EOI marker FF D9, but real files may carry bytes after it (a newline, 0xFF or 0x00
padding) that every decoder ignores, while a truncated JPEG still "decodes" in OpenCV (a grey lower half and a
warning on stderr). So: a JPEG whose bytes end with EOI (trailing zero padding allowed) is complete — the cheap
case of nearly every file; any other file is decoded in full, a JPEG by Pillow's strict decoder (which raises on
a truncated scan), anything else (a PNG under a .jpg name, ...) by OpenCV."""

from __future__ import annotations

import io

import numpy as np

JPEG_SOI, JPEG_EOI = b"\xff\xd8", b"\xff\xd9"


def is_jpeg(data: bytes) -> bool:
    return data[:2] == JPEG_SOI


def ends_with_eoi(data: bytes) -> bool:
    """The cheap test: the bytes end with the JPEG end marker, zero padding allowed."""
    return data.rstrip(b"\x00").endswith(JPEG_EOI)


def decodes_completely(data: bytes) -> bool:
    """True when `data` is a whole image (see the module docstring); never raises for bad bytes."""
    import cv2  # decoders here, not at the top: ingest without images (and graph loading) never needs them
    from PIL import Image, ImageFile

    if not data:
        return False
    if is_jpeg(data):
        if ends_with_eoi(data):
            return True
        if ImageFile.LOAD_TRUNCATED_IMAGES:  # a process-wide Pillow switch that would accept truncation
            return False
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
            return True
        except Exception:  # Pillow raises OSError, SyntaxError, ValueError... for a broken file
            return False
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return decoded is not None and decoded.size > 0


def file_is_complete_image(path: str, size: int) -> bool:
    """decodes_completely for a file, reading only its first and last two bytes when it is a plain JPEG."""
    with open(path, "rb") as f:
        head = f.read(2)
        f.seek(max(size - 2, 0))
        tail = f.read(2)
        if head == JPEG_SOI and tail == JPEG_EOI:
            return True
        f.seek(0)
        return decodes_completely(f.read())
