"""The feature registry: every feature view of the project, declared in code.

A **feature view** is a lake table seen through the store: its entity keys (what a training frame joins
on), its as-of column (the latest event time that went into a row), its features, the asset that
produces it, a code version and, for embeddings, the `weights_source` of the model that made them.
There are three kinds:

``latest``
    point-in-time retrieval returns, per entity row, the single table row with the greatest as-of
    <= prediction time (DuckDB ASOF JOIN; ties on the as-of broken by `order_by`, last wins).
``sequence``
    one entity is a sequence of rows (a stay's 2-h steps, a subject's note chunks); retrieval returns
    every row with (effective) as-of <= prediction time, ordered by `order_by`, aggregated into list
    columns (one list element per step).
``label``
    outcomes, not features: joined by key (exact match), never as-of, and not subject to the leakage
    rule (an outcome is by definition known only after the prediction time).

Features are described in **groups** so that wide tables stay compact: a group is either an explicit
column list (the 76 discretizer columns) or a regular expression over the table's columns (HAIM's
4,000-odd `vd_*`, `ts_ce_*`, ... columns). A `stack`ed group is returned by retrieval as one
`FLOAT[n]` array column (a modality vector) rather than n scalar columns.

`write_registry(home)` materialises the registry as `store.registry` (one row per view and feature
group) and a standardised catalog view `store.<view>` per materialised view; `registry_markdown(home)`
renders it for the Dagster UI. A view whose table is not materialised yet is listed with status
'not materialised'.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa

from features.resources import phenotype_names
from features.store.guards import ASOF_SUFFIX
from features.timeseries.layout import COLUMNS as TIMESERIES_COLUMNS
from warehouse.lake import (
    ClinfuseError,
    Home,
    catalog,
    connect,
    create_view,
    engine,
    parquet_glob,
    sql_str,
    write_arrow,
)
from warehouse.tables import CHEXPERT_LABELS

ViewKind = Literal["latest", "sequence", "label"]
KINDS: tuple[str, ...] = ("latest", "sequence", "label")
MATERIALISED = "materialised"
NOT_MATERIALISED = "not materialised"
HIVE_COLUMN = "shard"  # the subject-shard directory of sharded tables: storage, never a feature
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def quote(name: str) -> str:
    """A SQL identifier (MIMIC-style column names carry spaces, '->' and keywords such as `at`)."""
    return '"' + str(name).replace('"', '""') + '"'


@dataclass(frozen=True)
class FeatureGroup:
    """Columns of a view described together: an explicit list, or a regex over the table's columns."""

    name: str
    description: str
    dtype: str  # declared DuckDB type of each column (e.g. FLOAT, VARCHAR, BLOB, FLOAT[])
    columns: tuple[str, ...] = ()
    pattern: str | None = None  # re.search over column names not used as keys / as-of / ids
    expected: int | None = None  # expected column count for a pattern group (documentation)
    shape: tuple[int, ...] = ()  # shape of one value of a list / binary column, e.g. (1024,), (224, 224)
    stack: bool = False  # retrieval returns the group as one FLOAT[n] column `<view>__<group>`
    optional: bool = False  # a pattern group that may match nothing (e.g. note types not configured)
    metadata: bool = False  # describes the row (shape, counts, flags): retrieved, but not a model input

    def __post_init__(self):
        if bool(self.columns) == bool(self.pattern):
            raise ValueError(f"feature group {self.name!r}: give either columns or a pattern")
        if self.pattern:
            re.compile(self.pattern)

    @property
    def n_declared(self) -> int | None:
        return len(self.columns) if self.columns else self.expected


