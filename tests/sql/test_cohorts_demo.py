"""Cohorts and time series on the real MIMIC-IV demo (v2.2): the numbers are pinned, and each is checked
against the rules by a second, independent route where that is cheap (hand-written SQL over raw.*, plain
Python over the vendored YAML)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest
import yaml

DEMO = Path(__file__).parents[2].parent / "shared/data/mimic-iv-demo-2.2"
RESOURCES = Path(__file__).parents[2] / "warehouse/resources/mimic3_benchmarks"

pytestmark = pytest.mark.skipif(not (DEMO / "hosp" / "admissions.csv.gz").is_file(),
                                reason=f"the real MIMIC-IV demo is not at {DEMO}")

# ---- the pinned numbers (MIMIC-IV demo 2.2, fixed mode, which gives the same counts as faithful here)
ICU_STAYS = 112          # of 140 ICU stays: 11 transfers, then admissions with 2+ clean stays
ICU_STAYS_DEATHS = 10    # mortality_inhospital among them
IHM_SAMPLES = 54         # LoS >= 48 h and an event in the first 48 h
IHM_POSITIVES = 9        # prevalence 16.7 %
PHENO_SAMPLES = 112      # every root stay has an event inside its stay
PHENO_ROWS_2H, PHENO_ROWS_1H = 4_667, 9_269
PHENOTYPE_COUNTS = {
    "Acute and unspecified renal failure": 30,
    "Acute cerebrovascular disease": 4,
    "Acute myocardial infarction": 10,
    "Cardiac dysrhythmias": 32,
    "Chronic kidney disease": 26,
    "Chronic obstructive pulmonary disease and bronchiectasis": 16,
    "Complications of surgical procedures or medical care": 27,
    "Conduction disorders": 10,
    "Congestive heart failure; nonhypertensive": 25,
    "Coronary atherosclerosis and other heart disease": 32,
    "Diabetes mellitus with complications": 11,
    "Diabetes mellitus without complication": 26,
    "Disorders of lipid metabolism": 50,
    "Essential hypertension": 46,
    "Fluid and electrolyte disorders": 40,
    "Gastrointestinal hemorrhage": 13,
    "Hypertension with complications and secondary hypertension": 27,
    "Other liver diseases": 14,
    "Other lower respiratory disease": 11,
    "Other upper respiratory disease": 7,
    "Pleurisy; pneumothorax; pulmonary collapse": 11,
    "Pneumonia (except that caused by tuberculosis or sexually transmitted disease)": 14,
    "Respiratory failure; insufficiency; arrest (adult)": 18,
    "Septicemia (except in labor)": 17,
    "Shock": 15,
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from features.timeseries.build import build_task_frames
    from tests.graph import materialise
    from warehouse.cohorts import build_cohorts
    from warehouse.ingest import ingest
    from warehouse.lake import DEFAULT_SHARDS, Home
    from warehouse.sources import Sources

    home = Home.open(tmp_path_factory.mktemp("cohorts-demo") / "home")
    ingest(home, Sources(mimic_iv=DEMO))
    counts = build_cohorts(home)
    meta = materialise(home, Sources(mimic_iv=DEMO), "key:features/timeseries_events or key:features/timeseries_ihm", shards=DEFAULT_SHARDS)["metadata"]
    result = {name: meta[f"{layer}/{name}"]["rows"] for layer, name in (
        ("cohorts", "ihm_48h"), ("cohorts", "phenotyping"), ("features", "timeseries_ihm"),
        ("features", "timeseries_pheno"))}
    result["ihm_positives"] = meta["cohorts/ihm_48h"]["positives"]
    hourly = build_task_frames(home, None, mode="fixed", timestep=1.0)
    return home, counts, result, hourly


def query(home, sql, *params):
    from warehouse.lake import catalog

    with catalog(home, write=False) as con:
        return con.execute(sql, list(params)).fetchall()


def frame(home, sql):
    from warehouse.lake import catalog

    with catalog(home, write=False) as con:
        return con.sql(sql).pl()


# ---------------------------------------------------------------- icu_stays and los


def test_icu_stays_count_and_second_route(demo):
    home, counts, _, _ = demo
    assert counts["icu_stays"] == ICU_STAYS == query(home, "SELECT count(*) FROM cohorts.icu_stays")[0][0]
    # Second route: the same rules written differently (age per patient, so filtering it first is the same).
    by_hand = query(home, """
        WITH clean AS (
            SELECT i.hadm_id FROM raw.icu_icustays i
            JOIN raw.hosp_admissions a ON a.hadm_id = i.hadm_id AND a.subject_id = i.subject_id
            JOIN raw.hosp_patients p ON p.subject_id = i.subject_id
            WHERE i.first_careunit = i.last_careunit AND p.anchor_age >= 18)
        SELECT count(*) FROM (SELECT hadm_id FROM clean GROUP BY hadm_id HAVING count(*) = 1)""")[0][0]
    assert by_hand == ICU_STAYS
    assert query(home, "SELECT count(*) FROM raw.icu_icustays WHERE first_careunit <> last_careunit")[0][0] == 11
    keys = query(home, "SELECT count(DISTINCT stay_id), count(DISTINCT hadm_id), count(*) FILTER (WHERE age < 18) "
                       "FROM cohorts.icu_stays")[0]
    assert keys == (ICU_STAYS, ICU_STAYS, 0)


def test_icu_stays_mortality_matches_the_label_library(demo):
    from features.labels import with_mortality

    home = demo[0]
    stays = frame(home, "SELECT * FROM cohorts.icu_stays ORDER BY stay_id")
    again = with_mortality(stays.drop("mortality_inhospital", "mortality_inunit"))
    assert again["mortality_inhospital"].cast(pl.Int32).to_list() == stays["mortality_inhospital"].to_list()
    assert again["mortality_inunit"].cast(pl.Int32).to_list() == stays["mortality_inunit"].to_list()
    assert stays["mortality_inhospital"].sum() == ICU_STAYS_DEATHS
    # in-unit deaths are in-hospital deaths
    assert stays.filter(pl.col("mortality_inunit") > pl.col("mortality_inhospital")).height == 0


def test_icu_stays_sharded_and_published(demo):
    home = demo[0]
    dirs = sorted(p.name for p in home.table_dir("cohorts", "icu_stays").iterdir())
    assert dirs and all(d.startswith("shard=") for d in dirs)
    assert query(home, "SELECT count(*) FROM cohorts.icu_stays WHERE shard <> subject_id % 8")[0][0] == 0
    cols = {r[0] for r in query(home, "DESCRIBE cohorts.icu_stays")}
    assert {"subject_id", "hadm_id", "stay_id", "intime", "outtime", "los", "admittime", "dischtime", "deathtime",
            "dod", "age", "gender", "race", "mortality_inunit", "mortality_inhospital", "first_careunit",
            "shard"} <= cols


def test_los_cohort(demo):
    home, counts, _, _ = demo
    assert counts["los"] == ICU_STAYS
    bad = query(home, """
        SELECT count(*) FROM cohorts.los l JOIN cohorts.icu_stays s USING (stay_id)
        WHERE abs(l.los_icu_days - s.los) > 1e-6 OR l.los_hospital_days <= 0
           OR abs(l.los_hospital_days * 86400 - date_diff('second', s.admittime, s.dischtime)) > 1e-3""")[0][0]
    assert bad == 0
    assert query(home, "SELECT sum(hospital_expire_flag) FROM cohorts.los")[0][0] == 10


def test_rules_are_documented():
    from features.timeseries.build import describe_cohort

    for name in ("icu_stays", "ihm_48h", "phenotyping", "los"):
        text = describe_cohort(name)
        assert text.startswith(f"cohorts.{name}") and "rules:" in text
    assert "first_careunit = last_careunit" in describe_cohort("icu_stays")


# ---------------------------------------------------------------- ihm_48h


def test_ihm_counts_and_prevalence(demo):
    home, _, result, _ = demo
    assert result["ihm_48h"] == IHM_SAMPLES and result["ihm_positives"] == IHM_POSITIVES
    n, pos, stays, prediction_ok = query(home, """
        SELECT count(*), sum(y_true), count(DISTINCT stay_id),
               bool_and(prediction_time = intime + INTERVAL 48 HOUR) FROM cohorts.ihm_48h""")[0]
    assert (n, pos, stays, prediction_ok) == (IHM_SAMPLES, IHM_POSITIVES, IHM_SAMPLES, True)
    assert IHM_POSITIVES / IHM_SAMPLES == pytest.approx(0.1667, abs=1e-3)


def test_ihm_second_route_raw_sql(demo):
    """LoS >= 48 h and a raw event of one of the 44 item ids with a value in the first 48 h (episode rule:
    stay match, or inside [intime, outtime]; labs through the admission)."""
    from features.mimic3_benchmarks import mimic_iv_itemids

    home = demo[0]
    ids = ", ".join(map(str, mimic_iv_itemids()))
    rows = query(home, f"""
        WITH ev AS (
            SELECT subject_id, hadm_id, stay_id, charttime FROM raw.icu_chartevents
            WHERE itemid IN ({ids}) AND value IS NOT NULL
            UNION ALL
            SELECT subject_id, hadm_id, NULL, charttime FROM raw.hosp_labevents
            WHERE itemid IN ({ids}) AND value IS NOT NULL),
        hits AS (
            SELECT DISTINCT s.stay_id, s.mortality_inhospital FROM cohorts.icu_stays s
            JOIN cohorts.icu_stays own ON own.subject_id = s.subject_id
            JOIN ev ON ev.subject_id = own.subject_id AND ev.hadm_id = own.hadm_id
                   AND coalesce(ev.stay_id, own.stay_id) = own.stay_id
                   AND (own.stay_id = s.stay_id OR ev.charttime BETWEEN s.intime AND s.outtime)
            WHERE s.los * 24 >= 48 - 1e-6
              AND ev.charttime > s.intime - INTERVAL 3 MILLISECOND
              AND ev.charttime <= s.intime + INTERVAL 48 HOUR)
        SELECT count(*), sum(mortality_inhospital) FROM hits""")
    assert rows[0] == (IHM_SAMPLES, IHM_POSITIVES)
    # and exactly the same stays
    got = {r[0] for r in query(home, "SELECT stay_id FROM cohorts.ihm_48h")}
    long_enough = {r[0] for r in query(home, "SELECT stay_id FROM cohorts.icu_stays WHERE los >= 2 - 1e-6 / 24")}
    assert got <= long_enough and len(long_enough) == IHM_SAMPLES


def test_ihm_time_series_shapes(demo):
    home, _, _, hourly = demo
    per_stay = query(home, "SELECT stay_id, count(*), min(step), max(step) FROM features.timeseries_ihm GROUP BY 1")
    assert len(per_stay) == IHM_SAMPLES and {r[1:] for r in per_stay} == {(24, 0, 23)}
    counts = hourly.timeseries_ihm.group_by("stay_id").len()
    assert counts.height == IHM_SAMPLES and set(counts["len"]) == {48}
    assert sorted(hourly.ihm_48h["stay_id"]) == sorted(r[0] for r in per_stay)


# ---------------------------------------------------------------- phenotyping


def test_phenotyping_counts_and_shapes(demo):
    home, _, result, hourly = demo
    assert result["phenotyping"] == PHENO_SAMPLES
    assert result["timeseries_pheno"] == PHENO_ROWS_2H and hourly.timeseries_pheno.height == PHENO_ROWS_1H
    # rows per stay = int(T/Δ + 1 - 1e-6), T = period_length
    bad = query(home, """
        SELECT count(*) FROM cohorts.phenotyping c
        JOIN (SELECT stay_id, count(*) n, max(step) m FROM features.timeseries_pheno GROUP BY 1) t USING (stay_id)
        WHERE t.n <> CAST(floor(c.period_length / 2.0 + 1 - 1e-6) AS BIGINT) OR t.m <> t.n - 1""")[0][0]
    assert bad == 0
    same_time, period_error = query(home, "SELECT bool_and(prediction_time = outtime), "
                                          "max(abs(period_length - date_diff('second', intime, outtime) / 3600.0)) "
                                          "FROM cohorts.phenotyping")[0]
    assert same_time is True and period_error < 1e-6


def test_phenotype_prevalences_and_second_route(demo):
    from features.mimic3_benchmarks import phenotype_names

    home = demo[0]
    names = phenotype_names()
    assert list(PHENOTYPE_COUNTS) == list(names)
    sums = query(home, "SELECT " + ", ".join(f'sum("{n}")' for n in names) + " FROM cohorts.phenotyping")[0]
    assert dict(zip(names, sums, strict=True)) == PHENOTYPE_COUNTS
    # Second route: plain Python over the YAML (code strings, the reference rule) and raw diagnoses.
    defs = yaml.safe_load((RESOURCES / "icd_9_10_definitions_2.yaml").read_text())
    group_of = {str(code): g for g, d in defs.items() if d["use_in_benchmark"] for code in d["codes"]}
    codes = defaultdict(set)
    for hadm, code in query(home, "SELECT hadm_id, icd_code FROM raw.hosp_diagnoses_icd"):
        codes[hadm].add(code.strip())
    hand = defaultdict(int)
    for (hadm,) in query(home, "SELECT hadm_id FROM cohorts.phenotyping"):
        for g in {group_of[c] for c in codes[hadm] if c in group_of}:
            hand[g] += 1
    assert dict(hand) == PHENOTYPE_COUNTS


# ---------------------------------------------------------------- golden check 13 and keys


@pytest.mark.parametrize("table", ["timeseries_ihm", "timeseries_pheno"])
def test_crr_and_gcs_total_never_observed(demo, table):
    from features.timeseries.layout import COLUMNS

    home, _, _, hourly = demo
    assert COLUMNS[59] == "mask->Capillary refill rate" and COLUMNS[64] == "mask->Glascow coma scale total"
    row = query(home, f'SELECT max("{COLUMNS[59]}"), max("{COLUMNS[64]}"), min("{COLUMNS[0]}"), '
                      f'min("{COLUMNS[28]}"), count(*) FROM features.{table}')[0]
    assert row[:4] == (0.0, 0.0, 1.0, 1.0) and row[4] > 0  # col 0 (CRR "0.0") and col 28 (GCS total "15") constant
    hourly_frame = getattr(hourly, table)
    assert hourly_frame[COLUMNS[59]].max() == 0 and hourly_frame[COLUMNS[64]].max() == 0


@pytest.mark.parametrize("table,cohort", [("timeseries_ihm", "ihm_48h"), ("timeseries_pheno", "phenotyping")])
def test_features_carry_keys_and_never_look_past_the_prediction_time(demo, table, cohort):
    home = demo[0]
    n, null_keys, late, orphan, asof = query(home, f"""
        SELECT count(*),
               count(*) FILTER (WHERE t.stay_id IS NULL OR t.subject_id IS NULL OR t.hadm_id IS NULL),
               count(*) FILTER (WHERE t.asof_time > c.prediction_time),
               count(*) FILTER (WHERE c.stay_id IS NULL),
               count(t.asof_time)
        FROM features.{table} t LEFT JOIN cohorts.{cohort} c USING (stay_id)""")[0]
    assert n > 0 and null_keys == 0 and late == 0 and orphan == 0 and asof > 0.9 * n
    assert query(home, f"SELECT count(*) FROM features.{table} WHERE shard <> subject_id % 8")[0][0] == 0
