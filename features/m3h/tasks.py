"""M3H's tasks and `cohorts.m3h_tasks` (SQL: warehouse/sql/cohorts/m3h_tasks.sql; codes: warehouse/resources/m3h_tasks.csv).

The task list (models-reference.md C2): 39 binary diagnoses and hospital-acquired infection from discharge ICD
codes (the code table), `thorax8` (8-class chest pathology), `los` (remaining days) and `mortality_48h`. The 15-cluster
phenotyping task has no label column: the model's autoencoder learns it. The SQL file's header comment documents
every label rule; `build_m3h_tasks` fills in the code table and the diagnosis columns and writes the cohort through
the lake's writer (sharded, atomic) like every SQL cohort.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import warehouse
import warehouse.cohorts as wc
from warehouse.lake import (
    DEFAULT_SHARDS,
    ClinfuseError,
    Home,
    engine,
    lake_views,
    publish,
    sql_str,
    write_parquet,
)

NAME = "m3h_tasks"
CODE_TABLE = Path(warehouse.__file__).parent / "resources" / "m3h_tasks.csv"
ORDER_BY = "subject_id, prediction_time, sample_id"
# Every raw table the SQL reads, and the cohort it starts from.
RAW_INPUTS: tuple[str, ...] = ("hosp_diagnoses_icd", "hosp_admissions")
COHORT_INPUTS: tuple[str, ...] = ("haim_samples",)
THORAX_CLASSES: tuple[str, ...] = (
    "Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Enlarged Cardiomediastinum", "Lung Opacity",
    "Pneumonia", "Pneumothorax",
)
KINDS = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class TaskSpec:
    """One supervised M3H task: its label column in cohorts.m3h_tasks / frames.m3h is `name`."""

    name: str
    kind: str  # binary | multiclass | regression
    department: str
    condition: str
    label_names: tuple[str, ...]  # binary: (name,); multiclass: the K class names; regression: (target,)
    icd10_prefixes: tuple[str, ...] = ()
    icd9_prefixes: tuple[str, ...] = ()
    note: str = ""


@lru_cache(maxsize=1)
def code_table() -> tuple[TaskSpec, ...]:
    """The ICD-coded tasks of the code table, in file order; the file is checked as it is read."""
    with open(CODE_TABLE, newline="") as handle:
        rows = list(csv.DictReader(handle))
    specs, seen = [], set()
    for line, row in enumerate(rows, start=2):
        name = (row.get("task") or "").strip()
        if not name.isidentifier() or name != name.lower() or name in seen:
            raise ClinfuseError(f"{CODE_TABLE}:{line}: task {name!r} must be a new snake_case name")
        icd10, icd9 = tuple(row["icd10_prefixes"].split()), tuple(row["icd9_prefixes"].split())
        if not icd10 or not icd9 or not all(p.isalnum() for p in icd10 + icd9):
            raise ClinfuseError(f"{CODE_TABLE}:{line}: task {name}: ICD-10 and ICD-9 prefixes must be non-empty, "
                                f"alphanumeric, space-separated")
        if row["kind"] != "binary":
            raise ClinfuseError(f"{CODE_TABLE}:{line}: task {name}: kind must be binary, got {row['kind']!r}")
        seen.add(name)
        specs.append(TaskSpec(name, "binary", row["department"], row["condition"], (name,), icd10, icd9,
                              row["note"]))
    return tuple(specs)


@lru_cache(maxsize=1)
def all_tasks() -> tuple[TaskSpec, ...]:
    """Every supervised task in model order: operations (hai, los, mortality_48h), thorax8, the diagnoses."""
    coded = {t.name: t for t in code_table()}
    operations = (
        coded["hai"],
        TaskSpec("los", "regression", "Operations", "Remaining length of stay (days)", ("los",),
                 note="days from the prediction time (image time) to discharge"),
        TaskSpec("mortality_48h", "binary", "Operations", "Mortality in the next 48 h", ("mortality_48h",),
                 note="in-hospital death within 48 h of the prediction time; NULL if discharged alive before"),
        TaskSpec("thorax8", "multiclass", "Thoracic", "Chest pathology (8 classes)", THORAX_CLASSES,
                 note="CheXpert labels of the image's study; only studies with exactly one positive of the eight"),
    )
    return operations + tuple(t for t in code_table() if t.name != "hai")


def task_names() -> list[str]:
    return [t.name for t in all_tasks()]


def task_spec(name: str) -> TaskSpec:
    for spec in all_tasks():
        if spec.name == name:
            return spec
    raise ClinfuseError(f"unknown M3H task {name!r}; known: {', '.join(task_names())}")


def m3h_tasks_sql(shards: int = DEFAULT_SHARDS, codes_path: Path | str = CODE_TABLE) -> str:
    """The cohort's SELECT: shard count, code table and one column per ICD-coded task filled in."""
    names = [t.name for t in code_table()]
    columns = ", ".join(f'max(CASE WHEN h.task = {sql_str(n)} THEN 1 ELSE 0 END) AS "{n}"' for n in names)
    labels = ",\n       ".join(f'CAST(CASE WHEN k.hadm_id IS NULL THEN NULL ELSE d."{n}" END AS TINYINT) AS "{n}"'
                               for n in names)
    codes = f"read_csv({sql_str(codes_path)}, header = true, all_varchar = true)"
    return (wc.cohort_sql(NAME, shards).replace("{codes}", codes).replace("{diagnosis_columns}", columns)
            .replace("{diagnosis_labels}", labels))