@dataclass(frozen=True)
class FeatureView:
    """One feature view. `source` is the producing asset key `layer/table` (= lake schema/table)."""

    name: str
    kind: ViewKind
    source: str
    entity_keys: tuple[str, ...]
    asof: str | None
    groups: tuple[FeatureGroup, ...]
    description: str
    id_columns: tuple[str, ...] = ()  # other identifiers the table carries (exposed in store.<view>)
    row_ids: tuple[str, ...] = ()  # identifiers of the chosen row(s), returned by retrieval
    order_by: tuple[str, ...] = ()  # sequence order; tie-break (last wins) among rows of one as-of
    ignore: tuple[str, ...] = ()  # table columns that are neither keys nor features
    code_version: str = "1"
    weights_column: str | None = None  # a column holding the weights_source of the model
    weights_from: tuple[str, ...] = ()  # views whose weights_source this view inherits (derived features)

    def __post_init__(self):
        if not _NAME.match(self.name) or "__" in self.name:
            raise ValueError(f"view name {self.name!r}: lower-case letters, digits and single underscores")
        if self.kind not in KINDS:
            raise ValueError(f"view {self.name}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.source.count("/") != 1:
            raise ValueError(f"view {self.name}: source {self.source!r} is not layer/table")
        if not self.entity_keys:
            raise ValueError(f"view {self.name}: no entity keys")
        if (self.asof is None) != (self.kind == "label"):
            raise ValueError(f"view {self.name}: label views have no as-of column, feature views need one")
        if self.kind == "sequence" and not self.order_by:
            raise ValueError(f"view {self.name}: a sequence view needs order_by")
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names) or not names:
            raise ValueError(f"view {self.name}: feature group names must be unique and non-empty")

    # ---------------------------------------------------------------- naming

    @property
    def schema(self) -> str:
        return self.source.split("/")[0]

    @property
    def table(self) -> str:
        return self.source.split("/")[1]

    @property
    def source_table(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def store_view(self) -> str:
        return f"store.{self.name}"

    @property
    def is_label(self) -> bool:
        return self.kind == "label"

    def out(self, column: str) -> str:
        """Name of a column of this view in a training frame."""
        return f"{self.name}__{column}"

    @property
    def structural(self) -> tuple[str, ...]:
        """Columns that are not features: keys, ids, as-of, ordering, ignored, storage, weights."""
        cols = [*self.entity_keys, *self.id_columns, *self.row_ids, *self.order_by, *self.ignore, HIVE_COLUMN]
        cols += [c for c in (self.asof, self.weights_column) if c]
        return tuple(dict.fromkeys(cols))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def fingerprint(self) -> str:
        """A hash of the declaration: it changes whenever the view's definition changes."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]

    def table_dir(self, home: Home) -> Path:
        return home.table_dir(self.schema, self.table)


@dataclass(frozen=True)
class ResolvedView:
    """A view checked against its materialised table (or its declaration, when not materialised)."""

    view: FeatureView
    status: str
    table_columns: dict[str, str]  # column -> DuckDB type, in table order ({} when not materialised)
    groups: dict[str, tuple[str, ...]]  # group -> its columns (resolved; declared when not materialised)
    problems: tuple[str, ...] = ()
    glob: str | None = None
    hive: bool = False
    rows: int | None = None
    weights_source: str | None = None

    @property
    def materialised(self) -> bool:
        return self.status == MATERIALISED

    def scan_sql(self) -> str:
        """A FROM-clause expression over the view's Parquet files."""
        if not self.glob:
            raise ClinfuseError(self.not_materialised_message())
        return (f"read_parquet({sql_str(self.glob)}, hive_partitioning = {'true' if self.hive else 'false'}, "
                f"union_by_name = true)")

    def not_materialised_message(self) -> str:
        return (f"feature view {self.view.name}: {self.view.source_table} is not materialised "
                f"(materialise the asset {self.view.source}, e.g. `clinfuse run --select '+{self.view.source}'`)")

    def group_dtype(self, group: FeatureGroup) -> str:
        if not self.table_columns:
            return group.dtype
        types = list(dict.fromkeys(self.table_columns[c] for c in self.groups[group.name]))
        return ", ".join(types) if types else group.dtype

    def key_type(self, column: str) -> str | None:
        return self.table_columns.get(column)

    def check(self) -> ResolvedView:
        """Raise ClinfuseError when the view cannot be used (not materialised, or columns missing)."""
        if not self.materialised:
            raise ClinfuseError(self.not_materialised_message())
        if self.problems:
            raise ClinfuseError(f"feature view {self.view.name}: {self.problems[0]}")
        return self


class Registry:
    """The declared views, by name."""

    def __init__(self, views: Iterable[FeatureView]):
        self.views: dict[str, FeatureView] = {}
        for view in views:
            if view.name in self.views or view.name == "registry":
                raise ValueError(f"feature view {view.name!r} declared twice (or reserved)")
            self.views[view.name] = view

    def __iter__(self):
        return iter(self.views.values())

    def __len__(self) -> int:
        return len(self.views)

    def __contains__(self, name: str) -> bool:
        return name in self.views

    def names(self) -> list[str]:
        return list(self.views)

    def get(self, name: str) -> FeatureView:
        try:
            return self.views[name]
        except KeyError:
            raise ClinfuseError(f"unknown feature view {name!r}; known: {', '.join(self.views)}") from None

    def by_source(self, source: str) -> list[FeatureView]:
        return [v for v in self if v.source == source]


# ---------------------------------------------------------------- the project's views

_TS_VALUES = ("the 76 discretizer columns per step in MedFuse order: 59 values (one-hot categorical "
              "channels, continuous channels) then 17 observation masks; raw values (normalise with "
              "features.normalizer_{task}, fitted on the training split)")
_HAIM_GROUPS = (
    ("de", "demographics", 6),
    ("ts_ce", "chart-event time-series statistics, events strictly before the prediction time", 99),
    ("ts_le", "lab-event time-series statistics, events strictly before the prediction time", 242),
    ("ts_pe", "procedure-event time-series statistics, events strictly before the prediction time", 110),
    ("vd", "DenseNet121-res224-chex pooled features of the sample's own image", 1024),
    ("vp", "DenseNet121-res224-chex 18 pathology outputs of the sample's own image", 18),
    ("vmd", "time-weighted mean of the pooled features of earlier images of the admission", 1024),
    ("vmp", "time-weighted mean of the 18 pathology outputs of earlier images", 18),
    ("n_rad", "time-weighted Bio_ClinicalBERT embedding of earlier radiology notes", 768),
    ("n_dis", "time-weighted Bio_ClinicalBERT embedding of earlier discharge notes", 768),
)
_HAIM_OPTIONAL = (  # note types HAIM knows that this project's notes do not carry by default
    ("n_ecg", "time-weighted Bio_ClinicalBERT embedding of earlier ECG notes (when configured)", 768),
    ("n_ech", "time-weighted Bio_ClinicalBERT embedding of earlier echo notes (when configured)", 768),
)


def _timeseries_view(task: str, cohort: str, window: str) -> FeatureView:
    return FeatureView(
        name=f"timeseries_{task}", kind="sequence", source=f"features/timeseries_{task}",
        entity_keys=("stay_id",), id_columns=("subject_id", "hadm_id"), row_ids=("step",),
        asof="asof_time", order_by=("step",),
        groups=(FeatureGroup("values", _TS_VALUES.format(task=task), "FLOAT", columns=TIMESERIES_COLUMNS,
                             stack=True),),
        description=f"2-hour discretised time series of the {cohort} stays ({window}); one entity = a stay's "
                    f"sequence of steps. Retrieval returns the steps whose as-of <= prediction time (a prefix "
                    f"of the grid), as `values` FLOAT[76] per step; steps before the stay's first event "
                    f"(null as-of, normal values only) come with the first step that has an event.",
    )


_CXR_TENSOR_GROUPS = (
    FeatureGroup("view_position", "DICOM ViewPosition (AP, PA, LATERAL, ...)", "VARCHAR", columns=("view_position",)),
    FeatureGroup("shape", "stored tensor height and width (pixels)", "INTEGER", columns=("height", "width"),
                 metadata=True),
    FeatureGroup("clahe", "grayscale, CLAHE (clip 2.0, tiles 8x8), short side 256, centre crop 224; uint8 "
                          "row-major bytes", "BLOB", columns=("clahe",), shape=(224, 224)),
    FeatureGroup("plain", "the same image without CLAHE; uint8 row-major bytes", "BLOB", columns=("plain",),
                 shape=(224, 224)),
)
_CXR_EMBEDDING_GROUPS = (
    FeatureGroup("view_position", "DICOM ViewPosition", "VARCHAR", columns=("view_position",)),
    FeatureGroup("dense", "torchxrayvision densenet121-res224-chex pooled features", "FLOAT[]", columns=("dense",),
                 shape=(1024,)),
    FeatureGroup("pathologies", "the model's 18 pathology outputs (torchxrayvision order)", "FLOAT[]",
                 columns=("pathologies",), shape=(18,)),
)


def _cxr_view(name: str, source: str, keys: tuple[str, ...], groups, description: str) -> FeatureView:
    ids = tuple(c for c in ("subject_id", "dicom_id") if c not in keys)
    return FeatureView(name=name, kind="latest", source=source, entity_keys=keys,
                       id_columns=tuple(c for c in ids if c != "dicom_id"),
                       row_ids=tuple(c for c in ("dicom_id", "study_id") if c not in keys), asof="study_datetime",
                       order_by=("dicom_id",), groups=groups, description=description,
                       weights_column="weights_source" if source.startswith("embeddings/") else None)


def _label_view(name: str, source: str, keys: tuple[str, ...], ids: tuple[str, ...], groups, description: str,
                ignore: tuple[str, ...] = ()) -> FeatureView:
    return FeatureView(name=name, kind="label", source=source, entity_keys=keys, id_columns=ids, asof=None,
                       groups=tuple(groups), description=description, ignore=ignore)


VIEWS: tuple[FeatureView, ...] = (
    _timeseries_view("ihm", "cohorts.ihm_48h", "first 48 h, 24 steps at 2 h"),
    _timeseries_view("pheno", "cohorts.phenotyping", "whole ICU stay"),
    _cxr_view("cxr_tensors", "features/cxr_tensors", ("subject_id",), _CXR_TENSOR_GROUPS,
              "Chest X-ray image tensors, one row per image. Retrieval: the subject's latest image with "
              "study_datetime <= prediction time (bound its age with a TTL, e.g. 48h)."),
    _cxr_view("cxr_tensors_by_image", "features/cxr_tensors", ("dicom_id",), _CXR_TENSOR_GROUPS,
              "The same tensors keyed by image: for entity frames that name the image (e.g. the rows of "
              "features.cxr_pairs_ihm: stay_id, dicom_id, prediction_time); an image taken after the "
              "prediction time is never returned."),
    _cxr_view("cxr_densenet121_chex", "embeddings/cxr_densenet121_chex", ("subject_id",), _CXR_EMBEDDING_GROUPS,
              "DenseNet121-res224-chex embedding per image. Retrieval: the subject's latest image with "
              "study_datetime <= prediction time."),
    _cxr_view("cxr_densenet121_chex_by_image", "embeddings/cxr_densenet121_chex", ("dicom_id",),
              _CXR_EMBEDDING_GROUPS, "The same embeddings keyed by image (entity frames that name the image)."),
    *(FeatureView(
        name=f"cxr_pairs_{task}", kind="latest", source=f"features/cxr_pairs_{task}",
        entity_keys=("stay_id",), id_columns=("subject_id", "hadm_id"), row_ids=("dicom_id", "study_id"),
        asof="study_datetime", order_by=("dicom_id",), ignore=("intime", "prediction_time", "has_cxr"),
        groups=(FeatureGroup("view_position", "DICOM ViewPosition of the paired image", "VARCHAR",
                             columns=("view_position",)),),
        description=f"MedFuse pairing of {cohort} stays to chest X-rays: the latest image (AP by default) in "
                    f"the {window} window; stays without one (PARTIAL, has_cxr false) give nulls. Its rows "
                    f"(stay_id, dicom_id, prediction_time) are the entity frame of the *_by_image views.",
    ) for task, cohort, window in (("ihm", "cohorts.ihm_48h", "intime -> intime + 48 h"),
                                   ("pheno", "cohorts.phenotyping", "intime -> outtime"))),
    FeatureView(
        name="notes_clinicalbert_notes", kind="latest", source="embeddings/notes_clinicalbert_notes",
        entity_keys=("subject_id",), id_columns=("hadm_id",), row_ids=("note_id",), asof="available_time",
        order_by=("note_id",), weights_column="weights_source",
        groups=(
            FeatureGroup("note_type", "note type (discharge / radiology)", "VARCHAR", columns=("note_type",)),
            FeatureGroup("source", "note source table", "VARCHAR", columns=("source",)),
            FeatureGroup("n_chunks", "number of <= 512-wordpiece chunks pooled", "INTEGER", columns=("n_chunks",)),
            FeatureGroup("embedding", "Bio_ClinicalBERT embedding pooled over the note's chunks", "FLOAT[]",
                         columns=("embedding",), shape=(768,)),
        ),
        description="Bio_ClinicalBERT embedding per note. Retrieval: the subject's latest note with "
                    "available_time (storetime, else charttime; a discharge summary from the end of its charted day) <= prediction time.",
    ),
    FeatureView(
        name="notes_clinicalbert", kind="sequence", source="embeddings/notes_clinicalbert",
        entity_keys=("subject_id",), id_columns=("hadm_id",), row_ids=("note_id", "chunk_index"),
        asof="available_time", order_by=("available_time", "note_id", "chunk_index"), weights_column="weights_source",
        groups=(
            FeatureGroup("note_type", "note type (discharge / radiology)", "VARCHAR", columns=("note_type",)),
            FeatureGroup("source", "note source table", "VARCHAR", columns=("source",)),
            FeatureGroup("n_wordpieces", "wordpieces in the chunk (<= 512)", "INTEGER", columns=("n_wordpieces",)),
            FeatureGroup("embedding", "Bio_ClinicalBERT embedding of the chunk", "FLOAT[]", columns=("embedding",),
                         shape=(768,)),
        ),
        description="Bio_ClinicalBERT embedding per note chunk; one entity = a subject's chunks. Retrieval: "
                    "every chunk with available_time (storetime, else charttime; a discharge summary from the end of its charted day) <= prediction time, in (available_time, note_id, chunk_index) order.",
    ),
    FeatureView(
        name="note_chunks", kind="sequence", source="features/note_chunks",
        entity_keys=("subject_id",), id_columns=("hadm_id",), row_ids=("note_id", "chunk_index"),
        asof="available_time", order_by=("available_time", "note_id", "chunk_index"),
        groups=(
            FeatureGroup("note_type", "note type (discharge / radiology)", "VARCHAR", columns=("note_type",)),
            FeatureGroup("source", "note source table", "VARCHAR", columns=("source",)),
            FeatureGroup("n_wordpieces", "wordpieces in the chunk (<= 512)", "INTEGER", columns=("n_wordpieces",)),
            FeatureGroup("text", "chunk text, split on line boundaries", "VARCHAR", columns=("text",)),
        ),
        description="Discharge and radiology notes split into <= 512-wordpiece chunks; one entity = a "
                    "subject's chunks. Retrieval: every chunk with available_time (storetime, else charttime; a discharge summary from the end of its charted day) <= prediction time, in "
                    "(available_time, note_id, chunk_index) order (use --ttl to keep only recent notes).",
    ),
    FeatureView(
        name="haim", kind="latest", source="features/haim",
        entity_keys=("sample_id",), id_columns=("subject_id", "hadm_id", "stay_id", "dicom_id", "study_id"),
        asof="prediction_time", ignore=("asof_time",),
        weights_from=("cxr_densenet121_chex", "notes_clinicalbert_notes"),
        groups=tuple(FeatureGroup(prefix, text, "FLOAT", pattern=rf"^{prefix}_\d+$", expected=n, stack=True)
                     for prefix, text, n in _HAIM_GROUPS)
        + tuple(FeatureGroup(prefix, text, "FLOAT", pattern=rf"^{prefix}_\d+$", expected=n, stack=True, optional=True)
                for prefix, text, n in _HAIM_OPTIONAL)
        + (FeatureGroup("flags", "availability flags and input counts (has_cxr_embedding, prior_cxr_count, "
                                 "chart_event_count, <type>_note_count, ...)", "INTEGER",
                        pattern=r"^has_|_count$", expected=8, optional=True, metadata=True),),
        description="HAIM feature table, one row per cohorts.haim_samples sample; the row's as-of is the "
                    "sample's prediction time (every input is strictly earlier; the table's own asof_time, "
                    "the latest input time, is checked by the HAIM tests). Each modality group is returned "
                    "as one FLOAT[n] vector.",
    ),
    _label_view("labels_ihm", "cohorts/ihm_48h", ("stay_id",), ("subject_id", "hadm_id"),
                [FeatureGroup("y_true", "in-hospital mortality (MedFuse rule: dod or deathtime within "
                                        "[admittime, dischtime])", "TINYINT", columns=("y_true",))],
                "In-hospital mortality label of each cohorts.ihm_48h stay (prediction time intime + 48 h).",
                ignore=("intime", "prediction_time")),
    _label_view("labels_pheno", "cohorts/phenotyping", ("stay_id",), ("subject_id", "hadm_id"),
                [FeatureGroup("phenotypes", "the 25 HCUP CCS phenotypes of the admission's diagnoses (0/1)",
                              "TINYINT", columns=phenotype_names())],
                "Phenotype labels of each cohorts.phenotyping stay (prediction time: ICU discharge).",
                ignore=("intime", "outtime", "prediction_time", "period_length")),
    _label_view("labels_los", "cohorts/los", ("stay_id",), ("subject_id", "hadm_id"),
                [FeatureGroup("los_hospital_days", "hospital length of stay, days", "DOUBLE",
                              columns=("los_hospital_days",)),
                 FeatureGroup("los_icu_days", "ICU length of stay, days", "DOUBLE", columns=("los_icu_days",)),
                 FeatureGroup("hospital_expire_flag", "died in hospital (admissions.hospital_expire_flag)",
                              "INTEGER", columns=("hospital_expire_flag",)),
                 FeatureGroup("mortality_inhospital", "in-hospital mortality (MedFuse rule)", "INTEGER",
                              columns=("mortality_inhospital",))],
                "Length-of-stay and mortality outcomes of each cohorts.los stay.",
                ignore=("intime", "outtime", "admittime", "dischtime")),
    _label_view("labels_haim", "cohorts/haim_samples", ("sample_id",),
                ("subject_id", "hadm_id", "stay_id", "dicom_id", "study_id"),
                [FeatureGroup("tasks_48h", "HAIM 48-h mortality (null: alive and discharged within 48 h) and "
                                           "48-h discharge", "TINYINT", columns=("mortality_48h", "discharge_48h")),
                 FeatureGroup("length_of_stay", "hours from the image to discharge (HAIM img_length_of_stay)",
                              "DOUBLE", columns=("img_length_of_stay_hours",)),
                 FeatureGroup("death_status", "died in hospital (discharge_location DIED)", "INTEGER",
                              columns=("death_status",)),
                 FeatureGroup("chexpert", "the 14 CheXpert labels of the image's study (1, 0, -1, null)", "DOUBLE",
                              columns=CHEXPERT_LABELS)],
                "HAIM sample labels (one row per chest X-ray inside an admission; prediction time = image time).",
                ignore=("prediction_time",)),
    _label_view("labels_chexpert", "raw/cxr_chexpert", ("study_id",), ("subject_id",),
                [FeatureGroup("chexpert", "the 14 CheXpert labels: 1 positive, 0 negative, -1 uncertain, "
                                          "null not mentioned", "DOUBLE", columns=CHEXPERT_LABELS)],
                "CheXpert labels of each MIMIC-CXR study (from the radiology report)."),
)

REGISTRY = Registry(VIEWS)

# Standard training frames of the project's tasks: entity cohort -> views (used by audit_store).
TASK_FRAMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ihm": ("cohorts/ihm_48h", ("timeseries_ihm", "cxr_pairs_ihm", "cxr_densenet121_chex", "labels_ihm")),
    "pheno": ("cohorts/phenotyping", ("timeseries_pheno", "cxr_pairs_pheno", "cxr_densenet121_chex", "labels_pheno")),
    "haim": ("cohorts/haim_samples", ("haim", "labels_haim")),
}


