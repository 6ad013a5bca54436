"""frames.m3tlm -> model inputs: arrays, the training-split vocabulary and scaler, oversampling of the
training split, the batch dataset, and the tabular view of the frame for the baselines (Contract 2).

Batch (dict of tensors): num float32 [B, 26] (training medians imputed, standardised with training
statistics), onehot float32 [B, 28], ethnicity int64 [B], dx int64 [B, 23] and px int64 [B, 18] (token ids,
left-padded with 0; 1 = out of vocabulary), image float32 [B, 1, S, S] in [0, 1] (zeros without image),
has_cxr bool [B], los float32 [B] (days), mortality float32 [B] (0/1), index int64 [B] (frame row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch.utils.data import Dataset

from features.m3tlm.frame import ETHNICITY_GROUPS, NUMERIC_NAMES, ONEHOT_NAMES
from warehouse.lake import ClinfuseError, Home

PAD, OOV = 0, 1
STORED_SIZE = 224


def _strings(column: pa.ChunkedArray) -> np.ndarray:
    values = pc.fill_null(column.cast(pa.string()), "").to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=str) if len(values) else np.zeros(0, "<U1")


def _matrix(column: pa.ChunkedArray, width: int, name: str) -> np.ndarray:
    """A fixed-width list column -> float32 [N, width] (null items -> NaN)."""
    array = column.combine_chunks()
    lengths = pc.list_value_length(array).to_numpy(zero_copy_only=False)
    if len(array) and not (lengths == width).all():
        raise ClinfuseError(f"frames.m3tlm: column {name} must hold {width} values per row")
    flat = pc.list_flatten(array).cast(pa.float64()).to_numpy(zero_copy_only=False)
    return np.asarray(flat, np.float32).reshape(len(array), width)


class FrameArrays:
    """The frame's columns as numpy arrays (token columns stay Arrow list arrays)."""

    def __init__(self, table: pa.Table):
        missing = sorted({"hadm_id", "subject_id", "split", "numeric", "onehot", "ethnicity", "dx_tokens", "px_tokens",
                          "has_cxr", "dicom_id", "sex", "age", "race", "los_days", "mortality", "frame_mode"}
                         - set(table.column_names))
        if missing:
            raise ClinfuseError(f"frames.m3tlm lacks column(s) {', '.join(missing)}: materialise frames/m3tlm again")
        n = table.num_rows
        self.n = n
        self.hadm_id = table["hadm_id"].to_numpy().astype(np.int64)
        self.subject_id = table["subject_id"].to_numpy().astype(np.int64)
        self.split = _strings(table["split"])
        self.numeric = _matrix(table["numeric"], len(NUMERIC_NAMES), "numeric")
        self.onehot = _matrix(table["onehot"], len(ONEHOT_NAMES), "onehot")
        self.ethnicity = pc.fill_null(table["ethnicity"], len(ETHNICITY_GROUPS) - 1).to_numpy().astype(np.int64)
        self.dx_tokens = table["dx_tokens"].combine_chunks()
        self.px_tokens = table["px_tokens"].combine_chunks()
        self.dicom_id = _strings(table["dicom_id"])
        self.has_cxr = self.dicom_id != ""
        self.sex, self.race = _strings(table["sex"]), _strings(table["race"])
        self.age = np.asarray(table["age"].to_numpy(zero_copy_only=False), np.float64)
        self.los = np.asarray(table["los_days"].to_numpy(zero_copy_only=False), np.float32)
        self.mortality = pc.fill_null(table["mortality"], 0).to_numpy().astype(np.float32)
        modes = set(_strings(table["frame_mode"]).tolist())
        self.mode = modes.pop() if len(modes) == 1 else ("fixed" if n == 0 else "mixed")
        window = table["window_hours"].to_pylist()[:1] if "window_hours" in table.column_names else [None]
        self.window_hours = window[0] if window else None
        if n and (np.isnan(self.los).any() or (self.los < 0).any()):
            raise ClinfuseError("frames.m3tlm: los_days must be a non-negative number on every row")

    def rows(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.split == split)


# ---------------------------------------------------------------- vocabulary, scaler


