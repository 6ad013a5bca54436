"""Chest X-ray image tensors (SPEC §4 item 4): decode, grayscale, CLAHE, resize, centre-crop, uint8.

Per image (OpenCV throughout):
  1. `decode_gray`: the file's bytes -> `cv2.imdecode(..., IMREAD_UNCHANGED)` (what `cv2.imread(path,
     IMREAD_UNCHANGED)` does, but the bytes are read once and checked first: OpenCV decodes a truncated
     JPEG into a half-grey image with only a warning, so a JPEG that does not decode completely
     (`warehouse.images.decodes_completely`: bytes after the EOI marker are fine) is rejected as
     'truncated JPEG'). Colour is converted to gray (BGR -> gray with OpenCV's
     weights; BGRA -> gray drops the alpha channel; gray+alpha keeps the gray channel). Images that are not
     8-bit (16-bit PNG/TIFF, float) are min-max stretched per image to 0..255 (`cv2.normalize` NORM_MINMAX,
     rounded): radiographs rarely use the full 16-bit range (12 bits is common), so a fixed `>> 8` shift
     would give a dark, low-contrast image; a constant image becomes all zeros.
  2. `clahe`: `cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply` on the full-resolution image
     (before resizing, the order of SPEC §4 item 4).
  3. `resize_short_side(img, 256)`: the short side becomes 256 and the long side `int(256 * long / short)`
     (torchvision's `Resize(256)` arithmetic, which MedFuse used); INTER_AREA when shrinking (no aliasing),
     INTER_LINEAR when enlarging (INTER_AREA degenerates to nearest-neighbour-like blocks when upscaling).
  4. `center_crop(img, 224)`: offsets `int(round((size_in - 224) / 2))`, as torchvision's CenterCrop.

Storage (`features.cxr_tensors`): both the CLAHE'd and the plain (no CLAHE) 224 x 224 image, each as an
Arrow/Parquet **binary** value of 224 * 224 = 50,176 bytes, row-major uint8 (`img.tobytes()`), with the
shape in `height` and `width` columns. Binary rather than list<uint8>: one contiguous value per image,
no per-element offsets or validity bits, and any Parquet reader sees plain BYTE_ARRAY/BLOB.
`tensor_from_row` / `tensors_to_array` turn rows back into numpy arrays.

Incremental runs (`tensor_cache`, a features.embed_cache store): an image's two tensors are kept under its
dicom_id, path, file size and modification time (ns), for this module's TENSORS_CODE_VERSION, OpenCV's version
and the sizes above; a rebuild decodes only the files whose fingerprint it has not seen. Failures are not
kept: a bad file is tried again at the next build.

Unreadable images are recorded in a failures frame (dicom_id, subject_id, path, reason) and skipped:
'missing file', 'empty file', 'unreadable file', 'truncated JPEG', 'not decodable',
'unsupported image shape', 'no image file' (a metadata row with no file in raw.cxr_images).
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Iterator, Sequence

import cv2
import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import torch
from torch.utils.data import DataLoader, Dataset

from features.embed_cache import EmbeddingCache
from warehouse.images import decodes_completely, is_jpeg
from warehouse.lake import DEFAULT_SHARDS, Home

RESIZE = 256
CROP = 224
CLAHE_CLIP_LIMIT = 2.0
CLAHE_TILE_GRID = (8, 8)
TENSOR_BYTES = CROP * CROP
MIN_IMAGES_PER_WORKER = 64  # below two batches per worker, decoding in-process is as fast
TENSORS_CODE_VERSION = "1"  # bump when preprocess changes what an image's tensors are
CACHE_KEY = ("dicom_id", "path", "size_bytes", "mtime_ns")

TENSOR_SCHEMA: dict[str, pl.DataType] = {
    "dicom_id": pl.String, "subject_id": pl.Int64, "study_id": pl.Int64, "study_datetime": pl.Datetime("us"),
    "view_position": pl.String, "height": pl.Int32, "width": pl.Int32, "clahe": pl.Binary, "plain": pl.Binary,
}
FAILURE_SCHEMA: dict[str, pl.DataType] = {
    "dicom_id": pl.String, "subject_id": pl.Int64, "path": pl.String, "reason": pl.String,
}



# ---------------------------------------------------------------- one image


def read_gray(path: str | os.PathLike | None) -> tuple[np.ndarray | None, str | None]:
    """(8-bit 2-D image, None) or (None, reason). Never raises for a bad file."""
    if path is None:
        return None, "no image file"
    try:
        buf = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        return None, "missing file"
    except OSError as exc:
        return None, "missing file" if not os.path.exists(path) else f"unreadable file ({exc.strerror or exc})"
    if buf.size == 0:
        return None, "empty file"
    data = buf.tobytes()
    if is_jpeg(data) and not decodes_completely(data):  # OpenCV would fill a truncated scan with grey
        return None, "truncated JPEG"
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        return None, "not decodable"
    gray = to_gray_uint8(img)
    if gray is None:
        return None, "unsupported image shape"
    return gray, None


def decode_gray(path: str | os.PathLike) -> np.ndarray | None:
    """The image at `path` as a 2-D uint8 gray array, or None when it is missing or cannot be decoded."""
    return read_gray(path)[0]


def to_gray_uint8(img: np.ndarray) -> np.ndarray | None:
    """Any OpenCV-decoded array -> 2-D uint8 gray (see the module docstring); None for an unknown layout."""
    if img.ndim == 3:
        channels = img.shape[2]
        if img.dtype not in (np.uint8, np.uint16, np.float32):
            img = img.astype(np.float32)
        if channels == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        elif channels == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY)  # alpha dropped
        elif channels in (1, 2):
            img = img[:, :, 0]  # gray (+ alpha)
        else:
            return None
    if img.ndim != 2:
        return None
    if img.dtype == np.uint8:
        return img
    lo, hi = float(np.min(img)), float(np.max(img))
    if not hi > lo:  # constant (or all-NaN) image
        return np.zeros(img.shape, np.uint8)
    return cv2.normalize(img.astype(np.float32, copy=False), None, 0, 255, cv2.NORM_MINMAX, dtype=cv2.CV_8U)


_local = threading.local()


def clahe(img: np.ndarray) -> np.ndarray:
    """`cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(img)` (one CLAHE object per thread:
    `apply` keeps internal buffers and is not thread-safe)."""
    op = getattr(_local, "clahe", None)
    if op is None:
        op = _local.clahe = cv2.createCLAHE(clipLimit=CLAHE_CLIP_LIMIT, tileGridSize=CLAHE_TILE_GRID)
    return op.apply(img)


_apply_clahe = clahe  # `preprocess(clahe=...)` shadows the name


def resize_short_side(img: np.ndarray, size: int = RESIZE) -> np.ndarray:
    """Scale so that the short side is `size` (long side `int(size * long / short)`, as torchvision)."""
    h, w = img.shape[:2]
    if min(h, w) == size:
        return img
    if w < h:
        new_w, new_h = size, int(size * h / w)
    else:
        new_w, new_h = int(size * w / h), size
    interpolation = cv2.INTER_AREA if min(h, w) > size else cv2.INTER_LINEAR
    return cv2.resize(img, (new_w, new_h), interpolation=interpolation)


def center_crop(img: np.ndarray, size: int = CROP) -> np.ndarray:
    """The central `size` x `size` window (offsets rounded as torchvision's CenterCrop), contiguous."""
    h, w = img.shape[:2]
    if h < size or w < size:
        raise ValueError(f"cannot centre-crop {size}x{size} from a {h}x{w} image")
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return np.ascontiguousarray(img[top:top + size, left:left + size])


def to_tensor_224(gray: np.ndarray) -> np.ndarray:
    """resize_short_side(256) then center_crop(224)."""
    return center_crop(resize_short_side(gray, RESIZE), CROP)


def preprocess(path: str | os.PathLike, clahe: bool = True) -> np.ndarray | None:
    """decode_gray -> [CLAHE] -> resize short side 256 -> centre-crop 224: uint8[224, 224], or None."""
    gray = decode_gray(path)
    if gray is None:
        return None
    return to_tensor_224(_apply_clahe(gray) if clahe else gray)


# ---------------------------------------------------------------- many images


class CxrImageDataset(Dataset):
    """(dicom_id, path) rows -> {"index", "dicom_id", "clahe", "plain", "reason"} per image.

    `clahe` and `plain` are uint8 tensors [224, 224] (CLAHE'd and not), both None with a `reason` when the
    file is missing or cannot be decoded. Plain lists inside, so it pickles cheaply to DataLoader workers."""

    def __init__(self, rows: Sequence[tuple[str, str | None]] | pl.DataFrame):
        if isinstance(rows, pl.DataFrame):
            self.dicom_ids, self.paths = rows["dicom_id"].to_list(), rows["path"].to_list()
        else:
            self.dicom_ids = [r[0] for r in rows]
            self.paths = [r[1] for r in rows]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict:
        gray, reason = read_gray(self.paths[index])
        item = {"index": index, "dicom_id": self.dicom_ids[index], "clahe": None, "plain": None, "reason": reason}
        if gray is not None:
            item["clahe"] = torch.from_numpy(to_tensor_224(_apply_clahe(gray)))
            item["plain"] = torch.from_numpy(to_tensor_224(gray))
        return item


def collate_images(items: list[dict]) -> dict:
    """A batch: decoded images stacked ([k, 224, 224] uint8 each), failures as (index, reason) pairs."""
    ok = [it for it in items if it["reason"] is None]
    empty = torch.empty((0, CROP, CROP), dtype=torch.uint8)
    return {
        "index": torch.tensor([it["index"] for it in ok], dtype=torch.int64),
        "clahe": torch.stack([it["clahe"] for it in ok]) if ok else empty,
        "plain": torch.stack([it["plain"] for it in ok]) if ok else empty,
        "failures": [(it["index"], it["reason"]) for it in items if it["reason"] is not None],
    }


def _worker_init(fresh_process: bool, _worker_id: int) -> None:
    if fresh_process:  # spawn/forkserver: a new interpreter, safe to configure
        cv2.setNumThreads(1)  # one core per worker: parallelism comes from the workers


def worker_context(start_method: str | None = None) -> mp.context.BaseContext:
    """How decoding workers start: 'fork' where available (PyTorch's default on Linux; no re-import of the
    main module, so a worker is ready in milliseconds), else 'spawn'.

    OpenCV and fork: calling `cv2.setNumThreads` in a forked child whose parent had used OpenCV's pthread
    pool deadlocks (opencv 5.0: `pthread_cond_destroy` waits forever on the parent's condition variable;
    28 of 30 forks hung in a test), while plain OpenCV calls in the child are fine. So the parent drops
    OpenCV to one thread just while the workers are forked (`_single_threaded_opencv`): the children
    inherit a single-threaded OpenCV (one core per worker) and never touch the pool settings. 'spawn' and
    'forkserver' start clean interpreters (each re-imports the main module: ~1-3 s per worker)."""
    method = start_method or ("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    return mp.get_context(method)


@contextlib.contextmanager
def _single_threaded_opencv() -> Iterator[None]:
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def iter_image_batches(dataset: CxrImageDataset, num_workers: int = 2, batch_size: int = 32,
                       start_method: str | None = None) -> Iterator[dict]:
    """Decode the dataset in order with a DataLoader (`num_workers` processes; 0 = this process)."""
    if not num_workers:
        yield from DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0, collate_fn=collate_images)
        return
    ctx = worker_context(start_method)
    forked = ctx.get_start_method() == "fork"
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers, collate_fn=collate_images,
        worker_init_fn=functools.partial(_worker_init, not forked), prefetch_factor=4, multiprocessing_context=ctx,
    )
    with _single_threaded_opencv() if forked else contextlib.nullcontext():
        batches = iter(loader)  # the workers start here
    yield from batches


