"""frames.m3h as arrays: one standardised float32 matrix per modality, presence masks, labels per task.

Missing embeddings are NULL in the frame. Here each column is standardised with training-split statistics
(mean and SD over the training rows where it is present) and a missing value becomes 0 = the training mean
(mean imputation); the modality's presence mask travels with the batch, so the contrastive loss pairs only
modalities that are both present and the fusion averages only present modalities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from features.m3h.frame import MODALITIES, frame_fingerprint, load_m3h_frame, modality_columns, note_types_of
from features.m3h.tasks import TaskSpec, all_tasks
from warehouse.lake import ClinfuseError, Home

IMPUTATION = ("missing embedding values are imputed with the training mean of their column after "
              "standardisation with training statistics; modality masks drive the contrastive pairs and the fusion")


def _matrix(table: pa.Table, columns: list[str]) -> np.ndarray:
    if not columns:
        return np.zeros((table.num_rows, 0), np.float32)
    return np.column_stack([table[c].to_numpy(zero_copy_only=False).astype(np.float32) for c in columns])


@dataclass
class Standardiser:
    """Training-split column means and SDs (NaN-aware); apply() -> standardised, NaN -> 0."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardiser:
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(x, axis=0) if len(x) else np.zeros(x.shape[1])
                std = np.nanstd(x, axis=0) if len(x) else np.ones(x.shape[1])
        mean = np.nan_to_num(mean, nan=0.0).astype(np.float32)
        std = np.where(np.isfinite(std) & (std > 1e-6), std, 1.0).astype(np.float32)
        return cls(mean, std)

    def apply(self, x: np.ndarray) -> np.ndarray:
        return np.nan_to_num((x - self.mean) / self.std, nan=0.0).astype(np.float32)


class M3HData:
    """The frame's rows as arrays. `labels[task]`: float [N] (binary 0/1, multiclass class index, regression
    value), NaN = no label; `inputs[modality]` standardised with `train` statistics; `present[modality]` bool."""

    def __init__(self, home: Home, table: pa.Table | None = None):
        table = load_m3h_frame(home) if table is None else table
        self.fingerprint = frame_fingerprint(home) if home is not None else ""
        self.columns = modality_columns(note_types_of(table.column_names))
        self.raw = {m: _matrix(table, cols) for m, cols in self.columns.items()}
        self.present = {m: np.asarray(table[f"has_{m}"].to_pylist(), dtype=bool) for m in MODALITIES}
        self.split = np.asarray([s or "" for s in table["split"].to_pylist()], dtype=object)
        self.sample_id = np.asarray(table["sample_id"].to_pylist(), dtype=object)
        self.subject_id = table["subject_id"].to_numpy().astype(np.int64)
        self.sex = np.asarray(table["sex"].to_pylist(), dtype=object)
        self.age = np.asarray([np.nan if a is None else a for a in table["age"].to_pylist()], dtype=float)
        self.race = np.asarray(table["race"].to_pylist(), dtype=object)
        self.specs: dict[str, TaskSpec] = {s.name: s for s in all_tasks() if s.name in table.column_names}
        self.labels = {name: np.asarray([np.nan if v is None else v for v in table[name].to_pylist()], dtype=float)
                       for name in self.specs}
        train = self.rows("train")
        if len(train) == 0:
            raise ClinfuseError("frames.m3h has no training row")
        self.standardisers = {m: Standardiser.fit(x[train]) for m, x in self.raw.items()}
        self.inputs = {m: self.standardisers[m].apply(x) for m, x in self.raw.items()}
        self.dims = {m: x.shape[1] for m, x in self.inputs.items()}

    def __len__(self) -> int:
        return len(self.split)

    def rows(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.split == split)

    def train_count(self, task: str) -> int:
        """Training positives (binary) or labelled training rows (multiclass, regression)."""
        y = self.labels[task][self.rows("train")]
        y = y[~np.isnan(y)]
        return int(y.sum()) if self.specs[task].kind == "binary" else int(y.size)

    def select_tasks(self, min_train_positives: int, max_tasks: int = 0) -> tuple[list[str], dict[str, str]]:
        """(trained tasks in model order, {skipped task: reason}). `max_tasks` > 0 caps the trained tasks (the
        first ones in model order; the rest are skipped with that reason)."""
        trained, skipped = [], {}
        for name, spec in self.specs.items():
            count = self.train_count(name)
            what = "positives" if spec.kind == "binary" else "labelled rows"
            y = self.labels[name][self.rows("train")]
            if count < min_train_positives:
                skipped[name] = f"{count} training {what} < min_train_positives = {min_train_positives}"
            elif spec.kind == "binary" and count == int((~np.isnan(y)).sum()):
                skipped[name] = "no training negative"
            elif spec.kind == "multiclass" and len(np.unique(y[~np.isnan(y)])) < 2:
                skipped[name] = "fewer than 2 classes in the training split"
            elif max_tasks and len(trained) >= max_tasks:
                skipped[name] = f"beyond max_tasks = {max_tasks} (profile cap)"
            else:
                trained.append(name)
        return trained, skipped


def tabular_task(home: Home, settings: dict | None = None):
    """Contract 2: the frame's HAIM embedding columns (NaN = missing) and one Target per task M3H trains with the
    same rule as models/m3h (`min_train_positives`, `max_tasks` and `profile` from `settings`, else the profile's;
    other keys are ignored). The clustering task is not a target."""
    from models.m3h.settings import resolve_settings
    from models.tabular import TabularTask, Target

    given = settings or {}
    # only the task-selection keys matter here; a caller's own settings (e.g. a baseline's) are ignored
    settings = resolve_settings(given.get("profile") or None,
                                {k: given[k] for k in ("min_train_positives", "max_tasks") if k in given})
    data = M3HData(home)
    trained, _ = data.select_tasks(settings["min_train_positives"], settings["max_tasks"])
    targets = []
    for name in trained:
        spec = data.specs[name]
        y = data.labels[name]
        targets.append(Target(name=name, kind=spec.kind, y=y[:, None] if spec.kind == "binary" else y,
                              label_names=list(spec.label_names)))
    names = [c for m in MODALITIES for c in data.columns[m]]
    return TabularTask(
        name="m3h", X=np.hstack([data.raw[m] for m in MODALITIES]).astype(np.float32), feature_names=names,
        targets=targets, split=data.split.astype(str), subject_id=data.subject_id, sex=data.sex, age=data.age,
        race=data.race, fingerprint=data.fingerprint,
        description=f"HAIM embeddings per sample ({', '.join(f'{m} {data.dims[m]}' for m in MODALITIES)}); "
                    f"prediction time = image time")