def get_view(name: str, registry: Registry | None = None) -> FeatureView:
    return (registry or REGISTRY).get(name)


# ---------------------------------------------------------------- resolution against the lake


def _has_parquet(table_dir: Path) -> bool:
    return table_dir.is_dir() and next(table_dir.rglob("*.parquet"), None) is not None


def resolve(view: FeatureView, home: Home, con: duckdb.DuckDBPyConnection | None = None, *,
            stats: bool = False, registry: Registry | None = None) -> ResolvedView:
    """Check `view` against its table: column presence, group membership; with `stats`, row count and
    weights_source. A missing table gives status 'not materialised' and the declared columns."""
    table_dir = view.table_dir(home)
    declared = {g.name: g.columns for g in view.groups}
    if not _has_parquet(table_dir):
        return ResolvedView(view, NOT_MATERIALISED, {}, declared)
    own = con is None
    con = con or connect()
    try:
        glob = parquet_glob(table_dir)
        hive = any(p.name.startswith("shard=") for p in table_dir.iterdir())
        scan = f"read_parquet({sql_str(glob)}, hive_partitioning = {'true' if hive else 'false'}, union_by_name = true)"
        described = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
        columns = {row[0]: row[1] for row in described}
        problems: list[str] = []
        for role, names in (("entity key", view.entity_keys), ("id column", view.id_columns),
                            ("row id", view.row_ids), ("order_by column", view.order_by),
                            ("as-of column", (view.asof,) if view.asof else ())):
            problems += [f"{view.source_table} has no {role} {c!r}" for c in names if c not in columns]
        groups: dict[str, tuple[str, ...]] = {}
        taken = set(view.structural)
        for group in view.groups:
            if group.columns:
                missing = [c for c in group.columns if c not in columns]
                problems += [f"{view.source_table} has no column {c!r} (feature group {group.name})" for c in missing]
                groups[group.name] = tuple(c for c in group.columns if c in columns)
            else:
                rx = re.compile(group.pattern)
                groups[group.name] = tuple(c for c in columns if c not in taken and rx.search(c))
                if not groups[group.name] and not group.optional:
                    problems.append(f"{view.source_table}: feature group {group.name} (pattern "
                                    f"{group.pattern!r}) matches no column")
            taken |= set(groups[group.name])
        rows = weights = None
        if stats:
            rows = con.execute(f"SELECT count(*) FROM {scan}").fetchall()[0][0]
            if view.weights_column and view.weights_column in columns:
                found = con.execute(f"SELECT DISTINCT CAST({quote(view.weights_column)} AS VARCHAR) FROM {scan} "
                                    f"WHERE {quote(view.weights_column)} IS NOT NULL ORDER BY 1").fetchall()
                weights = ", ".join(r[0] for r in found) or None
        resolved = ResolvedView(view, MATERIALISED, columns, groups, tuple(problems), glob, hive, rows, weights)
    finally:
        if own:
            con.close()
    if stats and view.weights_from and resolved.weights_source is None:
        inherited = []
        for name in view.weights_from:
            upstream = (registry or REGISTRY).views.get(name)
            if upstream is not None:
                value = resolve(upstream, home, stats=True, registry=registry).weights_source
                inherited += [w.strip() for w in (value or "").split(",") if w.strip()]
        if inherited:
            resolved = dataclasses.replace(resolved, weights_source=", ".join(dict.fromkeys(inherited)))
    return resolved