def decode_all(dataset: CxrImageDataset, num_workers: int = 2, batch_size: int = 32,
               start_method: str | None = None,
               progress=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """(indices of decoded images, clahe uint8[k,224,224], plain uint8[k,224,224], failures) in dataset order."""
    n = len(dataset)
    clahe_all = np.empty((n, CROP, CROP), np.uint8)
    plain_all = np.empty((n, CROP, CROP), np.uint8)
    done, failures = [], []
    k = 0
    for batch in iter_image_batches(dataset, num_workers, batch_size, start_method):
        m = len(batch["index"])
        clahe_all[k:k + m] = batch["clahe"].numpy()
        plain_all[k:k + m] = batch["plain"].numpy()
        done.append(batch["index"].numpy())
        failures += batch["failures"]
        k += m
        if progress is not None:  # features.progress.Progress: files decoded or rejected
            progress.update(m + len(batch["failures"]))
    index = np.concatenate(done) if done else np.empty(0, np.int64)
    return index, clahe_all[:k], plain_all[:k], failures


def _binary(images: np.ndarray) -> pa.Array:
    """uint8[k, h, w] -> Arrow large_binary with one h*w-byte value per image (no Python loop)."""
    k = images.shape[0]
    width = int(np.prod(images.shape[1:])) if k else TENSOR_BYTES
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), k,
                                                 [None, pa.py_buffer(np.ascontiguousarray(images))])
    return fixed.cast(pa.large_binary())