def describe_m3h_tasks() -> str:
    return wc.describe_cohort(NAME)


def build_m3h_tasks(home: Home, shards: int = DEFAULT_SHARDS, *, threads: int | None = None) -> int:
    """Materialise `lake/cohorts/m3h_tasks/` (sharded, atomic) and publish `cohorts.m3h_tasks`; its rows.

    An empty cohorts.haim_samples (a source without MIMIC-CXR) gives an error, not an empty table."""
    for table in COHORT_INPUTS:
        if not home.table_dir("cohorts", table).is_dir():
            raise ClinfuseError(f"cohorts.m3h_tasks reads cohorts.{table}: materialise cohorts/{table} first")
    for table in RAW_INPUTS:
        if not home.table_dir("raw", table).is_dir():
            raise ClinfuseError(f"cohorts.m3h_tasks reads raw.{table}: materialise raw/{table} first")
    sql = m3h_tasks_sql(shards)
    con = engine(home, threads=threads)
    try:
        lake_views(con, home)
        if con.execute("SELECT count(*) FROM cohorts.haim_samples").fetchone()[0] == 0:
            raise ClinfuseError("cohorts.m3h_tasks: cohorts.haim_samples is empty (no chest X-ray inside an "
                                "admission with an ICU stay); M3H needs HAIM samples")
        rows = write_parquet(con, sql, home.table_dir("cohorts", NAME), partition_by_shard=True, order_by=ORDER_BY)
    finally:
        con.close()
    publish(home, "cohorts", NAME)
    return rows


def label_summary(home: Home) -> dict:
    """Per task: labelled samples and positives (binary), class counts (thorax8), mean (los), over all samples."""
    con = engine(home)
    try:
        lake_views(con, home, schemas=("cohorts",))
        out = {"rows": con.execute("SELECT count(*) FROM cohorts.m3h_tasks").fetchone()[0]}
        for spec in all_tasks():
            col = f'"{spec.name}"'
            if spec.kind == "binary":
                n, pos = con.execute(f"SELECT count({col}), coalesce(sum({col}), 0) FROM cohorts.m3h_tasks").fetchone()
                out[spec.name] = {"labelled": int(n), "positives": int(pos),
                                  "prevalence": round(pos / n, 4) if n else None}
            elif spec.kind == "multiclass":
                counts = dict(con.execute(f"SELECT {col}, count(*) FROM cohorts.m3h_tasks WHERE {col} IS NOT NULL "
                                          f"GROUP BY 1").fetchall())
                out[spec.name] = {"labelled": int(sum(counts.values())),
                                  "classes": {c: int(counts.get(i, 0)) for i, c in enumerate(spec.label_names)}}
            else:
                n, mean = con.execute(f"SELECT count({col}), avg({col}) FROM cohorts.m3h_tasks").fetchone()
                out[spec.name] = {"labelled": int(n), "mean": round(float(mean), 3) if mean is not None else None}
        return out
    finally:
        con.close()
