"""The project's feature views, declared in code: 17 views over the lake's feature, embedding and cohort
tables (see model.py for what a view, a feature group and a kind are)."""

from __future__ import annotations

from features.mimic3_benchmarks import phenotype_names
from features.store.model import FeatureGroup, FeatureView, Registry
from features.timeseries.layout import COLUMNS as TIMESERIES_COLUMNS
from warehouse.tables import CHEXPERT_LABELS

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


def get_view(name: str, registry: Registry | None = None) -> FeatureView:
    return (registry or REGISTRY).get(name)