def tensor_frame(images: pl.DataFrame, index: np.ndarray, clahe_imgs: np.ndarray, plain: np.ndarray) -> pl.DataFrame:
    """The tensor table rows for the decoded `images` rows (`index` into `images`), TENSOR_SCHEMA columns."""
    arrays = pl.from_arrow(pa.table({"clahe": _binary(clahe_imgs), "plain": _binary(plain)}))
    return _tensor_rows(images[index.tolist()], arrays)


def _tensor_rows(images: pl.DataFrame, tensors: pl.DataFrame) -> pl.DataFrame:
    """`images`' key columns beside the `clahe` and `plain` 224 x 224 byte columns of `tensors` (same rows)."""
    keys = images.select("dicom_id", "subject_id", "study_id", "study_datetime", "view_position")
    return pl.concat([
        keys.with_columns(pl.lit(CROP, pl.Int32).alias("height"), pl.lit(CROP, pl.Int32).alias("width")),
        tensors.select("clahe", "plain"),
    ], how="horizontal").select(list(TENSOR_SCHEMA)).cast(TENSOR_SCHEMA)


def tensor_from_row(row: dict | bytes, column: str = "clahe") -> np.ndarray:
    """One stored tensor (a row dict of the tensor table, or the raw bytes) -> uint8[height, width]."""
    if isinstance(row, bytes | bytearray | memoryview):
        return np.frombuffer(row, np.uint8).reshape(CROP, CROP)
    return np.frombuffer(row[column], np.uint8).reshape(int(row.get("height") or CROP), int(row.get("width") or CROP))