def resolve_all(home: Home, registry: Registry | None = None, *, stats: bool = True) -> list[ResolvedView]:
    registry = registry or REGISTRY
    con = connect()
    try:
        return [resolve(v, home, con, stats=stats, registry=registry) for v in registry]
    finally:
        con.close()


# ---------------------------------------------------------------- store.registry


REGISTRY_SCHEMA = pa.schema([
    ("view", pa.string()), ("kind", pa.string()), ("description", pa.string()),
    ("source_asset", pa.string()), ("source_table", pa.string()), ("store_view", pa.string()),
    ("entity_keys", pa.list_(pa.string())), ("id_columns", pa.list_(pa.string())),
    ("row_ids", pa.list_(pa.string())), ("asof_column", pa.string()), ("order_by", pa.list_(pa.string())),
    ("code_version", pa.string()), ("fingerprint", pa.string()), ("weights_source", pa.string()),
    ("status", pa.string()), ("rows", pa.int64()),
    ("feature_group", pa.string()), ("group_description", pa.string()),
    ("columns", pa.list_(pa.string())), ("column_pattern", pa.string()), ("n_columns", pa.int32()),
    ("dtype", pa.string()), ("shape", pa.list_(pa.int32())), ("stacked", pa.bool_()), ("metadata", pa.bool_()),
    ("frame_columns", pa.string()), ("problems", pa.list_(pa.string())),
])


