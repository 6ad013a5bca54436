"""`frames.m3tlm`: the inputs and labels of M3T-LM (models-reference.md part A), one row per admission.

Columns (rows ordered by subject_id, hadm_id):

    hadm_id, subject_id, admittime, prediction_time, split            (split: features.splits, by subject)
    numeric      DOUBLE[26]   NUMERIC_FEATURES in order, NULL = not measured by the prediction time
    onehot       FLOAT[28]    ONEHOT_CATEGORIES flattened in order (one 1 per field)
    ethnicity    TINYINT      index into ETHNICITY_GROUPS (the paper's Embedding(6, 32))
    dx_tokens    VARCHAR[]    <= dx_length lower-case word tokens of ICD diagnosis long titles
    px_tokens    VARCHAR[]    <= px_length tokens of ICD procedure long titles
    has_cxr, dicom_id, study_id, cxr_time   the latest frontal chest X-ray by the prediction time
    sex, age, race            subgroup columns for the reports (age is also numeric[0])
    los_days     DOUBLE       remaining LoS from the prediction time (fixed) or total LoS (faithful)
    mortality    TINYINT      admissions.hospital_expire_flag
    frame_mode, window_hours  how the frame was built (constant columns, so a model can check them)

`mode: fixed` (default) is the clean reading of models-reference A6: prediction time admittime + 24 h (or
48 h), admissions still in hospital then, events and images up to it, titles from the patient's earlier
admissions only. `mode: faithful` reproduces the paper's inputs, which leak the outcome: the whole
admission's events and images, the same admission's (discharge-coded) titles, total LoS as the label.
Tokens stay words here; the vocabulary is built on the training split by the model (models.m3tlm.data).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa

from warehouse.lake import ClinfuseError, Home

SQL_PATH = Path(__file__).with_name("frame.sql")
TASK = "m3tlm"
MODES = ("fixed", "faithful")
WINDOWS = (24, 48)

# The project's own 26-value numeric set (models-reference A6 #13): age, the paper's 10 labs (Table II),
# 5 further routine chemistry labs, 8 vital-sign aggregates and 2 counts of the patient's history (a
# stand-in for the paper's ICD-chapter counts). (name, source, itemid, aggregation over the window)
NUMERIC_FEATURES: tuple[tuple[str, str, int, str], ...] = (
    ("age", "derived", 0, "value"),
    ("wbc", "lab", 51301, "last"),
    ("neutrophils", "lab", 51256, "last"),
    ("monocytes", "lab", 51254, "last"),
    ("lymphocytes", "lab", 51244, "last"),
    ("platelets", "lab", 51265, "last"),
    ("hemoglobin", "lab", 51222, "last"),
    ("glucose", "lab", 50931, "last"),
    ("chloride", "lab", 50902, "last"),
    ("creatinine", "lab", 50912, "last"),
    ("bun", "lab", 51006, "last"),
    ("sodium", "lab", 50983, "last"),
    ("potassium", "lab", 50971, "last"),
    ("bicarbonate", "lab", 50882, "last"),
    ("anion_gap", "lab", 50868, "last"),
    ("lactate", "lab", 50813, "max"),
    ("heart_rate_mean", "chart", 220045, "mean"),
    ("heart_rate_max", "chart", 220045, "max"),
    ("sbp_mean", "chart", 220179, "mean"),
    ("sbp_min", "chart", 220179, "min"),
    ("resp_rate_mean", "chart", 220210, "mean"),
    ("resp_rate_max", "chart", 220210, "max"),
    ("spo2_min", "chart", 220277, "min"),
    ("temperature_f_max", "chart", 223761, "max"),
    ("prior_admissions", "derived", 0, "value"),
    ("prior_diagnosis_codes", "derived", 0, "value"),
)
NUMERIC_NAMES: tuple[str, ...] = tuple(f[0] for f in NUMERIC_FEATURES)

# The 28-wide one-hot block (Table I's `ohe`): fixed category lists (MIMIC-IV v1.0-v3.1 values), so the
# width never depends on the data; '__other__' takes anything else, NULL included.
ONEHOT_CATEGORIES: dict[str, tuple[str, ...]] = {
    "admission_type": ("AMBULATORY OBSERVATION", "DIRECT EMER.", "DIRECT OBSERVATION", "ELECTIVE",
                       "EU OBSERVATION", "EW EMER.", "OBSERVATION ADMIT", "SURGICAL SAME DAY ADMISSION", "URGENT",
                       "__other__"),
    "admission_location": ("AMBULATORY SURGERY TRANSFER", "CLINIC REFERRAL", "EMERGENCY ROOM",
                           "INTERNAL TRANSFER TO OR FROM PSYCH", "PACU", "PHYSICIAN REFERRAL", "PROCEDURE SITE",
                           "TRANSFER FROM HOSPITAL", "TRANSFER FROM SKILLED NURSING FACILITY",
                           "WALK-IN/SELF REFERRAL", "__other__"),
    "insurance": ("MEDICAID", "MEDICARE", "PRIVATE", "__other__"),
    "gender": ("F", "M", "__other__"),
}
ONEHOT_NAMES: tuple[str, ...] = tuple(f"{field}={value}" for field, values in ONEHOT_CATEGORIES.items()
                                      for value in values)
ETHNICITY_GROUPS: tuple[str, ...] = ("WHITE", "BLACK", "HISPANIC", "ASIAN", "OTHER", "UNKNOWN")

INPUTS: tuple[str, ...] = (
    "raw/hosp_admissions", "raw/hosp_patients", "raw/hosp_labevents", "raw/icu_chartevents",
    "raw/hosp_diagnoses_icd", "raw/hosp_d_icd_diagnoses", "raw/hosp_procedures_icd", "raw/hosp_d_icd_procedures",
    "features/cxr_tensors", "features/splits",
)
DESCRIPTION = (
    "M3T-LM's frame: one row per adult admission still in hospital at its prediction time (admittime + 24 h by "
    "default), 26 numeric values from events up to that time, a 28-wide one-hot block, an ethnicity index, "
    "ICD title tokens of the patient's earlier admissions, the latest frontal chest X-ray by then, remaining "
    "LoS (days) and in-hospital mortality. mode faithful = the paper's leaky whole-admission inputs.")


@dataclass(frozen=True)
class FrameSettings:
    mode: str = "fixed"          # fixed | faithful
    window_hours: int = 24       # fixed only: prediction time = admittime + window (24 | 48)
    dx_length: int = 23          # Table I's padded lengths
    px_length: int = 18
    image_lookback_hours: int = 24

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ClinfuseError(f"frames/m3tlm: mode {self.mode!r}: expected one of {', '.join(MODES)}")
        if self.mode == "fixed" and int(self.window_hours) not in WINDOWS:
            raise ClinfuseError(f"frames/m3tlm: window_hours {self.window_hours}: expected 24 or 48")
        for name in ("dx_length", "px_length"):
            if int(getattr(self, name)) < 1:
                raise ClinfuseError(f"frames/m3tlm: {name} must be >= 1, got {getattr(self, name)}")
        if int(self.image_lookback_hours) < 0:
            raise ClinfuseError(f"frames/m3tlm: image_lookback_hours must be >= 0, got {self.image_lookback_hours}")

    @property
    def whole_admission(self) -> bool:
        return self.mode == "faithful"

    def as_dict(self) -> dict:
        out = asdict(self)
        if self.whole_admission:
            out["window_hours"] = None
        return out

    def parameters(self) -> dict:
        return {"whole_admission": self.whole_admission, "window_hours": int(self.window_hours),
                "same_admission_titles": self.mode == "faithful", "dx_length": int(self.dx_length),
                "px_length": int(self.px_length), "image_lookback_hours": int(self.image_lookback_hours)}


def describe_frame() -> str:
    """The header comment of frame.sql (its rules), for the asset's description and metadata."""
    lines = []
    for line in SQL_PATH.read_text().splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[3:] if line.startswith("-- ") else line[2:])
    return "\n".join(lines).strip()


