"""Labels as pure Polars functions: mortality (MedFuse rules), length of stay, the 25 phenotypes, and
HAIM's 48-h mortality / 48-h discharge.

Inputs are frames with MIMIC-IV column names (raw.* / cohorts.* tables); every function returns a frame
of the same kind (Lazy in, Lazy out) with the label columns added, or a new keyed frame.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from features.mimic3_benchmarks import phenotype_definitions, phenotype_names

Frame = pl.DataFrame | pl.LazyFrame
PhenotypeMode = Literal["fixed", "faithful"]
PHENOTYPE_MODES: tuple[str, ...] = ("fixed", "faithful")
HAIM_HORIZON_HOURS = 48.0
HAIM_DEATH_LOCATIONS: tuple[str, ...] = ("DIED",)  # HAIM's code; its notebook text also names morgue/hospice


# ---------------------------------------------------------------- mortality (reference §1.2 step 5)


def died_within(start: str, end: str, dod: str = "dod", deathtime: str = "deathtime") -> pl.Expr:
    """1 if `dod` or `deathtime` lies in [start, end], else 0 (Int8).

    `dod` is a DATE: it is compared as midnight of that day, as the reference's pandas code does, so a
    death dated on the discharge day counts, and one dated on the admission day usually does not.
    """
    dod_ts = pl.col(dod).cast(pl.Datetime("us"))

    def inside(t: pl.Expr) -> pl.Expr:
        return (t.is_not_null() & (pl.col(start) <= t) & (pl.col(end) >= t)).fill_null(False)

    return (inside(dod_ts) | inside(pl.col(deathtime))).cast(pl.Int8)


def mortality_inhospital() -> pl.Expr:
    """MedFuse's IHM label: dod or deathtime within [admittime, dischtime]."""
    return died_within("admittime", "dischtime").alias("mortality_inhospital")


def mortality_inunit() -> pl.Expr:
    """dod or deathtime within [intime, outtime]."""
    return died_within("intime", "outtime").alias("mortality_inunit")


def with_mortality(stays: Frame) -> Frame:
    """Adds mortality_inhospital and mortality_inunit; needs dod, deathtime, admittime, dischtime,
    intime, outtime."""
    return stays.with_columns(mortality_inhospital(), mortality_inunit())


# ---------------------------------------------------------------- length of stay


def _days(end: str, start: str) -> pl.Expr:
    return (pl.col(end) - pl.col(start)).dt.total_microseconds() / 86_400e6


def with_length_of_stay(stays: Frame) -> Frame:
    """Adds los_hospital_days (dischtime − admittime) and los_icu_days (outtime − intime, else icustays.los)."""
    names = stays.collect_schema().names()
    exprs = []
    if {"admittime", "dischtime"} <= set(names):
        exprs.append(_days("dischtime", "admittime").alias("los_hospital_days"))
    if {"intime", "outtime"} <= set(names):
        exprs.append(_days("outtime", "intime").alias("los_icu_days"))
    elif "los" in names:
        exprs.append(pl.col("los").cast(pl.Float64).alias("los_icu_days"))
    if not exprs:
        raise ValueError("with_length_of_stay: need admittime/dischtime and/or intime/outtime (or los)")
    return stays.with_columns(exprs)


# ---------------------------------------------------------------- phenotypes (reference §1.3)


def phenotype_labels(stays: Frame, diagnoses: Frame, mode: PhenotypeMode = "fixed") -> pl.DataFrame:
    """One row per stay: its keys + the 25 benchmark phenotypes (Int8) in reference column order.

    A stay gets 1 for a group when any diagnosis of its admission (any seq_num; joined on
    subject_id, hadm_id) has a code of that group.
    * faithful: match by code string only, icd_version ignored (MedFuse);
    * fixed: match (icd_version, code) — version 9 against the group's ICD-9 list, 10 against its
      ICD-10 list.
    `stays`: subject_id, hadm_id, stay_id. `diagnoses`: subject_id, hadm_id, icd_code (+ icd_version).
    """
    if mode not in PHENOTYPE_MODES:
        raise ValueError(f"phenotype mode must be one of {PHENOTYPE_MODES}, got {mode!r}")
    keys = stays.lazy().select("subject_id", "hadm_id", "stay_id").unique()
    dx = diagnoses.lazy().with_columns(pl.col("icd_code").cast(pl.String).str.strip_chars())
    defs = phenotype_definitions().lazy()
    if mode == "fixed":
        matched = dx.with_columns(pl.col("icd_version").cast(pl.Int64)) \
            .join(defs.select("icd_version", "icd_code", "phenotype"), on=["icd_version", "icd_code"])
    else:
        matched = dx.join(defs.select("icd_code", "phenotype").unique(), on="icd_code")
    names = phenotype_names()
    per_stay = keys.join(matched.select("subject_id", "hadm_id", "phenotype"), on=["subject_id", "hadm_id"]) \
        .group_by("stay_id").agg([(pl.col("phenotype") == n).any().alias(n) for n in names])
    out = keys.join(per_stay, on="stay_id", how="left").with_columns(
        [pl.col(n).fill_null(False).cast(pl.Int8) for n in names]
    )
    return out.select("subject_id", "hadm_id", "stay_id", *names).sort("stay_id").collect()


# ---------------------------------------------------------------- HAIM 48-h tasks (reference §4.8)


def with_haim_48h_labels(
    samples: Frame,
    prediction_time: str = "prediction_time",
    death_locations: tuple[str, ...] = HAIM_DEATH_LOCATIONS,
) -> Frame:
    """Adds mortality_48h and discharge_48h (Int8, null = sample excluded from that task).

    HAIM: death = discharge_location in `death_locations`; remaining = dischtime − prediction time.
    mortality_48h: 1 dead and remaining < 48 h; 0 remaining >= 48 h; excluded when alive and < 48 h.
    discharge_48h: 1 alive and remaining < 48 h; else 0 (alive >= 48 h, or dead at any time).
    """
    dead = pl.col("discharge_location").is_in(death_locations).fill_null(False)
    remaining = (pl.col("dischtime") - pl.col(prediction_time)).dt.total_microseconds() / 3.6e9
    soon = remaining < HAIM_HORIZON_HOURS
    mortality = pl.when(remaining.is_null()).then(None) \
        .when(soon & dead).then(1).when(~soon).then(0).otherwise(None)
    discharge = pl.when(remaining.is_null()).then(None).when(soon & ~dead).then(1).otherwise(0)
    return samples.with_columns(
        mortality.cast(pl.Int8).alias("mortality_48h"), discharge.cast(pl.Int8).alias("discharge_48h"),
    )
