"""A PyTorch Dataset over a training frame from `get_training_frame`: how models read their inputs.

Columns are converted once, vectorised, at construction (no per-item Arrow work):

* numeric / boolean scalars           -> float32 0-d tensors (null -> NaN)
* FLOAT[n] arrays (stacked groups)    -> float32 [n]
* lists (sequences, embeddings)       -> float32 [length] or [length, n] (FLOAT[n] per step)
* binary (image tensors)              -> uint8, reshaped to the registry's shape (e.g. 224 x 224)
* label columns                       -> `target`, float32 [n_labels] (null -> NaN)

Default inputs: every feature column of the frame's feature views, without as-of times, row ids, sequence
lengths and metadata groups (tensor shape, HAIM's availability counts). Strings and timestamps are not
tensors: they are left out of the inputs (listed in `skipped`). Each item
also says which inputs were present (a missing image, an entity without a time-series row), so a model
can mask missing modalities. `lineage` carries the views, code versions, fingerprints and weights_source
the frame was built from; keep it with the checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch.utils.data import Dataset

from features.store.guards import frame_report
from features.store.retrieval import get_training_frame
from warehouse.lake import ClinfuseError


def _numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t)


def _valid(arr: pa.Array) -> np.ndarray:
    return arr.is_valid().to_numpy(zero_copy_only=False).astype(bool)


def _floats(arr: pa.Array) -> np.ndarray:
    # a writable copy: torch.from_numpy must not alias Arrow's read-only buffers
    return np.array(pc.cast(arr, pa.float32()).to_numpy(zero_copy_only=False), dtype=np.float32, copy=True)


class _Column:
    """One frame column as numpy: `get(i)` -> tensor; `present[i]`."""

    def __init__(self, name: str, arr: pa.Array, shape: Sequence[int] = ()):
        self.name = name
        self.present = _valid(arr)
        self.ragged = False
        t = arr.type
        if _numeric(t):
            self.kind, self.values = "scalar", _floats(arr)
        elif pa.types.is_fixed_size_list(t) and _numeric(t.value_type):
            self.kind, self.values = "fixed", self._fixed(arr)
        elif (pa.types.is_list(t) or pa.types.is_large_list(t)) and (
                _numeric(t.value_type) or (pa.types.is_fixed_size_list(t.value_type)
                                           and _numeric(t.value_type.value_type))):
            self.kind, self.ragged = "list", True
            self.offsets = np.asarray(arr.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
            inner = arr.values
            self.values = self._fixed(inner) if pa.types.is_fixed_size_list(inner.type) else _floats(inner)
        elif pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
            self.kind = "binary"
            self.shape = tuple(shape)
            arr = pc.cast(arr, pa.large_binary()) if not pa.types.is_large_binary(t) else arr
            bufs = arr.buffers()
            self.offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset: arr.offset + len(arr) + 1].copy()
            self.values = np.frombuffer(bufs[2], dtype=np.uint8).copy() if bufs[2] is not None else np.zeros(0, np.uint8)
            self.ragged = not self.shape
        else:
            raise TypeError(f"{name}: {t} is not a tensor type")

    @staticmethod
    def _fixed(arr: pa.Array) -> np.ndarray:
        n = arr.type.list_size
        flat = arr.values.slice(arr.offset * n, len(arr) * n)
        out = _floats(flat).reshape(len(arr), n)
        valid = _valid(arr)
        if not valid.all():
            out = out.copy()
            out[~valid] = np.nan
        return out

    def get(self, i: int) -> torch.Tensor:
        if self.kind == "scalar":
            return torch.tensor(self.values[i])
        if self.kind == "fixed":
            return torch.from_numpy(self.values[i])
        start, end = self.offsets[i], self.offsets[i + 1]
        if self.kind == "list":
            return torch.from_numpy(self.values[start:end])
        raw = torch.from_numpy(self.values[start:end])
        if self.shape:
            if not self.present[i] or end == start:
                return torch.zeros(self.shape, dtype=torch.uint8)
            if raw.numel() != int(np.prod(self.shape)):
                raise ClinfuseError(f"{self.name}: row {i} has {raw.numel()} bytes, expected shape {self.shape}")
            return raw.reshape(self.shape)
        return raw


class FeatureDataset(Dataset):
    """Items: {"inputs": {column: tensor}, "present": {column: bool}, "target": float32 [n_labels], "index": i}."""

    def __init__(self, frame: pa.Table, *, inputs: Sequence[str] | None = None, targets: Sequence[str] | None = None):
        meta = frame_report(frame) if b"clinfuse" in (frame.schema.metadata or {}) else None
        if meta is None and (inputs is None or targets is None):
            raise ClinfuseError("FeatureDataset: the frame has no lineage (not from get_training_frame); "
                                "give inputs= and targets=")
        self.lineage = _lineage(meta) if meta else {"views": {}}
        shapes = {c: s for v in (meta or {}).get("views", []) for c, s in v.get("shapes", {}).items()}
        if inputs is None:
            not_inputs = {c for v in meta["views"] for c in
                          [v.get("asof_column"), v.get("length_column"), *v.get("row_id_columns", []),
                           *v.get("metadata_columns", [])] if c}
            candidates = [c for v in meta["views"] if v["kind"] != "label" for c in v["columns"] if c not in not_inputs]
        else:
            candidates = list(inputs)
        self.target_columns = list(targets) if targets is not None else list(meta["labels"])
        missing = [c for c in [*candidates, *self.target_columns] if c not in frame.column_names]
        if missing:
            raise ClinfuseError(f"FeatureDataset: the frame has no column {missing[0]!r}")
        self.columns: dict[str, _Column] = {}
        self.skipped: list[str] = []
        for name in candidates:
            try:
                self.columns[name] = _Column(name, frame[name].combine_chunks(), shapes.get(name, ()))
            except TypeError:
                if inputs is not None:
                    raise ClinfuseError(f"FeatureDataset: input {name} ({frame.schema.field(name).type}) "
                                        f"cannot be a tensor") from None
                self.skipped.append(name)
        self.input_columns = list(self.columns)
        targets_np = []
        for name in self.target_columns:
            arr = frame[name].combine_chunks()
            if not _numeric(arr.type):
                raise ClinfuseError(f"FeatureDataset: target {name} ({arr.type}) is not numeric")
            targets_np.append(_floats(arr))
        self.targets = np.stack(targets_np, axis=1) if targets_np else np.zeros((frame.num_rows, 0), np.float32)
        self.n = frame.num_rows

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        if not -self.n <= i < self.n:
            raise IndexError(i)
        i = i % self.n if self.n else i
        return {
            "inputs": {name: col.get(i) for name, col in self.columns.items()},
            "present": {name: bool(col.present[i]) for name, col in self.columns.items()},
            "target": torch.from_numpy(self.targets[i]),
            "index": i,
        }

    @staticmethod
    def collate(batch: list[dict]) -> dict:
        """Stack a batch; variable-length inputs (sequences) are zero-padded along their first dimension and
        their lengths given in `lengths`."""
        out = {"inputs": {}, "present": {}, "lengths": {},
               "target": torch.stack([b["target"] for b in batch]),
               "index": torch.tensor([b["index"] for b in batch])}
        for name in batch[0]["inputs"]:
            items = [b["inputs"][name] for b in batch]
            out["present"][name] = torch.tensor([b["present"][name] for b in batch])
            if all(t.shape == items[0].shape for t in items):
                out["inputs"][name] = torch.stack(items)
                continue
            lengths = torch.tensor([t.shape[0] for t in items])
            tail = next((t.shape[1:] for t in items if t.shape[0]), items[0].shape[1:])
            padded = items[0].new_zeros((len(items), int(lengths.max()), *tail))
            for j, t in enumerate(items):
                if t.shape[0]:
                    padded[j, : t.shape[0]] = t
            out["inputs"][name] = padded
            out["lengths"][name] = lengths
        return out

    @classmethod
    def from_views(cls, entities, views, **kwargs) -> FeatureDataset:
        """get_training_frame(entities, views, **kwargs) wrapped as a Dataset."""
        return cls(get_training_frame(entities, views, **kwargs))


def _lineage(meta: dict) -> dict:
    return {
        "views": {v["name"]: {k: v.get(k) for k in ("kind", "source", "code_version", "fingerprint", "weights_source")}
                  for v in meta["views"]},
        "ttl_seconds": meta.get("ttl_seconds"), "split": meta.get("split"), "guards": meta.get("guards"),
        "prediction_column": meta.get("prediction_column"),
    }
