"""The HAIM feature layout: signals, statistics, column prefixes and their order (reference-pipelines.md §4.3–4.7).

Column order of `features.haim` (HAIM's fusion-CSV order, `1_2-Generate Embeddings.py`):

    keys · flags · de_0..5 · vd_0..1023 · vp_0..17 · vmd_0..1023 · vmp_0..17
         · ts_ce_0..98 · ts_le_0..241 · ts_pe_0..109 · <note prefix>_0..767 per note type (in the order given)

Time-series columns are numbered signal-major: `ts_ce_{11*s + k}` is statistic k (STATISTICS order) of chart
signal s (CHART_SIGNALS order); likewise for labs and procedures. Demographics: de_0 anchor_age, de_1..5 the
integer codes of DEMOGRAPHIC_CODES.
"""

from __future__ import annotations

from typing import Literal

Mode = Literal["fixed", "faithful"]
MODES: tuple[str, ...] = ("fixed", "faithful")

# ---- time series (reference §4.5): exact d_items / d_labitems labels, HAIM's order
CHART_SIGNALS: tuple[str, ...] = (
    "Heart Rate", "Non Invasive Blood Pressure systolic", "Non Invasive Blood Pressure diastolic",
    "Non Invasive Blood Pressure mean", "Respiratory Rate", "O2 saturation pulseoxymetry",
    "GCS - Verbal Response", "GCS - Eye Opening", "GCS - Motor Response",
)
# HAIM lists 'Platelet Count' twice (12th and 21st); its output dict keeps the first position -> 22 labels.
_HAIM_LAB_LIST: tuple[str, ...] = (
    "Glucose", "Potassium", "Sodium", "Chloride", "Creatinine", "Urea Nitrogen", "Bicarbonate", "Anion Gap",
    "Hemoglobin", "Hematocrit", "Magnesium", "Platelet Count", "Phosphate", "White Blood Cells",
    "Calcium, Total", "MCH", "Red Blood Cells", "MCHC", "MCV", "RDW", "Platelet Count", "Neutrophils",
    "Vancomycin",
)
LAB_SIGNALS: tuple[str, ...] = tuple(dict.fromkeys(_HAIM_LAB_LIST))
PROCEDURE_SIGNALS: tuple[str, ...] = (
    "Foley Catheter", "PICC Line", "Intubation", "Peritoneal Dialysis", "Bronchoscopy", "EEG",
    "Dialysis - CRRT", "Dialysis Catheter", "Chest Tube Removed", "Hemodialysis",
)
# source code -> (column prefix, signals)
TS_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ce": ("ts_ce", CHART_SIGNALS),
    "le": ("ts_le", LAB_SIGNALS),
    "pe": ("ts_pe", PROCEDURE_SIGNALS),
}
STATISTICS: tuple[str, ...] = (
    "max", "min", "mean", "variance", "meandiff", "meanabsdiff", "maxdiff", "sumabsdiff", "diff", "npeaks", "trend",
)

# ---- demographics (reference §4.4): anchor_age, then codes of these (table, column)
DEMOGRAPHIC_CODES: tuple[tuple[str, str], ...] = (
    ("hosp_patients", "gender"), ("hosp_admissions", "race"), ("hosp_admissions", "marital_status"),
    ("hosp_admissions", "language"), ("hosp_admissions", "insurance"),
)

# ---- vision (reference §4.7)
DENSE_DIM = 1024
PATHOLOGIES: tuple[str, ...] = (  # torchxrayvision default_pathologies
    "Atelectasis", "Consolidation", "Infiltration", "Pneumothorax", "Edema", "Emphysema", "Fibrosis", "Effusion",
    "Pneumonia", "Pleural_Thickening", "Cardiomegaly", "Nodule", "Mass", "Hernia", "Lung Lesion", "Fracture",
    "Lung Opacity", "Enlarged Cardiomediastinum",
)
PATHOLOGY_DIM = len(PATHOLOGIES)

# ---- notes (reference §4.6): embeddings.notes_clinicalbert_notes `source` -> column prefix
NOTE_DIM = 768
NOTE_PREFIXES: dict[str, str] = {"radiology": "n_rad", "discharge": "n_dis", "ecg": "n_ecg", "echo": "n_ech"}
DEFAULT_NOTE_TYPES: tuple[str, ...] = ("radiology", "discharge")

HAIM_DIMENSIONS: dict[str, int] = {
    "demographics": 6,
    "ts_ce": len(CHART_SIGNALS) * len(STATISTICS),  # 99
    "ts_le": len(LAB_SIGNALS) * len(STATISTICS),  # 242
    "ts_pe": len(PROCEDURE_SIGNALS) * len(STATISTICS),  # 110
    "vision": 2 * (DENSE_DIM + PATHOLOGY_DIM),  # 2084
    "notes": NOTE_DIM,  # per note type
}

KEY_COLUMNS: tuple[str, ...] = (
    "sample_id", "subject_id", "hadm_id", "stay_id", "dicom_id", "study_id", "prediction_time", "asof_time",
)
# Flags and counts; none starts with a feature prefix (de_, ts_, vd_, vp_, vmd_, vmp_, n_).
FLAG_COLUMNS_BASE: tuple[str, ...] = (
    "has_cxr_embedding", "has_prior_cxr", "prior_cxr_count",
    "chart_event_count", "lab_event_count", "procedure_event_count",
)


def note_prefix(note_type: str) -> str:
    """Column prefix of a note type: HAIM's n_rad/n_ecg/n_ech, n_dis for discharge, else n_<type>."""
    return NOTE_PREFIXES.get(note_type, f"n_{note_type}")


def note_count_column(note_type: str) -> str:
    return f"{note_type}_note_count"


def flag_columns(note_types: tuple[str, ...] = DEFAULT_NOTE_TYPES) -> list[str]:
    return [*FLAG_COLUMNS_BASE, *(note_count_column(t) for t in note_types)]


def block_columns(note_types: tuple[str, ...] = DEFAULT_NOTE_TYPES) -> dict[str, list[str]]:
    """Feature blocks in table order: block name -> column names."""
    blocks = {
        "de": [f"de_{i}" for i in range(HAIM_DIMENSIONS["demographics"])],
        "vd": [f"vd_{i}" for i in range(DENSE_DIM)],
        "vp": [f"vp_{i}" for i in range(PATHOLOGY_DIM)],
        "vmd": [f"vmd_{i}" for i in range(DENSE_DIM)],
        "vmp": [f"vmp_{i}" for i in range(PATHOLOGY_DIM)],
    }
    for prefix, signals in TS_SOURCES.values():
        blocks[prefix] = [f"{prefix}_{i}" for i in range(len(signals) * len(STATISTICS))]
    for t in note_types:
        blocks[note_prefix(t)] = [f"{note_prefix(t)}_{i}" for i in range(NOTE_DIM)]
    return blocks


def feature_columns(note_types: tuple[str, ...] = DEFAULT_NOTE_TYPES) -> list[str]:
    return [c for cols in block_columns(note_types).values() for c in cols]


def ts_column_names(source: str, readable: bool = False) -> list[str]:
    """ts_* column names of a source ('ce', 'le', 'pe'); `readable` gives '<signal>_<stat>' (HAIM's own names)."""
    prefix, signals = TS_SOURCES[source]
    if readable:
        return [f"{s}_{k}" for s in signals for k in STATISTICS]
    return [f"{prefix}_{i}" for i in range(len(signals) * len(STATISTICS))]


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"HAIM mode must be one of {MODES}, got {mode!r}")