@dataclass
class Vocabulary:
    """Word -> id: 0 = padding, 1 = out of vocabulary, 2.. = the training split's most frequent words
    (ties broken alphabetically), at most `size` ids in all."""

    words: list[str]

    @classmethod
    def fit(cls, tokens: pa.ListArray, rows: np.ndarray, size: int) -> Vocabulary:
        if size < 3:
            raise ClinfuseError(f"vocabulary size {size}: expected >= 3 (padding, out-of-vocabulary, one word)")
        flat = pc.list_flatten(tokens.take(pa.array(np.asarray(rows, np.int64))))
        if len(flat) == 0:
            return cls([])
        counts = pc.value_counts(flat)
        words = np.asarray(counts.field("values").to_numpy(zero_copy_only=False), dtype=str)
        freq = counts.field("counts").to_numpy()
        order = np.lexsort((words, -freq))
        return cls(words[order][:size - 2].tolist())

    @property
    def size(self) -> int:
        return len(self.words) + 2

    def encode(self, tokens: pa.ListArray, length: int) -> np.ndarray:
        """int64 [N, length]: the first `length` tokens of each row, left-padded with 0."""
        n = len(tokens)
        out = np.zeros((n, length), np.int64)
        lengths = np.minimum(pc.fill_null(pc.list_value_length(tokens), 0).to_numpy(), length).astype(np.int64)
        offsets = tokens.offsets.to_numpy().astype(np.int64)[:n]
        total = int(lengths.sum())
        if total == 0:
            return out
        row = np.repeat(np.arange(n), lengths)
        position = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        values = np.asarray(tokens.values.to_numpy(zero_copy_only=False), dtype=str)
        words = values[np.repeat(offsets, lengths) + position]
        vocab = np.asarray(self.words, dtype=str) if self.words else np.zeros(0, "<U1")
        sorter = np.argsort(vocab)
        found = np.searchsorted(vocab, words, sorter=sorter) if len(vocab) else np.zeros(total, np.int64)
        found = np.minimum(found, max(len(vocab) - 1, 0))
        hit = (vocab[sorter[found]] == words) if len(vocab) else np.zeros(total, bool)
        ids = np.where(hit, sorter[found] + 2, OOV)
        out[row, length - lengths[row] + position] = ids
        return out


@dataclass
class Scaler:
    """Training-split medians (imputation) then mean / std (standardisation) per numeric column."""

    median: list[float]
    mean: list[float]
    std: list[float]

    @classmethod
    def fit(cls, values: np.ndarray, rows: np.ndarray) -> Scaler:
        train = values[rows].astype(np.float64)
        with np.errstate(all="ignore"):
            observed = ~np.isnan(train)
            median = np.where(observed.any(0), np.nanmedian(np.where(observed.any(0), train, 0.0), axis=0), 0.0)
            filled = np.where(observed, train, median)
            mean, std = filled.mean(0), filled.std(0)
        std = np.where(std > 1e-12, std, 1.0)
        return cls(median.tolist(), mean.tolist(), std.tolist())

    def transform(self, values: np.ndarray) -> np.ndarray:
        median, mean, std = (np.asarray(v, np.float32) for v in (self.median, self.mean, self.std))
        return ((np.where(np.isnan(values), median, values) - mean) / std).astype(np.float32)


def oversample_rows(rows: np.ndarray, y: np.ndarray, method: str = "random", seed: int = 0) -> np.ndarray:
    """Training row indices after oversampling the minority class of the binary `y` (aligned with `rows`):
    imbalanced-learn's RandomOverSampler draws whole rows (every modality of a row together; SMOTE's
    interpolated token ids or images would be meaningless, models-reference A6 #4). Only ever given the
    training split's rows; `none` / `class_weight` return them unchanged."""
    rows = np.asarray(rows, np.int64)
    if method in ("none", "class_weight") or len(np.unique(y)) < 2:
        return rows
    if method != "random":
        raise ClinfuseError(f"oversample {method!r}: expected random, class_weight or none")
    from imblearn.over_sampling import RandomOverSampler

    resampled, _ = RandomOverSampler(random_state=seed).fit_resample(rows.reshape(-1, 1), np.asarray(y).astype(int))
    return np.asarray(resampled[:, 0], np.int64)


# ---------------------------------------------------------------- prepared inputs and the dataset


class Inputs:
    """Every row's model inputs, with the vocabularies and scaler fitted on the training split (or given,
    from a checkpoint)."""

    def __init__(self, arrays: FrameArrays, settings: dict, *, dx_length: int = 23, px_length: int = 18,
                 state: dict | None = None):
        train = arrays.rows("train")
        if state is None:
            self.dx_vocab = Vocabulary.fit(arrays.dx_tokens, train, int(settings["dx_vocab"]))
            self.px_vocab = Vocabulary.fit(arrays.px_tokens, train, int(settings["px_vocab"]))
            self.scaler = Scaler.fit(arrays.numeric, train)
            self.dx_length, self.px_length = dx_length, px_length
        else:
            self.dx_vocab, self.px_vocab = Vocabulary(state["dx_vocab"]), Vocabulary(state["px_vocab"])
            self.scaler = Scaler(**state["scaler"])
            self.dx_length, self.px_length = int(state["dx_length"]), int(state["px_length"])
        self.num = self.scaler.transform(arrays.numeric)
        self.dx = self.dx_vocab.encode(arrays.dx_tokens, self.dx_length)
        self.px = self.px_vocab.encode(arrays.px_tokens, self.px_length)
        self.arrays = arrays
        self.los, self.mortality = arrays.los.copy(), arrays.mortality.copy()

    def state(self) -> dict:
        return {"dx_vocab": self.dx_vocab.words, "px_vocab": self.px_vocab.words,
                "scaler": {"median": self.scaler.median, "mean": self.scaler.mean, "std": self.scaler.std},
                "dx_length": self.dx_length, "px_length": self.px_length}

    def shuffle_training_labels(self, seed: int) -> None:
        """Negative control: the training rows' (LoS, mortality) pairs permuted among them."""
        train = self.arrays.rows("train")
        order = np.random.default_rng(seed).permutation(train)
        self.los[train], self.mortality[train] = self.los[order], self.mortality[order]