def tensors_to_array(frame: pl.DataFrame, column: str = "plain") -> np.ndarray:
    """A whole tensor column -> uint8[n, 224, 224] (every row must be 224 x 224)."""
    if frame.height and not ((frame["height"] == CROP).all() and (frame["width"] == CROP).all()):
        raise ValueError(f"tensor rows must all be {CROP}x{CROP}")
    data = b"".join(frame[column].to_list())
    return np.frombuffer(data, np.uint8).reshape(frame.height, CROP, CROP)


# ---------------------------------------------------------------- from the lake


def load_images(con: duckdb.DuckDBPyConnection, home: Home, shard: int | None = None,
                shards: int = DEFAULT_SHARDS) -> pl.DataFrame:
    """Every image of the shard to process: raw.cxr_images (readable or not) left-joined to raw.cxr_metadata,
    plus metadata rows with no file (path null). Columns: dicom_id, subject_id, study_id, path,
    study_datetime, view_position; sorted by subject_id, dicom_id."""
    from warehouse.lake import shard_filter

    has_images = home.table_dir("raw", "cxr_images").is_dir()
    has_meta = home.table_dir("raw", "cxr_metadata").is_dir()
    parts = []
    if has_images:
        meta = ("LEFT JOIN raw.cxr_metadata m ON m.dicom_id = i.dicom_id" if has_meta else
                "LEFT JOIN (SELECT NULL::VARCHAR dicom_id, NULL::BIGINT subject_id, NULL::BIGINT study_id, "
                "NULL::INTEGER StudyDate, NULL::DOUBLE StudyTime, NULL::VARCHAR ViewPosition) m "
                "ON m.dicom_id = i.dicom_id")
        parts.append(
            "SELECT i.dicom_id, coalesce(m.subject_id, i.subject_id) AS subject_id, "
            "coalesce(m.study_id, i.study_id) AS study_id, i.path, m.StudyDate, m.StudyTime, m.ViewPosition "
            f"FROM raw.cxr_images i {meta} WHERE {shard_filter(shard, shards, 'i.subject_id')}")
    if has_meta:
        anti = "WHERE m.dicom_id NOT IN (SELECT dicom_id FROM raw.cxr_images)" if has_images else "WHERE TRUE"
        parts.append(
            "SELECT m.dicom_id, m.subject_id, m.study_id, NULL::VARCHAR AS path, m.StudyDate, m.StudyTime, "
            f"m.ViewPosition FROM raw.cxr_metadata m {anti} AND {shard_filter(shard, shards, 'm.subject_id')}")
    if not parts:
        return pl.DataFrame(schema={"dicom_id": pl.String, "subject_id": pl.Int64, "study_id": pl.Int64,
                                    "path": pl.String, "study_datetime": pl.Datetime("us"),
                                    "view_position": pl.String})
    frame = con.sql("SELECT dicom_id, subject_id, study_id, path, study_datetime(StudyDate, StudyTime) AS "
                    f"study_datetime, ViewPosition AS view_position FROM ({' UNION ALL '.join(parts)}) "
                    "ORDER BY subject_id, dicom_id").pl()
    return frame.with_columns(pl.col("study_datetime").cast(pl.Datetime("us")))


