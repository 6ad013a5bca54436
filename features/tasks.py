"""The project's tasks and which feature-store views make each task's frame, in one place for the store
and the models.

* `FRAMES`: the materialised training frames `frames/<task>` (ihm, pheno, cxr) that every model of a task
  reads (features/frames.py builds them).
* `TASK_FRAMES`: the store's standard point-in-time frames, entity cohort -> views, for the IHM,
  phenotyping and HAIM tasks (what a model retrieving straight from the store asks for).
"""

from __future__ import annotations

from dataclasses import dataclass

from features.mimic3_benchmarks import phenotype_names
from warehouse.tables import CHEXPERT_LABELS


@dataclass(frozen=True)
class TaskFrameSpec:
    """Which store views make a task's frame."""

    task: str
    cohort: str  # entity table `layer/name`
    views: tuple[str, ...]
    label_columns: tuple[str, ...]
    description: str

    @property
    def inputs(self) -> tuple[str, ...]:
        """The assets (layer/name) the frame reads."""
        from features.store.declarations import REGISTRY  # the store imports this module's names lazily too

        sources = [self.cohort, "features/splits", "raw/hosp_patients", "raw/hosp_admissions"]
        sources += [REGISTRY.get(v).source for v in self.views]
        return tuple(dict.fromkeys(sources))


FRAMES: dict[str, TaskFrameSpec] = {
    "ihm": TaskFrameSpec(
        "ihm", "cohorts/ihm_48h", ("timeseries_ihm", "cxr_pairs_ihm", "labels_ihm"), ("y_true",),
        "In-hospital mortality after 48 h in the ICU: every cohorts.ihm_48h stay (PARTIAL), its time series "
        "up to intime + 48 h, its paired chest X-ray (AP, intime -> +48 h) and its label."),
    "pheno": TaskFrameSpec(
        "pheno", "cohorts/phenotyping", ("timeseries_pheno", "cxr_pairs_pheno", "labels_pheno"), phenotype_names(),
        "25 HCUP CCS phenotypes of the ICU stay: every cohorts.phenotyping stay (PARTIAL), its whole-stay time "
        "series, its paired chest X-ray (AP, intime -> outtime) and its 25 labels."),
    "cxr": TaskFrameSpec(
        "cxr", "features/cxr_tensors", ("labels_chexpert",), CHEXPERT_LABELS,
        "Every chest X-ray tensor (all views) with its study's 14 CheXpert labels (uncertain and unmentioned "
        "read as 0): the stage-1 image encoder's training data."),
}


TASK_FRAMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ihm": ("cohorts/ihm_48h", ("timeseries_ihm", "cxr_pairs_ihm", "cxr_densenet121_chex", "labels_ihm")),
    "pheno": ("cohorts/phenotyping", ("timeseries_pheno", "cxr_pairs_pheno", "cxr_densenet121_chex", "labels_pheno")),
    "haim": ("cohorts/haim_samples", ("haim", "labels_haim")),
}