def _specs() -> tuple[pa.Table, pa.Table]:
    numeric = pa.table({
        "pos": pa.array(range(len(NUMERIC_FEATURES)), pa.int32()),
        "name": [f[0] for f in NUMERIC_FEATURES], "source": [f[1] for f in NUMERIC_FEATURES],
        "itemid": pa.array([f[2] for f in NUMERIC_FEATURES], pa.int32()), "agg": [f[3] for f in NUMERIC_FEATURES],
    })
    fields = [(field, value) for field, values in ONEHOT_CATEGORIES.items() for value in values]
    onehot = pa.table({"pos": pa.array(range(len(fields)), pa.int32()),
                       "field": [f for f, _ in fields], "value": [v for _, v in fields]})
    return numeric, onehot


def check_inputs(home: Home) -> None:
    for source in INPUTS:
        layer, name = source.split("/")
        table_dir = home.table_dir(layer, name)
        if not table_dir.is_dir() or next(table_dir.rglob("*.parquet"), None) is None:
            raise ClinfuseError(f"frames/m3tlm reads {layer}.{name}, which is not materialised: "
                                f"materialise {source} first (e.g. clinfuse run --select '+frames/m3tlm')")


def build_frame(home: Home, settings: FrameSettings | None = None) -> pa.Table:
    """The frame as an Arrow table (see the module docstring); nothing is written."""
    from warehouse.lake import open_lake

    settings = settings or FrameSettings()
    check_inputs(home)
    con = open_lake(home)
    try:
        numeric, onehot = _specs()
        con.register("numeric_spec", numeric)
        con.register("onehot_spec", onehot)
        try:
            table = con.sql(SQL_PATH.read_text(), params=settings.parameters()).to_arrow_table()
        except Exception as exc:  # noqa: BLE001 - DuckDB raises many types; the user needs one line
            raise ClinfuseError(f"{SQL_PATH.name}: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    n = table.num_rows
    table = table.append_column("frame_mode", pa.array([settings.mode] * n, pa.string()))
    window = None if settings.whole_admission else int(settings.window_hours)
    return table.append_column("window_hours", pa.array([window] * n, pa.int32()))


def frame_summary(table: pa.Table) -> dict:
    """Rows, images, deaths and LoS per split: the frame asset's metadata."""
    import polars as pl

    frame = pl.from_arrow(table.select(["split", "has_cxr", "mortality", "los_days"]))
    out: dict = {"rows": frame.height}
    for split in ("train", "val", "test"):
        part = frame.filter(pl.col("split") == split)
        out[f"{split}_rows"] = part.height
        out[f"{split}_with_cxr"] = int(part["has_cxr"].sum() or 0)
        out[f"{split}_deaths"] = int(part["mortality"].cast(pl.Int64).sum() or 0)
    out["los_days_median"] = float(frame["los_days"].median()) if frame.height else float("nan")
    return out


def write_frame(home: Home, settings: FrameSettings | None = None) -> dict:
    """Build `frames.m3tlm`, write it atomically, publish its view; its summary with the content fingerprint."""
    from features.frames import frame_fingerprint
    from warehouse.lake import publish, write_arrow

    settings = settings or FrameSettings()
    table = build_frame(home, settings)
    summary = frame_summary(table)
    if summary["train_rows"] == 0:
        raise ClinfuseError(f"frames/m3tlm: no admission in the training split ({summary['rows']} rows in all; "
                            f"mode {settings.mode}, window {settings.window_hours} h)")
    write_arrow(home, "frames", TASK, table)
    publish(home, "frames", TASK)
    summary["fingerprint"] = frame_fingerprint(home, TASK)
    summary["settings"] = settings.as_dict()
    return summary


def load_frame(home: Home) -> pa.Table:
    from features.frames import load_task_frame

    return load_task_frame(home, TASK)