def _frame_columns(view: FeatureView, group: FeatureGroup, columns: Sequence[str]) -> str:
    """How the group appears in a training frame (compact: a name, a list, or a pattern)."""
    if group.stack:
        return view.out(group.name) + (" (list of FLOAT[n] per step)" if view.kind == "sequence" else " (FLOAT[n])")
    suffix = " (list per step)" if view.kind == "sequence" else ""
    if len(columns) <= 4:
        return ", ".join(view.out(c) for c in columns) + suffix
    return view.out("<column>") + suffix


def registry_rows(home: Home, registry: Registry | None = None) -> list[dict]:
    """One dict per (view, feature group), REGISTRY_SCHEMA fields."""
    out = []
    for rv in resolve_all(home, registry):
        v = rv.view
        for group in v.groups:
            cols = rv.groups.get(group.name, group.columns)
            n = len(cols) if rv.materialised or group.columns else group.expected
            out.append({
                "view": v.name, "kind": v.kind, "description": v.description,
                "source_asset": v.source, "source_table": v.source_table,
                "store_view": v.store_view if rv.materialised else None,
                "entity_keys": list(v.entity_keys), "id_columns": list(v.id_columns), "row_ids": list(v.row_ids),
                "asof_column": v.asof, "order_by": list(v.order_by), "code_version": v.code_version,
                "fingerprint": v.fingerprint, "weights_source": rv.weights_source,
                "status": rv.status, "rows": rv.rows,
                "feature_group": group.name, "group_description": group.description,
                "columns": list(group.columns) if group.columns else None,
                "column_pattern": group.pattern, "n_columns": n, "dtype": rv.group_dtype(group),
                "shape": list(group.shape) or None, "stacked": group.stack, "metadata": group.metadata,
                "frame_columns": _frame_columns(v, group, cols or (group.name,)),
                "problems": list(rv.problems),
            })
    return out