class M3tlmDataset(Dataset):
    """Item i = frame row rows[i]; `__getitems__` builds a whole batch with numpy (use `collate`)."""

    def __init__(self, inputs: Inputs, rows: Sequence[int] | np.ndarray, images=None, image_size: int = 128):
        self.inputs, self.rows = inputs, np.asarray(rows, np.int64)
        self.images, self.image_size = images, int(image_size)
        a = inputs.arrays
        self.image_rows = images.index_of(a.dicom_id) if images is not None else np.full(a.n, -1, np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        return self.__getitems__([i])

    def __getitems__(self, positions: Sequence[int]) -> dict:
        rows = self.rows[np.asarray(positions, np.int64)]
        x, a = self.inputs, self.inputs.arrays
        image, has = self._images(self.image_rows[rows])
        return {"num": torch.from_numpy(x.num[rows]), "onehot": torch.from_numpy(a.onehot[rows]),
                "ethnicity": torch.from_numpy(a.ethnicity[rows]), "dx": torch.from_numpy(x.dx[rows]),
                "px": torch.from_numpy(x.px[rows]), "image": image, "has_cxr": torch.from_numpy(has),
                "los": torch.from_numpy(x.los[rows]), "mortality": torch.from_numpy(x.mortality[rows]),
                "index": torch.from_numpy(rows)}

    def _images(self, image_rows: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
        size, has = self.image_size, image_rows >= 0
        image = torch.zeros((len(image_rows), 1, size, size), dtype=torch.float32)
        if has.any():
            stack = torch.from_numpy(self.images.images[image_rows[has]]).unsqueeze(1).float().div_(255.0)
            if size != STORED_SIZE:
                stack = torch.nn.functional.interpolate(stack, size=(size, size), mode="bilinear",
                                                        antialias=True, align_corners=False).clamp_(0.0, 1.0)
            image[torch.from_numpy(np.flatnonzero(has))] = stack
        return image, has


def collate(items: dict | Sequence[dict]) -> dict:
    """The batch `__getitems__` built (the DataLoader hands it over as it is)."""
    return items if isinstance(items, dict) else {k: torch.cat([it[k] for it in items]) for k in items[0]}


def load_images(home: Home, arrays: FrameArrays, column: str):
    """The frame's chest X-ray tensors (features.cxr_tensors)."""
    from models.data import ImageStore

    return ImageStore.from_lake(home.table_dir("features", "cxr_tensors"), arrays.dicom_id[arrays.has_cxr],
                                column=column)


# ---------------------------------------------------------------- the tabular view (Contract 2)


def tabular_task(home: Home, settings: dict | None = None):
    """frames.m3tlm as a TabularTask: X = the 26 numeric values (NaN where not measured), the 28 one-hot
    columns and the ethnicity group one-hot (6); targets `los` (regression, days) and `mortality` (binary)."""
    from features.frames import frame_fingerprint
    from features.m3tlm.frame import load_frame
    from models.tabular import TabularTask, Target

    arrays = FrameArrays(load_frame(home))
    ethnicity = np.eye(len(ETHNICITY_GROUPS), dtype=np.float32)[arrays.ethnicity]
    X = np.concatenate([arrays.numeric, arrays.onehot, ethnicity], axis=1).astype(np.float32)
    names = [*NUMERIC_NAMES, *ONEHOT_NAMES, *(f"ethnicity={g}" for g in ETHNICITY_GROUPS)]
    label = "remaining LoS from the prediction time" if arrays.mode == "fixed" else "total LoS (faithful, leaky)"
    return TabularTask(
        name="m3tlm", X=X, feature_names=names,
        targets=[Target("los", "regression", arrays.los.astype(np.float64), ["los"]),
                 Target("mortality", "binary", arrays.mortality.astype(np.float64).reshape(-1, 1), ["mortality"])],
        split=arrays.split.astype(object), subject_id=arrays.subject_id, sex=arrays.sex.astype(object),
        age=arrays.age, race=arrays.race.astype(object), fingerprint=frame_fingerprint(home, "m3tlm"),
        description=f"frames.m3tlm ({arrays.mode}, window {arrays.window_hours} h): 26 numeric values up to the "
                    f"prediction time, 28 one-hot admission fields, 6 ethnicity groups; {label}, in-hospital mortality")
