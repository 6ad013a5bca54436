"""Training frames as numpy, chest X-ray tensors in memory, and the Dataset that builds the contract's Batch.

A frame (one row per ICU stay, or per image for `uni_cxr`; columns in models/CONTRACT.md) is converted once
into flat numpy arrays (`FrameArrays`): every time-series step of every stay in one float32 [steps, 76] array
plus offsets, so building a batch is a handful of vectorised gathers, never a Python loop over rows or a
per-row object. The images a frame refers to are read once from `features.cxr_tensors` into one uint8
[n, 224, 224] array (`ImageStore`).

`FusionDataset.__getitems__` builds a whole batch at once (the DataLoader calls it with the batch's
indices); `collate` passes such a batch through unchanged and merges single items from `__getitem__`, so
the pair works with any sampler and with worker processes.

Images are stored as the 224 centre crop of the 256-resized image (features.cxr.tensors), so train-time
augmentation works on that crop: the reference transforms (Resize 256 -> flip -> affine -> crop 224) cannot
be replayed from 256 pixels, and the pixels outside the stored crop are gone. Randomness comes from torch's
global RNG only, so the trainer's per-epoch seeding (and DataLoader worker seeding) makes it reproducible.

Test-time noise (`NoiseSpec`, the clean protocol of models-reference B6 #9): zero-mean Gaussian noise on a
fraction of each stay's time steps (N(0, 1) on every continuous column, in normalised units, i.e. one
training standard deviation) and of each image's pixels (N(0, pixel_sigma) in [0, 1] units, clipped),
drawn from a generator seeded by (seed, frame row), so it does not depend on batch order or composition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch.utils.data import Dataset

from features.timeseries.layout import COLUMNS, CONTINUOUS_COLUMN_INDICES, CONTINUOUS_COLUMNS
from features.timeseries.normalizer import NormalizerState
from warehouse.lake import ClinfuseError, parquet_glob, sql_str

N_FEATURES = len(COLUMNS)  # 76
STORED_SIZE = 224  # features.cxr.tensors.CROP
IMAGE_COLUMNS = ("clahe", "plain")
AUGMENTS = ("medfuse", "paper")
ABLATIONS = ("cxr", "ehr")
SPLITS = ("train", "val", "test")

_FRAME_COLUMNS = ("split", "subject_id", "has_cxr", "dicom_id", "sex", "age", "race")


# ---------------------------------------------------------------- frame -> numpy


def _strings(arr: pa.ChunkedArray | pa.Array, n: int) -> np.ndarray:
    """A string column -> numpy unicode array, null -> ''."""
    if arr is None:
        return np.full(n, "", dtype="<U1")
    values = pc.fill_null(arr.cast(pa.string()), "").to_numpy(zero_copy_only=False)
    return values.astype(str) if len(values) else np.zeros(0, dtype="<U1")


def _numbers(arr, n: int, dtype, fill) -> np.ndarray:
    if arr is None:
        return np.full(n, fill, dtype=dtype)
    if pa.types.is_floating(arr.type):
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=dtype)  # null -> NaN
    return np.asarray(pc.fill_null(arr, fill).to_numpy(zero_copy_only=False), dtype=dtype)


class FrameArrays:
    """A training frame as flat numpy arrays (one row per stay; per image for uni_cxr).

    `FrameArrays(source, label_columns)`: from a pyarrow Table or a Parquet file / directory with the
    contract's columns (`ts_values` may be absent: uni_cxr rows have no steps).

    `ts_values` float32 [total_steps, 76] (raw, un-normalised; read-only, shared with Arrow where possible)
    and `ts_offsets` int64 [N + 1]: the steps of row i are ts_values[ts_offsets[i]:ts_offsets[i + 1]];
    `lengths` int64 [N] (0 allowed); `labels` float32 [N, C]; `split`, `dicom_id`, `sex`, `race` str arrays
    ('' for null); `subject_id` int64; `stay_id` int64 or None; `age` float64 (NaN for null).
    `has_cxr` is what the model may use: the frame's flag AND a tensor in the attached ImageStore
    (`frame_has_cxr` keeps the frame's own flag); `image_index` [N]: row -> ImageStore row, −1 = none."""

    def __init__(self, source: pa.Table | str | Path, label_columns: Sequence[str]):
        self._set(**_load_frame(source, tuple(label_columns)))

    @classmethod
    def from_numpy(cls, *, ts_values: np.ndarray, ts_offsets: np.ndarray, labels: np.ndarray,
                   label_columns: Sequence[str], split: np.ndarray, has_cxr: np.ndarray | None = None,
                   dicom_id: np.ndarray | None = None, subject_id: np.ndarray | None = None,
                   stay_id: np.ndarray | None = None, sex: np.ndarray | None = None, age: np.ndarray | None = None,
                   race: np.ndarray | None = None) -> FrameArrays:
        """From arrays already in this layout (synthetic frames, benchmarks)."""
        n = len(ts_offsets) - 1
        dicom = np.full(n, "") if dicom_id is None else np.asarray(dicom_id, dtype=str)
        has = (np.zeros(n, bool) if has_cxr is None else np.asarray(has_cxr, bool)) & (dicom != "")
        offsets = np.asarray(ts_offsets, np.int64)
        obj = cls.__new__(cls)
        obj._set(ts_values=np.asarray(ts_values, np.float32).reshape(-1, N_FEATURES), ts_offsets=offsets,
                 lengths=np.diff(offsets), labels=np.asarray(labels, np.float32).reshape(n, -1),
                 label_columns=tuple(label_columns), frame_has_cxr=has, dicom_id=dicom,
                 split=np.asarray(split, dtype=str),
                 subject_id=np.full(n, -1, np.int64) if subject_id is None else np.asarray(subject_id, np.int64),
                 stay_id=None if stay_id is None else np.asarray(stay_id, np.int64),
                 sex=np.full(n, "") if sex is None else np.asarray(sex, dtype=str),
                 age=np.full(n, np.nan) if age is None else np.asarray(age, np.float64),
                 race=np.full(n, "") if race is None else np.asarray(race, dtype=str))
        return obj

    def _set(self, *, ts_values, ts_offsets, lengths, labels, label_columns, frame_has_cxr, dicom_id, split,
             subject_id, stay_id, sex, age, race) -> None:
        self.ts_values, self.ts_offsets, self.lengths = ts_values, ts_offsets, lengths
        self.labels, self.label_columns = labels, label_columns
        self.frame_has_cxr, self.dicom_id = frame_has_cxr, dicom_id
        self.split, self.subject_id, self.stay_id = split, subject_id, stay_id
        self.sex, self.age, self.race = sex, age, race
        self.has_cxr = frame_has_cxr.copy()
        self.image_index = np.full(len(lengths), -1, dtype=np.int64)
        self.missing_tensors = 0
        self.images: ImageStore | None = None

    def __len__(self) -> int:
        return len(self.lengths)

    def __repr__(self) -> str:
        return (f"FrameArrays({len(self)} rows, {len(self.ts_values)} steps, {self.n_labels} labels, "
                f"{int(self.has_cxr.sum())} with image)")

    @property
    def n_labels(self) -> int:
        return self.labels.shape[1]

    def rows(self, split: str, paired_only: bool = False) -> np.ndarray:
        """Frame row indices of `split` (all rows: split='all'); paired_only keeps rows with a usable image."""
        if split != "all" and split not in SPLITS:
            raise ClinfuseError(f"split {split!r} is not one of {', '.join(SPLITS)} or 'all'")
        keep = np.ones(len(self), bool) if split == "all" else self.split == split
        if paired_only:
            keep &= self.has_cxr
        return np.flatnonzero(keep)

    def attach_images(self, store: ImageStore) -> int:
        """Point every row at its tensor in `store`; a row whose dicom_id has no tensor (the image failed to
        decode) becomes a row without image. Returns (and records in `missing_tensors`) how many rows that is."""
        index = store.index_of(np.where(self.frame_has_cxr, self.dicom_id, ""))
        self.image_index = index
        self.has_cxr = self.frame_has_cxr & (index >= 0)
        self.missing_tensors = int(np.count_nonzero(self.frame_has_cxr & (index < 0)))
        self.images = store
        store.frame_index = index
        return self.missing_tensors

    drop_missing_images = attach_images  # the name the runner uses

    def dicom_ids(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The distinct dicom_ids of `rows` (all rows by default) that claim an image."""
        sel = self.frame_has_cxr if rows is None else np.zeros(len(self), bool)
        if rows is not None:
            sel[rows] = self.frame_has_cxr[rows]
        return np.unique(self.dicom_id[sel])


def _load_frame(source: pa.Table | str | Path, label_columns: tuple[str, ...]) -> dict:
    if not label_columns:
        raise ClinfuseError("training frame: no label columns given")
    if isinstance(source, pa.Table):
        table = source
    else:
        import pyarrow.parquet as pq

        path = Path(source)
        if not path.exists():
            raise ClinfuseError(f"training frame {path} does not exist")
        names = pq.ParquetDataset(path).schema.names
        wanted = [c for c in ("stay_id", "ts_length", "ts_values", *_FRAME_COLUMNS, *label_columns) if c in names]
        table = pq.read_table(path, columns=wanted)
    missing = [c for c in ("split", "subject_id", *label_columns) if c not in table.column_names]
    if missing:
        raise ClinfuseError(f"training frame lacks column(s) {', '.join(missing)}")
    n = table.num_rows
    col = {name: (table[name].combine_chunks() if name in table.column_names else None)
           for name in ("stay_id", "ts_length", "ts_values", *_FRAME_COLUMNS)}
    values, offsets, lengths = _time_series(col["ts_values"], n)
    if col["ts_length"] is not None:
        stated = _numbers(col["ts_length"], n, np.int64, 0)
        bad = np.flatnonzero(stated != lengths)
        if bad.size:
            raise ClinfuseError(f"training frame row {int(bad[0])}: ts_length {int(stated[bad[0]])} but "
                                f"{int(lengths[bad[0]])} steps in ts_values ({bad.size} row(s) disagree)")
    labels = np.empty((n, len(label_columns)), dtype=np.float32)
    for j, name in enumerate(label_columns):
        arr = table[name].combine_chunks()
        if arr.null_count:
            raise ClinfuseError(f"training frame: label column {name} has {arr.null_count} null value(s)")
        labels[:, j] = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float32)
    has_cxr = _numbers(col["has_cxr"], n, bool, False) if col["has_cxr"] is not None else np.zeros(n, bool)
    dicom = _strings(col["dicom_id"], n)
    return dict(
        ts_values=values, ts_offsets=offsets, lengths=lengths, labels=labels, label_columns=label_columns,
        frame_has_cxr=has_cxr & (dicom != ""), dicom_id=dicom, split=_strings(col["split"], n),
        subject_id=_numbers(col["subject_id"], n, np.int64, -1),
        stay_id=_numbers(col["stay_id"], n, np.int64, -1) if col["stay_id"] is not None else None,
        sex=_strings(col["sex"], n), age=_numbers(col["age"], n, np.float64, np.nan), race=_strings(col["race"], n),
    )


def _time_series(arr: pa.Array | None, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """list<FLOAT[76]> (or list<list<float>> after a Parquet round trip) -> (values [steps, 76], offsets, lengths)."""
    if arr is None:
        return np.zeros((0, N_FEATURES), np.float32), np.zeros(n + 1, np.int64), np.zeros(n, np.int64)
    if not (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)):
        raise ClinfuseError(f"training frame: ts_values is {arr.type}, expected a list of FLOAT[76] steps")
    lengths = np.asarray(pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False), np.int64)
    steps = arr.flatten()  # honours slicing and null rows
    if pa.types.is_fixed_size_list(steps.type):
        if steps.type.list_size != N_FEATURES:
            raise ClinfuseError(f"training frame: ts_values steps have {steps.type.list_size} values, expected 76")
        if steps.null_count:
            raise ClinfuseError(f"training frame: ts_values has {steps.null_count} null step(s)")
        flat = steps.flatten()
    elif pa.types.is_list(steps.type) or pa.types.is_large_list(steps.type):
        widths = pc.list_value_length(steps)
        if len(steps) and (steps.null_count or pc.min(widths).as_py() != N_FEATURES
                           or pc.max(widths).as_py() != N_FEATURES):
            raise ClinfuseError("training frame: every ts_values step must hold 76 values")
        flat = steps.flatten()
    else:
        raise ClinfuseError(f"training frame: ts_values is {arr.type}, expected a list of FLOAT[76] steps")
    values = flat.cast(pa.float32()).to_numpy(zero_copy_only=False).reshape(-1, N_FEATURES)
    if len(values) != int(lengths.sum()):
        raise ClinfuseError("training frame: ts_values step count does not match the list lengths")
    if values.size and not np.isfinite(values).all():
        raise ClinfuseError("training frame: ts_values holds NaN or infinite values (the discretiser imputes "
                            "every step; rebuild the time series)")
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return values, offsets, lengths


# ---------------------------------------------------------------- images


class ImageStore:
    """uint8 [n, 224, 224] chest X-ray tensors and their dicom_ids, looked up vectorised."""

    def __init__(self, dicom_ids: Sequence[str] | np.ndarray, images: np.ndarray, column: str = "clahe",
                 missing_ids: Sequence[str] = ()):
        ids = np.asarray(dicom_ids, dtype=str) if len(dicom_ids) else np.zeros(0, "<U1")
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[0] != len(ids) \
                or images.shape[1:] != (STORED_SIZE, STORED_SIZE):
            raise ClinfuseError(f"image store: expected uint8 [{len(ids)}, 224, 224], got "
                                f"{images.dtype} {list(images.shape)}")
        self.dicom_ids = ids
        self.images = images
        self.column = column
        self.missing_ids = tuple(missing_ids)
        self._order = np.argsort(ids, kind="stable")
        self._sorted = ids[self._order]
        self.frame_index: np.ndarray | None = None  # frame row -> store row, set by FrameArrays.attach_images

    def __len__(self) -> int:
        return len(self.dicom_ids)

    @property
    def missing_tensors(self) -> int:
        """dicom_ids asked for in `from_lake` that have no tensor (their image failed to decode)."""
        return len(self.missing_ids)

    @classmethod
    def from_lake(cls, table_dir: str | Path, dicom_ids: Sequence[str] | np.ndarray, column: str = "clahe",
                  *, batch_rows: int = 2048) -> ImageStore:
        """The tensors of `dicom_ids` from the features.cxr_tensors Parquet (hive shards `shard=k/`), read
        once with DuckDB and streamed into one preallocated array (peak memory: the images + one batch)."""
        import duckdb

        if column not in IMAGE_COLUMNS:
            raise ClinfuseError(f"image column {column!r} is not one of {', '.join(IMAGE_COLUMNS)}")
        table_dir = Path(table_dir)
        if not table_dir.is_dir() or next(table_dir.rglob("*.parquet"), None) is None:
            raise ClinfuseError(f"{table_dir}: no chest X-ray tensors (materialise features/cxr_tensors first)")
        wanted = np.unique(np.asarray([d for d in dicom_ids if d], dtype=str)) if len(dicom_ids) else []
        con = duckdb.connect()
        try:
            con.register("wanted", pa.table({"dicom_id": pa.array(list(wanted), pa.string())}))
            source = (f"FROM read_parquet({sql_str(parquet_glob(table_dir))}, hive_partitioning = true) t "
                      f"WHERE t.dicom_id IN (SELECT dicom_id FROM wanted)")
            n = con.sql(f"SELECT count(*) {source}").fetchall()[0][0]
            images = np.empty((n, STORED_SIZE, STORED_SIZE), np.uint8)
            found: list[np.ndarray] = []
            relation = con.sql(f"SELECT t.dicom_id, t.{column} AS img {source}")
            # DuckDB 2 names it to_arrow_reader, 1.x fetch_arrow_reader
            reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
            reader = reader(batch_rows)
            at = 0
            for batch in reader:
                k = batch.num_rows
                if at + k > n:
                    raise ClinfuseError(f"{table_dir}: the tensor table changed while it was read")
                images[at:at + k] = _blobs(batch.column(1), k, table_dir)
                found.append(np.asarray(batch.column(0).to_numpy(zero_copy_only=False), dtype=str))
                at += k
        finally:
            con.close()
        ids = np.concatenate(found) if found else np.zeros(0, "<U1")
        return cls(ids, images[:at], column, missing_ids=np.setdiff1d(wanted, ids).tolist())

    def index_of(self, dicom_ids: Sequence[str] | np.ndarray) -> np.ndarray:
        """Store row of each dicom_id (int64), −1 where absent (or empty / None)."""
        ids = np.asarray(["" if d is None else d for d in dicom_ids] if not isinstance(dicom_ids, np.ndarray)
                         or dicom_ids.dtype == object else dicom_ids, dtype=str)
        if ids.size == 0 or len(self) == 0:
            return np.full(ids.shape, -1, np.int64)
        pos = np.searchsorted(self._sorted, ids)
        pos = np.minimum(pos, len(self) - 1)
        hit = (self._sorted[pos] == ids) & (ids != "")
        return np.where(hit, self._order[pos], -1).astype(np.int64)

    def pixel_std(self, rows: np.ndarray | None = None, *, store_rows: np.ndarray | None = None,
                  chunk: int = 1024) -> float:
        """Standard deviation in [0, 1] units of the pixels of the images of frame rows `rows` (of the frame
        this store was last attached to; rows without image are skipped), or of store rows `store_rows`, or
        of every image. Exact, from a 256-bin histogram (no float copy of the images). For the noise σ give
        it the training rows: `store.pixel_std(arrays.rows("train", paired_only=True))`."""
        if rows is not None:
            if self.frame_index is None:
                raise ClinfuseError("pixel_std(rows): attach the store to a frame first (FrameArrays.attach_images)")
            store_rows = self.frame_index[np.asarray(rows, np.int64)]
        rows = np.arange(len(self)) if store_rows is None else np.unique(np.asarray(store_rows, np.int64))
        rows = rows[rows >= 0]
        if rows.size == 0:
            raise ClinfuseError("pixel_std: no images to estimate the pixel statistics from")
        counts = np.zeros(256, np.int64)
        for lo in range(0, rows.size, chunk):
            counts += np.bincount(self.images[rows[lo:lo + chunk]].ravel(), minlength=256)
        levels = np.arange(256, dtype=np.float64) / 255.0
        total = counts.sum()
        mean = float(counts @ levels) / total
        return float(np.sqrt(max(float(counts @ (levels - mean) ** 2) / total, 0.0)))


def _blobs(arr: pa.Array | pa.ChunkedArray, n: int, where: Path) -> np.ndarray:
    """A binary column of n 224*224-byte tensors -> uint8 [n, 224, 224] (a view of Arrow's buffer)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.null_count:
        raise ClinfuseError(f"{where}: {arr.null_count} null image tensor(s)")
    if pa.types.is_large_binary(arr.type):
        offset_type = np.int64
    elif pa.types.is_binary(arr.type):
        offset_type = np.int32
    else:
        raise ClinfuseError(f"{where}: image tensors are {arr.type}, expected binary")
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, offset_type)[arr.offset:arr.offset + n + 1].astype(np.int64)
    size = STORED_SIZE * STORED_SIZE
    if n and not (np.diff(offsets) == size).all():
        raise ClinfuseError(f"{where}: an image tensor is not {STORED_SIZE} x {STORED_SIZE} bytes")
    data = np.frombuffer(data_buf, np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    return data[offsets[0]:offsets[0] + n * size].reshape(n, STORED_SIZE, STORED_SIZE)


# ---------------------------------------------------------------- noise and augmentation


@dataclass(frozen=True)
class NoiseSpec:
    """Test-time perturbation (clean protocol). ts_fraction p: per stay, floor(pL) or floor(pL)+1 of its L
    steps (randomised rounding, so the expected fraction is exactly p) get N(0, 1) added to every continuous
    column in normalised units. pixel_fraction q: every pixel of an image independently with probability q
    gets N(0, pixel_sigma) in [0, 1] units, then the image is clipped to [0, 1]. Padding, the zero step of a
    stay without steps, and missing images are never touched."""

    ts_fraction: float = 0.0
    pixel_fraction: float = 0.0
    seed: int = 0
    pixel_sigma: float | None = None

    def __post_init__(self) -> None:
        for name in ("ts_fraction", "pixel_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ClinfuseError(f"noise {name} must be within [0, 1], got {value}")
        if self.pixel_fraction > 0 and (self.pixel_sigma is None or self.pixel_sigma < 0):
            raise ClinfuseError("noise: pixel_fraction > 0 needs pixel_sigma >= 0 (ImageStore.pixel_std of the "
                                "training images)")


def _augmentation(kind: str, size: int):
    from torchvision.transforms import v2

    if kind == "medfuse":
        # The reference code's values (reference §2); torchvision's default nearest interpolation, fill 0.
        return v2.Compose([
            v2.RandomHorizontalFlip(),
            v2.RandomAffine(degrees=45, translate=(0.15, 0.15), scale=(0.85, 1.15), shear=0),
        ])
    # The paper's wording (models-reference B2, B6 #7): flip, affine with shear, random crop. The crop is a
    # random-resized crop of the stored 224 back to 224, covering between (224/256)^2 of the area (the size
    # of a 224 crop of the 256 image) and all of it: the pixels outside the stored crop no longer exist.
    return v2.Compose([
        v2.RandomHorizontalFlip(),
        v2.RandomAffine(degrees=45, translate=(0.15, 0.15), scale=(0.85, 1.15), shear=10),
        v2.RandomResizedCrop(size, scale=((224 / 256) ** 2, 1.0), ratio=(1.0, 1.0), antialias=True),
    ])


# ---------------------------------------------------------------- dataset


class FusionDataset(Dataset):
    """Map-style dataset over frame rows `rows`; item i is frame row rows[i].

    `dataset[i]` is a batch of one; `dataset.__getitems__(positions)` (what the DataLoader calls) builds a
    whole batch with numpy. Use `collate` as the DataLoader's collate_fn. Without `images` every row is a row
    without image. `augment` ('medfuse' | 'paper' | None) is train-time only; `noise` and `ablate`
    ('cxr': no row has an image; 'ehr': every time series is one all-zero step) are evaluation settings."""

    def __init__(self, arrays: FrameArrays, rows: np.ndarray | Sequence[int],
                 normalizer: NormalizerState | None = None, images: ImageStore | None = None,
                 image_size: int = STORED_SIZE, augment: str | None = None, noise: NoiseSpec | None = None,
                 ablate: str | None = None):
        augment = None if augment in (None, "none") else augment
        if augment is not None and augment not in AUGMENTS:
            raise ClinfuseError(f"augment {augment!r} is not one of {', '.join(AUGMENTS)} or none")
        if ablate is not None and ablate not in ABLATIONS:
            raise ClinfuseError(f"ablate {ablate!r} is not one of {', '.join(ABLATIONS)}")
        if not 8 <= int(image_size) <= STORED_SIZE:
            raise ClinfuseError(f"image_size {image_size} must be within 8..{STORED_SIZE} (the stored crop)")
        if noise is not None and noise.ts_fraction > 0 and normalizer is None:
            raise ClinfuseError("noise on the time series is in units of the training std: give the normalizer")
        self.arrays = arrays
        self.rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if self.rows.size and (self.rows.min() < 0 or self.rows.max() >= len(arrays)):
            raise ClinfuseError("FusionDataset: row index outside the frame")
        self.normalizer = normalizer
        self.image_size = int(image_size)
        self.augment = augment
        self.noise = noise
        self.ablate = ablate
        self.images = images
        if images is not None and arrays.images is not images:
            arrays.attach_images(images)
        self._mean, self._std = _normalizer_arrays(normalizer)
        self._cont = np.asarray(CONTINUOUS_COLUMN_INDICES, np.int64)
        if images is None or ablate == "cxr":
            self._image_rows = np.full(len(self.rows), -1, np.int64)
        else:
            self._image_rows = np.where(arrays.has_cxr[self.rows], arrays.image_index[self.rows], -1)
        self._transform = _augmentation(augment, STORED_SIZE) if augment else None

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def n_labels(self) -> int:
        return self.arrays.n_labels

    @property
    def labels(self) -> np.ndarray:
        """y of the dataset's rows, in dataset order (float32 [N, C])."""
        return self.arrays.labels[self.rows]

    def __getitem__(self, i: int) -> dict:
        return self.__getitems__([i])

    def __getitems__(self, positions: Sequence[int]) -> dict:
        pos = np.asarray(positions, dtype=np.int64).reshape(-1)
        rows = self.rows[pos]
        ts, lengths = self._time_series(rows)
        image, has_cxr = self._images(rows, self._image_rows[pos])
        return {
            "ts": torch.from_numpy(ts), "lengths": torch.from_numpy(lengths),
            "image": image, "has_cxr": torch.from_numpy(has_cxr),
            "y": torch.from_numpy(self.arrays.labels[rows]), "index": torch.from_numpy(rows),
        }

    def _time_series(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = self.arrays
        b = len(rows)
        steps = np.zeros(b, np.int64) if self.ablate == "ehr" else a.lengths[rows]
        lengths = np.maximum(steps, 1)
        out = np.zeros((b, int(lengths.max()) if b else 1, N_FEATURES), np.float32)
        total = int(steps.sum())
        if total:
            ends = np.cumsum(steps)
            within = np.arange(total, dtype=np.int64) - np.repeat(ends - steps, steps)
            src = np.repeat(a.ts_offsets[rows], steps) + within
            values = a.ts_values[src]  # a copy: the frame's arrays are never written
            if self._mean is not None:
                values[:, self._cont] -= self._mean
                values[:, self._cont] /= self._std
            out[np.repeat(np.arange(b), steps), within] = values
            if self.noise is not None and self.noise.ts_fraction > 0:
                self._ts_noise(out, rows, steps)
        return out, lengths

    def _ts_noise(self, out: np.ndarray, rows: np.ndarray, steps: np.ndarray) -> None:
        p = self.noise.ts_fraction
        for b in np.flatnonzero(steps):  # evaluation only; one generator per frame row
            rng = np.random.default_rng([self.noise.seed, int(rows[b]), 0])
            n = int(steps[b])
            k = int(np.floor(p * n)) + int(rng.random() < p * n - np.floor(p * n))
            if k:
                picked = rng.choice(n, size=k, replace=False)
                out[b, picked[:, None], self._cont[None, :]] += rng.standard_normal((k, self._cont.size),
                                                                                   dtype=np.float32)

    def _images(self, rows: np.ndarray, image_rows: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
        b, size = len(rows), self.image_size
        has = image_rows >= 0
        image = torch.zeros((b, 1, size, size), dtype=torch.float32)
        if not has.any():
            return image, has
        picked = torch.from_numpy(self.images.images[image_rows[has]])  # uint8 [k, 224, 224], a copy
        stack = picked.unsqueeze(1)
        if self._transform is not None:
            stack = torch.stack([self._transform(img) for img in stack])  # per image: own random parameters
        stack = stack.float().div_(255.0)
        if size != STORED_SIZE:
            from torchvision.transforms.v2 import functional as TF

            stack = TF.resize(stack, [size, size], antialias=True).clamp_(0.0, 1.0)
        if self.noise is not None and self.noise.pixel_fraction > 0:
            self._pixel_noise(stack, rows[has])
        image[torch.from_numpy(np.flatnonzero(has))] = stack
        return image, has

    def _pixel_noise(self, stack: torch.Tensor, rows: np.ndarray) -> None:
        q, sigma = self.noise.pixel_fraction, float(self.noise.pixel_sigma)
        shape = tuple(stack.shape[-2:])
        for k, row in enumerate(rows):
            rng = np.random.default_rng([self.noise.seed, int(row), 1])
            mask = rng.random(shape, dtype=np.float32) < q
            noise = rng.standard_normal(shape, dtype=np.float32) * np.float32(sigma)
            img = stack[k, 0].numpy()
            img += noise * mask
            np.clip(img, 0.0, 1.0, out=img)


def _normalizer_arrays(state: NormalizerState | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Means and stds in CONTINUOUS_COLUMN_INDICES order; only the 12 continuous columns are normalised."""
    if state is None:
        return None, None
    if sorted(state.columns) != sorted(CONTINUOUS_COLUMNS):
        raise ClinfuseError(f"normalizer columns {list(state.columns)} are not the 12 continuous columns")
    by_name = dict(zip(state.columns, zip(state.means, state.stds, strict=True), strict=True))
    mean = np.asarray([by_name[c][0] for c in CONTINUOUS_COLUMNS], np.float32)
    std = np.asarray([by_name[c][1] for c in CONTINUOUS_COLUMNS], np.float32)
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
        raise ClinfuseError("normalizer state has non-finite means or non-positive stds")
    return mean, std


def collate(items: dict | Sequence[dict]) -> dict:
    """The DataLoader's collate_fn: a batch from `__getitems__` passes through; a list of items (batches of
    one, or of any size) is merged, time series zero-padded to the longest."""
    if isinstance(items, dict):
        return items
    items = list(items)
    if not items:
        raise ValueError("collate: empty batch")
    if len(items) == 1:
        return items[0]
    steps = max(int(it["ts"].shape[1]) for it in items)
    ts = torch.zeros((sum(int(it["ts"].shape[0]) for it in items), steps, N_FEATURES), dtype=torch.float32)
    at = 0
    for it in items:
        n, t = it["ts"].shape[:2]
        ts[at:at + n, :t] = it["ts"]
        at += n
    out = {"ts": ts}
    for key in ("lengths", "image", "has_cxr", "y", "index"):
        out[key] = torch.cat([it[key] for it in items])
    return out


def frame_and_images(frame: pa.Table | str | Path, label_columns: Sequence[str], tensor_dir: str | Path | None,
                     column: str = "clahe", splits: Sequence[str] = SPLITS) -> tuple[FrameArrays, ImageStore | None]:
    """Convenience: the frame's arrays and the tensors of the rows of `splits` that claim an image (None
    when `tensor_dir` is None), attached. `arrays.missing_tensors` counts rows whose image has no tensor."""
    arrays = FrameArrays(frame, label_columns)
    if tensor_dir is None:
        return arrays, None
    rows = np.concatenate([arrays.rows(s) for s in splits]) if splits else None
    store = ImageStore.from_lake(tensor_dir, arrays.dicom_ids(rows), column)
    arrays.attach_images(store)
    return arrays, store