def registry_table(home: Home, registry: Registry | None = None) -> pa.Table:
    return pa.Table.from_pylist(registry_rows(home, registry), schema=REGISTRY_SCHEMA)


def store_view_sql(rv: ResolvedView) -> str:
    """The standardised SELECT behind `store.<view>`: entity keys, ids, `asof_time`, then the features."""
    v = rv.view
    head = [c for c in dict.fromkeys([*v.entity_keys, *v.id_columns, *v.row_ids, *v.order_by])
            if c in rv.table_columns and c != v.asof]
    parts = [quote(c) for c in head]
    if v.asof:
        parts.append(f"CAST({quote(v.asof)} AS TIMESTAMP) AS asof_time")
    feats = [c for g in v.groups for c in rv.groups[g.name] if c not in head and c != v.asof]
    parts += [quote(c) for c in dict.fromkeys(feats)]
    return f"SELECT {', '.join(parts)} FROM {rv.scan_sql()}"


def write_registry(home: Home, registry: Registry | None = None) -> int:
    """Write `lake/store/registry` and publish `store.registry`; (re)create `store.<view>` for every
    materialised view and drop the ones whose table is gone. Returns the registry's row count."""
    registry = registry or REGISTRY
    table = registry_table(home, registry)
    rows = write_arrow(home, "store", "registry", table)
    resolved = {rv.view.name: rv for rv in resolve_all(home, registry, stats=False)}
    with catalog(home) as con:
        create_view(con, "store", "registry", home.table_dir("store", "registry"))
        for name, rv in resolved.items():
            if rv.materialised and not rv.problems:
                con.execute(f"CREATE OR REPLACE VIEW store.{quote(name)} AS {store_view_sql(rv)}")
            else:
                con.execute(f"DROP VIEW IF EXISTS store.{quote(name)}")
    return rows


