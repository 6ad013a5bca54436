"""`frames.m3h`: M3H's training frame (models-reference.md C1, C3), one row per HAIM sample.

    sample_id, subject_id, hadm_id, stay_id, dicom_id, prediction_time, split     (split: features.splits, by subject)
    has_tabular, has_time_series, has_vision, has_language                          (modality present)
    de_*, ts_ce_*, ts_le_*, ts_pe_*, vd_*, vp_*, vmd_*, vmp_*, n_<note>_*           (features.haim, NULL where absent)
    sex, age, race                                                                   (subgroups only, never inputs)
    <task labels>                                                                    (cohorts.m3h_tasks, NULL = none)

Modalities (M3H's four, HAIM's dimensions): tabular = de (6); time series = ts_ce, ts_le, ts_pe (451); vision =
vd, vp, vmd, vmp (2,084); language = one 768-wide block per note type of features.haim. Every feature of
features.haim (fixed mode) uses data strictly before the prediction time (the image time); the sample's own
radiology report is excluded (C6 #5), and discharge notes come only from earlier admissions.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa

from features.haim.layout import NOTE_PREFIXES, block_columns, note_prefix
from features.m3h.tasks import all_tasks
from warehouse.lake import ClinfuseError, Home, engine, lake_views

SQL_PATH = Path(__file__).with_name("frame.sql")
NAME = "m3h"
INPUTS: tuple[str, ...] = ("cohorts/m3h_tasks", "features/haim", "features/splits", "raw/hosp_patients",
                           "raw/hosp_admissions")
# block -> the features.haim condition under which it holds data (else it is NULL in the frame)
BLOCK_PRESENT: dict[str, str] = {
    "de": "TRUE",
    "ts_ce": "h.chart_event_count > 0", "ts_le": "h.lab_event_count > 0", "ts_pe": "h.procedure_event_count > 0",
    "vd": "h.has_cxr_embedding", "vp": "h.has_cxr_embedding",
    "vmd": "h.has_prior_cxr", "vmp": "h.has_prior_cxr",
}
MODALITY_BLOCKS: dict[str, tuple[str, ...]] = {
    "tabular": ("de",), "time_series": ("ts_ce", "ts_le", "ts_pe"), "vision": ("vd", "vp", "vmd", "vmp"),
}
MODALITIES: tuple[str, ...] = ("tabular", "time_series", "vision", "language")


def note_types_of(columns: list[str]) -> tuple[str, ...]:
    """The note types a table holds, in table order: features.haim has a `<type>_note_count` column per type;
    frames.m3h (without the counts) has its `<prefix>_0` column."""
    counted = tuple(c.removesuffix("_note_count") for c in columns if c.endswith("_note_count"))
    if counted:
        return counted
    by_prefix = {note_prefix(t): t for t in NOTE_PREFIXES}
    return tuple(by_prefix.get(c[:-2], c[2:-2]) for c in columns
                 if c.startswith("n_") and c.endswith("_0") and not c[:-2].removeprefix("n_").isdigit())


def modality_columns(note_types: tuple[str, ...]) -> dict[str, list[str]]:
    """Modality -> its feature columns, in features.haim order within each block."""
    blocks = block_columns(note_types)
    groups = {m: [c for b in bs for c in blocks[b]] for m, bs in MODALITY_BLOCKS.items()}
    groups["language"] = [c for t in note_types for c in blocks[note_prefix(t)]]
    return {m: groups[m] for m in MODALITIES}


def _block_conditions(note_types: tuple[str, ...]) -> dict[str, str]:
    conditions = dict(BLOCK_PRESENT)
    for t in note_types:
        conditions[note_prefix(t)] = f'h."{t}_note_count" > 0'
    return conditions


def frame_sql(note_types: tuple[str, ...]) -> str:
    blocks = block_columns(note_types)
    conditions = _block_conditions(note_types)
    features = ", ".join(f'CASE WHEN {conditions[b]} THEN h."{c}" END AS "{c}"'
                         for b, cols in blocks.items() for c in cols)
    presence = ", ".join(
        "(" + (" OR ".join(f"coalesce({conditions[b]}, false)" for b in bs) if bs else "FALSE") + f") AS has_{m}"
        for m, bs in {**MODALITY_BLOCKS, "language": tuple(note_prefix(t) for t in note_types)}.items())
    labels = ", ".join(f't."{s.name}"' for s in all_tasks())
    rules = "; ".join(f"{b} when {c}" for b, c in conditions.items() if c != "TRUE")
    return (SQL_PATH.read_text().replace("{presence_columns}", presence).replace("{feature_columns}", features)
            .replace("{label_columns}", labels).replace("{block_rules}", rules))


def build_m3h_frame(home: Home) -> pa.Table:
    """The frame as an Arrow table, rows in (subject_id, prediction_time, sample_id) order."""
    from features.frames import _demographics

    for source in INPUTS:
        layer, name = source.split("/")
        if not home.table_dir(layer, name).is_dir():
            raise ClinfuseError(f"frames/m3h reads {layer}.{name}, which is not materialised: materialise {source} "
                                f"first (e.g. clinfuse run --select '+frames/m3h')")
    con = engine(home)
    try:
        lake_views(con, home)
        columns = [r[0] for r in con.execute("DESCRIBE features.haim").fetchall()]
        sql = frame_sql(note_types_of(columns))
        table = con.sql(f"SELECT * FROM ({sql}) ORDER BY subject_id, prediction_time, sample_id").to_arrow_table()
    finally:
        con.close()
    if table.num_rows == 0:
        raise ClinfuseError("frames/m3h: no sample is in both cohorts.m3h_tasks and features.haim "
                            "(materialise features/haim for the current cohorts/haim_samples)")
    table = _demographics(home, table, "prediction_time")
    # subgroup columns before the labels, like every frame
    labels = [s.name for s in all_tasks()]
    order = [c for c in table.column_names if c not in labels] + labels
    return table.select(order)


def frame_summary(table: pa.Table, min_train_positives: int | None = None) -> dict:
    """Rows per split, modality coverage, and per task the training-split labels, positives and prevalence."""
    import numpy as np

    split = np.asarray(table["split"].to_pylist(), dtype=object)
    train = split == "train"
    out = {"rows": table.num_rows, **{f"{s}_rows": int((split == s).sum()) for s in ("train", "val", "test")},
           "unassigned_split": int(sum(s is None for s in split))}
    for m in MODALITIES:
        out[f"has_{m}"] = int(np.asarray(table[f"has_{m}"].to_pylist(), dtype=bool).sum())
    tasks = {}
    for spec in all_tasks():
        y = np.asarray(table[spec.name].to_pylist(), dtype=float)[train]
        y = y[~np.isnan(y)]
        entry = {"kind": spec.kind, "train_labelled": int(y.size)}
        if spec.kind == "binary":
            entry.update(train_positives=int(y.sum()), train_prevalence=round(float(y.mean()), 4) if y.size else None)
        elif spec.kind == "multiclass":
            entry["train_classes"] = {c: int((y == i).sum()) for i, c in enumerate(spec.label_names)}
        else:
            entry["train_mean"] = round(float(y.mean()), 3) if y.size else None
        tasks[spec.name] = entry
    out["tasks"] = tasks
    return out


def frame_fingerprint(home: Home) -> str:
    """sha256 of the frame's Parquet bytes (the writer is deterministic)."""
    table_dir = home.table_dir("frames", NAME)
    files = sorted(table_dir.rglob("*.parquet"))
    if not files:
        raise ClinfuseError("frames.m3h is not materialised: materialise frames/m3h first")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(table_dir).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def write_m3h_frame(home: Home) -> dict:
    """Build `frames.m3h`, write it (atomically), publish its view; its summary with the fingerprint."""
    from warehouse.lake import publish, write_arrow

    table = build_m3h_frame(home)
    summary = frame_summary(table)
    if summary["train_rows"] == 0:
        raise ClinfuseError(f"frames/m3h: no row in the training split ({summary['rows']} rows in all)")
    write_arrow(home, "frames", NAME, table)
    publish(home, "frames", NAME)
    summary["fingerprint"] = frame_fingerprint(home)
    return summary


def load_m3h_frame(home: Home) -> pa.Table:
    import pyarrow.parquet as pq

    files = sorted(home.table_dir("frames", NAME).rglob("*.parquet"))
    if not files:
        raise ClinfuseError("frames.m3h is not materialised: materialise frames/m3h first")
    return pa.concat_tables(pq.read_table(f) for f in files)