def tensor_cache(home: Home) -> EmbeddingCache:
    """The home's store of decoded tensors (see the module docstring), one folder per preprocessing identity."""
    identity = {"code": TENSORS_CODE_VERSION, "opencv": cv2.__version__, "resize": RESIZE, "crop": CROP,
                "clahe": [CLAHE_CLIP_LIMIT, list(CLAHE_TILE_GRID)]}
    return EmbeddingCache(home, "cxr_tensors", identity, key=list(CACHE_KEY), vectors=["clahe", "plain"])


def file_fingerprints(paths: pl.Series) -> pl.DataFrame:
    """size_bytes and mtime_ns of every path (null where it cannot be stat'ed): one stat call per file, which no
    query engine can do for us."""
    sizes, mtimes = [], []
    for path in paths.to_list():
        try:
            info = os.stat(path)
        except OSError:
            sizes.append(None)
            mtimes.append(None)
            continue
        sizes.append(info.st_size)
        mtimes.append(info.st_mtime_ns)
    return pl.DataFrame({"size_bytes": pl.Series(sizes, dtype=pl.Int64), "mtime_ns": pl.Series(mtimes, dtype=pl.Int64)})


def build_tensors(
    home: Home,
    shard: int | None = None,
    shards: int = DEFAULT_SHARDS,
    num_workers: int = 2,
    *,
    batch_size: int = 32,
    con: duckdb.DuckDBPyConnection | None = None,
    progress=None,
    cache: EmbeddingCache | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """Decode + CLAHE + resize + crop every image of the shard (`shard=None`: all); with a `cache`
    (`tensor_cache`), only the images whose file fingerprint it does not hold, and the new tensors are added.

    Returns (tensors with TENSOR_SCHEMA, failures with FAILURE_SCHEMA, stats). A bad image is a failure row,
    never an exception. stats: shard, images (rows considered), tensors, failures, failures_by_reason,
    num_workers, seconds, images_per_second (files decoded or rejected per second of the decode loop),
    cache_hits, cache_misses (images taken from the cache, images decoded).

    A shard with fewer than MIN_IMAGES_PER_WORKER images per requested worker is decoded in this process
    (same bytes; `num_workers` in the stats says what was used)."""
    from warehouse.lake import open_lake

    own = con is None
    con = con or open_lake(home)
    try:
        images = load_images(con, home, shard, shards)
    finally:
        if own:
            con.close()
    with_file = images.filter(pl.col("path").is_not_null()).with_row_index("_row")
    keys = pl.concat([with_file.select("dicom_id", "path"), file_fingerprints(with_file["path"])], how="horizontal")
    found = cache.lookup(shard or 0, keys) if cache is not None else None
    miss = pl.repeat(True, with_file.height, eager=True) if found is None else found["clahe"].is_null()
    todo = with_file.filter(miss)
    workers = num_workers if todo.height >= MIN_IMAGES_PER_WORKER * max(num_workers, 1) else 0
    start = time.perf_counter()
    index, clahe_imgs, plain, failed = decode_all(CxrImageDataset(todo), workers, batch_size, progress=progress)
    seconds = time.perf_counter() - start
    parts = [tensor_frame(todo, index, clahe_imgs, plain).with_columns(_row=todo["_row"][index.tolist()])]
    if cache is not None:  # a file that could not be stat'ed has no fingerprint to be found by: not kept
        entries = pl.concat([keys.filter(miss)[index.tolist()], parts[0].select("clahe", "plain")], how="horizontal")
        cache.append(shard or 0, entries.drop_nulls(["size_bytes", "mtime_ns"]))
    if found is not None and todo.height < with_file.height:
        hits = with_file.filter(~miss)
        parts.append(_tensor_rows(hits, found.filter(~miss).select("clahe", "plain")).with_columns(_row=hits["_row"]))
        if progress is not None:
            progress.update(hits.height)
    tensors = pl.concat(parts).sort("_row").drop("_row")  # the shard's order: subject_id, dicom_id
    fail_idx = [i for i, _ in failed]
    failures = pl.concat([
        todo[fail_idx].select("dicom_id", "subject_id", "path")
        .with_columns(pl.Series("reason", [r for _, r in failed], pl.String)),
        images.filter(pl.col("path").is_null()).select("dicom_id", "subject_id", "path")
        .with_columns(pl.lit("no image file").alias("reason")),
    ]).cast(FAILURE_SCHEMA).sort("subject_id", "dicom_id")
    by_reason = dict(failures.group_by("reason").len().sort("reason").iter_rows()) if failures.height else {}
    stats = {
        "shard": shard, "images": with_file.height, "tensors": tensors.height, "failures": failures.height,
        "failures_by_reason": by_reason, "num_workers": workers, "seconds": round(seconds, 3),
        "images_per_second": round(todo.height / seconds, 1) if seconds > 0 and todo.height else 0.0,
        "cache_hits": with_file.height - todo.height, "cache_misses": todo.height,
    }
    return tensors, failures, stats