def registry_markdown(home: Home, registry: Registry | None = None) -> str:
    """The registry as a Markdown table (Dagster metadata): one line per view, groups summarised."""
    lines = ["| view | kind | entity keys | as-of | features | source asset | code | weights_source | status | rows |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for rv in resolve_all(home, registry):
        v = rv.view
        feats = []
        for g in v.groups:
            cols = rv.groups.get(g.name) or g.columns
            n = len(cols) if (rv.materialised or g.columns) else g.expected
            shape = "x".join(map(str, g.shape))
            label = g.name if (len(cols) != 1 or cols[0] != g.name) else cols[0]
            if g.pattern and not rv.materialised:
                label += f" (`{g.pattern}`)"
            feats.append(f"{label}: {'?' if n is None else n}{' x ' + shape if shape else ''} {rv.group_dtype(g)}")
        status = rv.status + (f" ({rv.problems[0]})" if rv.problems else "")
        rows = "" if rv.rows is None else f"{rv.rows:,}"
        cells = [f"`{v.name}`", v.kind, ", ".join(v.entity_keys), v.asof or "(by key)",
                 "; ".join(feats), f"`{v.source}`", v.code_version, rv.weights_source or "", status, rows]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def materialised_views(home: Home, registry: Registry | None = None) -> list[str]:
    return [rv.view.name for rv in resolve_all(home, registry, stats=False) if rv.materialised]


def read_registry(home: Home) -> pa.Table:
    """`store.registry` as written by `write_registry` (for tests and tools without the catalog)."""
    table_dir = home.table_dir("store", "registry")
    if not _has_parquet(table_dir):
        raise ClinfuseError(f"{home.root}: store.registry not written yet (features.store.write_registry)")
    con = engine(home)
    try:
        return con.sql(f"SELECT * FROM read_parquet({sql_str(parquet_glob(table_dir))})").to_arrow_table()
    finally:
        con.close()


__all__ = ["ASOF_SUFFIX", "KINDS", "MATERIALISED", "NOT_MATERIALISED", "REGISTRY", "REGISTRY_SCHEMA", "TASK_FRAMES",
           "VIEWS", "FeatureGroup", "FeatureView", "Registry", "ResolvedView", "get_view", "quote",
           "registry_markdown", "registry_rows", "registry_table", "resolve", "resolve_all", "store_view_sql",
           "write_registry", "read_registry", "materialised_views"]
