"""Patients, admissions and ICU stays, with their latent severity; and the small hosp/icu tables built
from them (patients, admissions, transfers, services, icustays, diagnoses_icd, procedures_icd, d_icd_*)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from . import _dicts
from ._common import (
    DAY,
    MIN,
    H,
    Streams,
    at,
    choose,
    dates,
    expand,
    floor_to,
    pick,
    rank_within,
    seg_cumsum_excl,
    sigmoid,
    ts,
    unique_ids,
    year_start,
)

_RESOURCES = Path(__file__).resolve().parent.parent / "resources" / "mimic3_benchmarks"

# ---------------------------------------------------------------------------------------------- vocab
YEAR_GROUPS = ("2008 - 2010", "2011 - 2013", "2014 - 2016", "2017 - 2019")
ADMISSION_TYPES = (  # name, weight, P(came through the ED)
    ("EW EMER.", 38, 1.0), ("OBSERVATION ADMIT", 16, 0.7), ("URGENT", 14, 0.3), ("EU OBSERVATION", 11, 1.0),
    ("SURGICAL SAME DAY ADMISSION", 7, 0.0), ("DIRECT EMER.", 5, 0.0), ("ELECTIVE", 5, 0.0),
    ("DIRECT OBSERVATION", 3, 0.0), ("AMBULATORY OBSERVATION", 1, 0.0),
)
ADMISSION_LOCATIONS_NON_ED = (
    ("PHYSICIAN REFERRAL", 40), ("TRANSFER FROM HOSPITAL", 30), ("CLINIC REFERRAL", 8), ("PROCEDURE SITE", 6),
    ("WALK-IN/SELF REFERRAL", 6), ("TRANSFER FROM SKILLED NURSING FACILITY", 4), ("PACU", 3),
    ("INTERNAL TRANSFER TO OR FROM PSYCH", 1), ("INFORMATION NOT AVAILABLE", 1),
)
DISCHARGE_LOCATIONS = (  # survivors; None = empty
    ("HOME", 28), ("HOME HEALTH CARE", 30), ("SKILLED NURSING FACILITY", 14), ("REHAB", 6),
    ("CHRONIC/LONG TERM ACUTE CARE", 4), ("HOSPICE", 2), ("AGAINST ADVICE", 2), ("PSYCH FACILITY", 1),
    ("ACUTE HOSPITAL", 1), (None, 12),
)
INSURANCE = (("Medicare", 40), ("Medicaid", 12), ("Other", 48))
LANGUAGE = (("ENGLISH", 91), ("?", 9))
MARITAL = (("MARRIED", 40), ("SINGLE", 33), ("WIDOWED", 13), ("DIVORCED", 8), (None, 6))
RACES = (  # v2+ race, v1.0 ethnicity, weight
    ("WHITE", "WHITE", 60), ("BLACK/AFRICAN AMERICAN", "BLACK/AFRICAN AMERICAN", 13),
    ("UNKNOWN", "UNKNOWN", 6), ("OTHER", "OTHER", 3), ("HISPANIC/LATINO - PUERTO RICAN", "HISPANIC/LATINO", 2),
    ("HISPANIC OR LATINO", "HISPANIC/LATINO", 2), ("HISPANIC/LATINO - DOMINICAN", "HISPANIC/LATINO", 1),
    ("ASIAN", "ASIAN", 2), ("ASIAN - CHINESE", "ASIAN", 2), ("WHITE - OTHER EUROPEAN", "WHITE", 2),
    ("WHITE - RUSSIAN", "WHITE", 1), ("BLACK/CAPE VERDEAN", "BLACK/AFRICAN AMERICAN", 1),
    ("PORTUGUESE", "OTHER", 1), ("UNABLE TO OBTAIN", "UNABLE TO OBTAIN", 2),
    ("AMERICAN INDIAN/ALASKA NATIVE", "AMERICAN INDIAN/ALASKA NATIVE", 1),
    ("BLACK/AFRICAN", "BLACK/AFRICAN AMERICAN", 1),
)
ICU_UNITS = (  # careunit, weight, service
    ("Medical Intensive Care Unit (MICU)", 24, "MED"), ("Surgical Intensive Care Unit (SICU)", 16, "SURG"),
    ("Cardiac Vascular Intensive Care Unit (CVICU)", 17, "CSURG"),
    ("Medical/Surgical Intensive Care Unit (MICU/SICU)", 18, "MED"), ("Trauma SICU (TSICU)", 10, "TRAUM"),
    ("Coronary Care Unit (CCU)", 10, "CMED"), ("Neuro Surgical Intensive Care Unit (Neuro SICU)", 3, "NSURG"),
    ("Neuro Stepdown", 1, "NMED"), ("Neuro Intermediate", 1, "NMED"),
)
CVICU = 2
WARD_UNITS = (
    ("Medicine", 20, "MED"), ("Med/Surg", 12, "MED"), ("Medicine/Cardiology", 10, "CMED"),
    ("Cardiac Surgery", 8, "CSURG"), ("Neurology", 7, "NMED"), ("Transplant", 6, "MED"),
    ("Hematology/Oncology", 7, "OMED"), ("Surgery", 6, "SURG"), ("Med/Surg/Trauma", 5, "TRAUM"),
    ("Vascular", 3, "VSURG"), ("Orthopaedics", 3, "ORTHO"), ("Observation", 4, "MED"),
    ("Discharge Lounge", 2, "MED"), ("PACU", 3, "SURG"),
)
SERVICES = ("MED", "CMED", "SURG", "OMED", "CSURG", "NSURG", "VSURG", "NMED", "TRAUM", "ORTHO", "PSYCH", "TSURG", "GYN")

# Phenotype model: intercept, severity slope, age slope (per 10 y), comorbidity slope, chronic?
_PHENO_MODEL = {
    "Acute and unspecified renal failure": (-2.0, 0.9, 0.25, 0.3, False),
    "Acute cerebrovascular disease": (-3.0, 0.3, 0.2, 0.0, False),
    "Acute myocardial infarction": (-2.8, 0.4, 0.25, 0.3, False),
    "Cardiac dysrhythmias": (-1.2, 0.3, 0.45, 0.4, True),
    "Chronic kidney disease": (-2.0, 0.0, 0.4, 0.8, True),
    "Chronic obstructive pulmonary disease and bronchiectasis": (-2.2, 0.0, 0.25, 0.6, True),
    "Complications of surgical procedures or medical care": (-2.0, 0.3, 0.0, 0.2, False),
    "Conduction disorders": (-2.8, 0.0, 0.35, 0.3, True),
    "Congestive heart failure; nonhypertensive": (-1.9, 0.5, 0.45, 0.6, False),
    "Coronary atherosclerosis and other heart disease": (-1.3, 0.0, 0.6, 0.6, True),
    "Diabetes mellitus with complications": (-2.3, 0.0, 0.25, 0.8, True),
    "Diabetes mellitus without complication": (-1.8, 0.0, 0.25, 0.5, True),
    "Disorders of lipid metabolism": (-1.0, 0.0, 0.45, 0.5, True),
    "Essential hypertension": (-0.6, 0.0, 0.45, 0.3, True),
    "Fluid and electrolyte disorders": (-1.2, 0.8, 0.1, 0.2, False),
    "Gastrointestinal hemorrhage": (-2.8, 0.4, 0.1, 0.2, False),
    "Hypertension with complications and secondary hypertension": (-2.0, 0.0, 0.4, 0.8, True),
    "Other liver diseases": (-2.6, 0.4, -0.1, 0.3, False),
    "Other lower respiratory disease": (-2.3, 0.3, 0.1, 0.2, False),
    "Other upper respiratory disease": (-3.2, 0.2, 0.0, 0.0, False),
    "Pleurisy; pneumothorax; pulmonary collapse": (-2.6, 0.5, 0.0, 0.1, False),
    "Pneumonia (except that caused by tuberculosis or sexually transmitted disease)": (-2.0, 0.8, 0.2, 0.3, False),
    "Respiratory failure; insufficiency; arrest (adult)": (-2.0, 1.3, 0.1, 0.3, False),
    "Septicemia (except in labor)": (-2.4, 1.3, 0.1, 0.2, False),
    "Shock": (-3.1, 1.5, 0.0, 0.0, False),
}


@dataclass(frozen=True)
class Phenotypes:
    names: tuple[str, ...]  # alphabetical (the MedFuse label order)
    codes9: tuple[tuple[str, ...], ...]  # per group, ICD-9 codes MIMIC-IV lists
    codes10: tuple[tuple[str, ...], ...]

    def index(self, name_prefix: str) -> int:
        return next(i for i, n in enumerate(self.names) if n.startswith(name_prefix))


def _load_yaml(name: str) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(_RESOURCES / name, encoding="utf-8") as f:
        return yaml.load(f, Loader=loader)


@functools.lru_cache(maxsize=1)
def dx_titles() -> dict[tuple[str, int], str]:
    out = {}
    for line in _dicts.D_ICD_DIAGNOSES.splitlines():
        code, ver, title = line.split("\t")
        out[(code, int(ver))] = title
    return out


@functools.lru_cache(maxsize=1)
def phenotypes() -> Phenotypes:
    """The 25 benchmark groups of icd_9_10_definitions_2.yaml: the leading codes of each list are the
    HCUP CCS 2015 ICD-9 codes (hcup_ccs_2015_definitions.yaml), the appended ones ICD-10-CM."""
    defs = _load_yaml("icd_9_10_definitions_2.yaml")
    hcup = _load_yaml("hcup_ccs_2015_definitions.yaml")
    titles = dx_titles()
    names = tuple(sorted(k for k, v in defs.items() if v.get("use_in_benchmark")))
    c9, c10 = [], []
    for name in names:
        codes = [str(c) for c in defs[name]["codes"]]
        n9 = len(hcup[name]["codes"])
        c9.append(tuple(dict.fromkeys(c for c in codes[:n9] if (c, 9) in titles)))
        c10.append(tuple(dict.fromkeys(c for c in codes[n9:] if (c, 10) in titles)))
    if len(names) != 25 or not all(c9) or not all(c10):
        raise RuntimeError("unexpected phenotype definitions in icd_9_10_definitions_2.yaml")
    return Phenotypes(names, tuple(c9), tuple(c10))


# ---------------------------------------------------------------------------------------------- cohort
@dataclass
class Cohort:
    n_pat: int
    # patients
    subject_id: np.ndarray
    male: np.ndarray
    anchor_age: np.ndarray
    anchor_year: np.ndarray
    year_group: np.ndarray
    comorb: np.ndarray
    race: np.ndarray
    language: np.ndarray
    marital: np.ndarray
    dod: np.ndarray  # seconds (midnight) or -1
    # admissions
    a_pat: np.ndarray
    hadm_id: np.ndarray
    admit: np.ndarray
    disch: np.ndarray
    death: np.ndarray  # -1 = alive
    edreg: np.ndarray  # -1 = none
    edout: np.ndarray
    adm_type: np.ndarray
    adm_loc: np.ndarray  # index into ADMISSION_LOCATIONS_NON_ED, -1 = EMERGENCY ROOM
    disch_loc: np.ndarray  # index into DISCHARGE_LOCATIONS, -1 = DIED
    insurance: np.ndarray
    provider: np.ndarray
    z_a: np.ndarray
    died: np.ndarray
    has_icu: np.ndarray
    icd10: np.ndarray
    pheno: np.ndarray  # (A, 25) bool
    age: np.ndarray
    ward_unit: np.ndarray
    # stays
    s_adm: np.ndarray
    s_pat: np.ndarray
    stay_id: np.ndarray
    intime: np.ndarray
    outtime: np.ndarray
    s_end: np.ndarray  # end of charting (death time for ICU deaths)
    first_cu: np.ndarray
    last_cu: np.ndarray
    mid: np.ndarray  # careunit change time, -1 = none
    z_s: np.ndarray
    art: np.ndarray
    vent: np.ndarray
    vent_start: np.ndarray
    vent_end: np.ndarray
    dialysis: np.ndarray
    foley: np.ndarray
    cvc: np.ndarray
    bronch: np.ndarray
    weight: np.ndarray
    height_in: np.ndarray
    temp_c: np.ndarray
    died_in_stay: np.ndarray
    providers: tuple[str, ...]

    @property
    def n_adm(self) -> int:
        return len(self.hadm_id)

    @property
    def n_stay(self) -> int:
        return len(self.stay_id)

    def los_days(self) -> np.ndarray:
        return (self.outtime - self.intime) / DAY


def _provider_ids(rng: np.random.Generator, n: int) -> tuple[str, ...]:
    alphabet = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    raw = alphabet[rng.integers(0, 36, size=(n * 2, 5))]
    ids = sorted({"P" + "".join(r) for r in raw})
    return tuple(rng.permutation(ids)[:n].tolist())


def build_cohort(streams: Streams, n_pat: int) -> Cohort:
    ph = phenotypes()
    rng = streams("patients")
    # ---- patients
    max_gap = max(1, min(1998, 9_800_000 // max(n_pat, 1)))
    subject_id = 10_000_000 + np.cumsum(rng.integers(1, max_gap + 1, size=n_pat))
    male = rng.random(n_pat) < 0.56
    anchor_age = np.clip(np.round(rng.normal(63, 17, n_pat)), 18, 91).astype(np.int64)
    anchor_year = rng.integers(2110, 2186, size=n_pat)
    year_group = rng.integers(0, len(YEAR_GROUPS), size=n_pat)
    comorb = rng.normal(0, 1, n_pat)
    race = choose(rng, n_pat, [r[2] for r in RACES])
    language = choose(rng, n_pat, [w for _, w in LANGUAGE])
    marital = choose(rng, n_pat, [w for _, w in MARITAL])
    n_adm = choose(rng, n_pat, [0.45, 0.33, 0.22]) + 1
    pheno_u = rng.random((n_pat, len(ph.names)))  # patient-level draw: chronic conditions persist

    # ---- admissions (before dropping those after an in-hospital death)
    rng = streams("admissions")
    a_pat, a_k = expand(n_adm)
    na = len(a_pat)
    z_a = rng.normal(0, 1, na)
    has_icu = rng.random(na) < 0.8
    age0 = anchor_age[a_pat].astype(float)
    p_die = np.where(
        has_icu, sigmoid(-2.75 + 1.5 * z_a + 0.025 * (age0 - 65)), sigmoid(-5.0 + 0.9 * z_a)
    )
    died = rng.random(na) < p_die
    prior = seg_cumsum_excl(died.astype(np.int64), a_pat)
    keep = prior == 0
    a_pat, a_k, z_a, has_icu, died = a_pat[keep], a_k[keep], z_a[keep], has_icu[keep], died[keep]
    na = len(a_pat)
    n_stays = np.where(has_icu, 1 + (rng.random(na) < 0.06), 0)
    adm_type = choose(rng, na, [t[1] for t in ADMISSION_TYPES])
    is_ed = rng.random(na) < np.array([t[2] for t in ADMISSION_TYPES])[adm_type]
    adm_loc = np.where(is_ed, -1, choose(rng, na, [w for _, w in ADMISSION_LOCATIONS_NON_ED]))
    insurance = choose(rng, na, [w for _, w in INSURANCE])
    disch_loc = choose(rng, na, [w for _, w in DISCHARGE_LOCATIONS])
    disch_loc = np.where(died, -1, disch_loc)
    ward_unit = choose(rng, na, [w for _, w, _ in WARD_UNITS])
    ed_pre = np.where(is_ed, floor_to(rng.uniform(1, 7, na) * H, MIN), 0)  # edreg before admittime
    ed_post = np.where(is_ed, floor_to(rng.uniform(0.1, 2.5, na) * H, MIN), 0)  # edout after admittime
    gap_between = rng.uniform(7, 7 + 2 * 150, na) * DAY  # to the next admission
    start_off = rng.uniform(0, 1.5, n_pat) * 365 * DAY
    tail_u = rng.random((na, 4))

    # ---- stays
    rng = streams("stays")
    s_adm, s_j = expand(n_stays)
    ns = len(s_adm)
    z_s = np.where(s_j == 0, z_a[s_adm], 0.7 * z_a[s_adm] + 0.71 * rng.normal(0, 1, ns))
    # ICU LoS (median ~2 d, as MIMIC-IV's icustays) follows the stay's severity, which its vitals and labs show
    los = np.clip(np.exp(np.log(2.0) + 0.6 * z_s + 0.45 * rng.normal(0, 1, ns)), 0.5, 15.0) * DAY
    los = np.round(los + rng.uniform(0, 60, ns))
    pre_ward = np.where((s_j == 0) & (rng.random(ns) < 0.45), rng.uniform(2, 48, ns) * H, 0.0)
    gap = np.where(s_j > 0, rng.uniform(12, 96, ns) * H, 0.0)
    step = pre_ward + gap
    in_rel = ed_post[s_adm] + seg_cumsum_excl(step + los, s_adm) + step + rng.uniform(0, 600, ns)
    in_rel = np.round(in_rel)
    out_rel = in_rel + los
    first_cu = choose(rng, ns, [u[1] for u in ICU_UNITS])
    transfer = rng.random(ns) < 0.06
    last_cu = np.where(transfer, (first_cu + rng.integers(1, len(ICU_UNITS), ns)) % len(ICU_UNITS), first_cu)
    mid_frac = rng.uniform(0.3, 0.7, ns)
    s_u = rng.random((ns, 8))
    s_n = rng.normal(0, 1, (ns, 4))

    # ---- admission end relative to admittime
    last_stay = np.full(na, -1, dtype=np.int64)
    np.maximum.at(last_stay, s_adm, np.arange(ns))
    last_out_rel = at(out_rel, last_stay, 0.0)
    in_icu_death = died & has_icu & (tail_u[:, 0] < 0.85)
    # ward days (after the last ICU stay, or the whole admission without one) follow the admission's severity
    # too, which its first day's labs carry: the remaining LoS a day after admission is predictable in part.
    # Hospital LoS median ~6 d with an ICU stay, ~3 d without.
    ward_stay = np.where(
        has_icu,
        np.exp(np.log(3.5 * DAY) + 0.5 * z_a + 0.45 * rng.normal(0, 1, na)).clip(4 * H, 25 * DAY),
        np.exp(np.log(3.0 * DAY) + 0.5 * z_a + 0.5 * rng.normal(0, 1, na)).clip(0.4 * DAY, 30 * DAY),
    )
    base_rel = np.where(has_icu, last_out_rel, ed_post.astype(float))
    # in-ICU deaths: die during the last stay (body leaves the unit 0.5-3 h later)
    death_rel = np.where(
        in_icu_death,
        last_out_rel - rng.uniform(0.5, 3.0, na) * H,
        np.where(died, base_rel + np.where(has_icu, tail_u[:, 1] * 5 * DAY + 6 * H, ward_stay), -1.0),
    )
    death_rel = np.where(died, floor_to(np.maximum(death_rel, H), MIN), -1)
    disch_rel = np.where(died, death_rel, np.ceil((base_rel + ward_stay) / MIN) * MIN).astype(np.int64)

    # ---- absolute times
    span = disch_rel + ed_pre + gap_between
    admit = year_start(anchor_year[a_pat]) + start_off[a_pat] + ed_pre + seg_cumsum_excl(span, a_pat)
    admit = floor_to(admit, MIN)
    disch = admit + disch_rel
    death = np.where(died, admit + death_rel, -1)
    edreg = np.where(is_ed, admit - ed_pre, -1)
    edout = np.where(is_ed, admit + ed_post, -1)
    intime = admit[s_adm] + in_rel.astype(np.int64)
    outtime = admit[s_adm] + out_rel.astype(np.int64)
    died_in_stay = np.zeros(ns, dtype=bool)
    if ns:
        died_in_stay[last_stay[in_icu_death]] = True
    s_end = np.where(died_in_stay, death[s_adm], outtime)
    mid = np.where(transfer, intime + np.round(mid_frac * (s_end - intime)).astype(np.int64), -1)

    # ---- dod: in-hospital deaths, plus some deaths after the last discharge
    last_adm = np.full(n_pat, -1, dtype=np.int64)
    np.maximum.at(last_adm, a_pat, np.arange(na))
    dod = np.full(n_pat, -1, dtype=np.int64)
    has = last_adm >= 0
    la = last_adm[has]
    age_last = anchor_age[has] + (disch[la] - year_start(anchor_year[has])) / (365.25 * DAY)
    p_later = 0.08 + 0.25 * sigmoid((age_last - 80) / 6)
    later = rng.random(has.sum()) < p_later
    later_d = floor_to(disch[la], DAY) + (2 + np.minimum(rng.exponential(300, has.sum()), 3 * 365)).astype(np.int64) * DAY
    dod_has = np.where(died[la], floor_to(death[la], DAY), np.where(later, floor_to(later_d, DAY), -1))
    dod[has] = dod_has

    # ---- ages, ICD version, phenotypes
    years_since = (admit - year_start(anchor_year[a_pat])) / (365.25 * DAY)
    age = np.minimum(anchor_age[a_pat] + np.floor(years_since), 91)
    real_year = 2008 + 3 * year_group[a_pat] + tail_u[:, 2] * 3 + years_since
    icd10 = real_year >= 2015.5
    pheno = _phenotypes(ph, z_a, age, comorb[a_pat], has_icu, pheno_u[a_pat], streams)

    # ---- per-stay clinical course
    pa = pheno[s_adm]
    ix = ph.index
    resp = pa[:, ix("Respiratory failure")] | pa[:, ix("Pneumonia")]
    art = s_u[:, 0] < sigmoid(-0.6 + 1.0 * z_s + 1.5 * (first_cu == CVICU))
    vent = s_u[:, 1] < sigmoid(-1.1 + 1.3 * z_s + 1.6 * resp)
    dur = (s_end - intime).astype(float)
    vent_start = np.where(vent, intime + np.round(np.minimum(6 * H, dur / 4) * s_u[:, 2]), -1).astype(np.int64)
    vent_end = np.where(vent, vent_start + np.round((s_end - vent_start) * (0.35 + 0.6 * s_u[:, 3])), -1)
    dialysis = s_u[:, 4] < sigmoid(-4.2 + 1.0 * z_s + 2.6 * pa[:, ix("Acute and unspecified renal")]
                                   + 1.2 * pa[:, ix("Chronic kidney")])
    foley = s_u[:, 5] < sigmoid(0.7 + 0.9 * z_s)
    cvc = s_u[:, 7] < sigmoid(-0.4 + 1.0 * z_s)
    bronch = vent & (s_n[:, 2] > 1.2)
    m = male[a_pat[s_adm]]
    weight = np.clip(np.where(m, 86, 74) + 18 * s_n[:, 0], 40, 200).round(1)
    height_in = np.clip(np.where(m, 69.5, 64.0) + 2.9 * s_n[:, 1], 54, 80).round(0)
    temp_c = s_u[:, 6] < 0.12

    # ---- ids
    rng = streams("ids")
    hadm_id = unique_ids(rng, na, 20_000_000, 30_000_000)
    providers = _provider_ids(rng, max(50, min(2000, na // 4 + 1)))
    provider = rng.integers(0, len(providers), na)

    return Cohort(
        n_pat=n_pat, subject_id=subject_id, male=male, anchor_age=anchor_age, anchor_year=anchor_year,
        year_group=year_group, comorb=comorb, race=race, language=language, marital=marital, dod=dod,
        a_pat=a_pat, hadm_id=hadm_id, admit=admit, disch=disch, death=death, edreg=edreg, edout=edout,
        adm_type=adm_type, adm_loc=adm_loc, disch_loc=disch_loc, insurance=insurance, provider=provider,
        z_a=z_a, died=died, has_icu=has_icu, icd10=icd10, pheno=pheno, age=age, ward_unit=ward_unit,
        s_adm=s_adm, s_pat=a_pat[s_adm], stay_id=np.zeros(ns, dtype=np.int64), intime=intime,
        outtime=outtime, s_end=s_end, first_cu=first_cu, last_cu=last_cu, mid=mid, z_s=z_s, art=art,
        vent=vent, vent_start=vent_start, vent_end=vent_end.astype(np.int64), dialysis=dialysis,
        foley=foley, cvc=cvc, bronch=bronch, weight=weight, height_in=height_in, temp_c=temp_c, died_in_stay=died_in_stay,
        providers=providers,
    )


def _phenotypes(ph, z_a, age, comorb, has_icu, u_pat, streams) -> np.ndarray:
    rng = streams("phenotypes")
    na = len(z_a)
    out = np.zeros((na, len(ph.names)), dtype=bool)
    age10 = (age - 65) / 10
    for g, name in enumerate(ph.names):
        a, bz, bage, bc, chronic = _PHENO_MODEL[name]
        if chronic:
            p = sigmoid(a + bage * age10 + bc * comorb)
            out[:, g] = u_pat[:, g] < p  # the same patient keeps the condition
        else:
            p = sigmoid(a - 1.0 * (~has_icu) + bz * z_a + bage * age10 + bc * comorb)
            out[:, g] = rng.random(na) < p
    # coders use one of each pair
    dm_c, dm = ph.index("Diabetes mellitus with"), ph.index("Diabetes mellitus without")
    out[:, dm] &= ~out[:, dm_c]
    htn_c, htn = ph.index("Hypertension with"), ph.index("Essential hypertension")
    out[:, htn] &= ~out[:, htn_c]
    return out


# ---------------------------------------------------------------------------------------------- tables
def patients_df(c: Cohort, layout: str) -> pl.DataFrame:
    dod = c.dod
    if layout == "v1.0":  # v1.0 recorded in-hospital deaths only; v2.0 added out-of-hospital ones
        died_in_hosp = np.zeros(c.n_pat, dtype=bool)
        died_in_hosp[c.a_pat[c.died]] = True
        dod = np.where(died_in_hosp, dod, -1)
    return pl.DataFrame({
        "subject_id": c.subject_id,
        "gender": pick(("F", "M"), c.male.astype(np.int64)),
        "anchor_age": c.anchor_age,
        "anchor_year": c.anchor_year,
        "anchor_year_group": pick(YEAR_GROUPS, c.year_group),
        "dod": dates(np.maximum(dod, 0), dod < 0),
    })


def admissions_df(c: Cohort, layout: str) -> pl.DataFrame:
    alive = c.death < 0
    no_ed = c.edreg < 0
    adm_loc = pick(("EMERGENCY ROOM",) + tuple(n for n, _ in ADMISSION_LOCATIONS_NON_ED), c.adm_loc + 1)
    disch_loc = pick(("DIED",) + tuple(n or "" for n, _ in DISCHARGE_LOCATIONS), c.disch_loc + 1)
    disch_loc = pl.select(pl.when(disch_loc == "").then(None).otherwise(disch_loc)).to_series()
    marital = c.marital[c.a_pat]
    race_col = 1 if layout == "v1.0" else 0
    cols = {
        "subject_id": c.subject_id[c.a_pat],
        "hadm_id": c.hadm_id,
        "admittime": ts(c.admit),
        "dischtime": ts(c.disch),
        "deathtime": ts(np.maximum(c.death, 0), alive),
        "admission_type": pick([t[0] for t in ADMISSION_TYPES], c.adm_type),
        "admit_provider_id": pick(c.providers, c.provider),
        "admission_location": adm_loc,
        "discharge_location": disch_loc,
        "insurance": pick([n for n, _ in INSURANCE], c.insurance),
        "language": pick([n for n, _ in LANGUAGE], c.language[c.a_pat]),
        "marital_status": pick([n or "" for n, _ in MARITAL], marital, marital == len(MARITAL) - 1),
        ("ethnicity" if layout == "v1.0" else "race"): pick([r[race_col] for r in RACES], c.race[c.a_pat]),
        "edregtime": ts(np.maximum(c.edreg, 0), no_ed),
        "edouttime": ts(np.maximum(c.edout, 0), no_ed),
        "hospital_expire_flag": (~alive).astype(np.int64),
    }
    if layout == "v1.0":
        del cols["admit_provider_id"]
    return pl.DataFrame(cols)


def stays_and_transfers(c: Cohort, streams: Streams) -> tuple[pl.DataFrame, pl.DataFrame]:
    """icustays and transfers. Fills c.stay_id."""
    rng = streams("transfers")
    na, ns = c.n_adm, c.n_stay
    has_mid = c.mid >= 0
    # segments: (adm, start, end, unit label, kind) kind: 0 ED, 1 unit, 2 discharge
    seg_adm, seg_start, seg_end, seg_unit, seg_kind, seg_stay = [], [], [], [], [], []

    def add(adm, start, end, unit, kind, stay):
        seg_adm.append(adm)
        seg_start.append(start)
        seg_end.append(end)
        seg_unit.append(unit)
        seg_kind.append(np.full(len(adm), kind))
        seg_stay.append(stay)

    icu_names = [u[0] for u in ICU_UNITS]
    ward_names = [u[0] for u in WARD_UNITS]
    unit_names = ["Emergency Department"] + icu_names + ward_names
    ICU0, WARD0 = 1, 1 + len(icu_names)
    ed = np.flatnonzero(c.edreg >= 0)
    add(ed, c.edreg[ed], c.edout[ed], np.zeros(len(ed), np.int64), 0, np.full(len(ed), -1))
    st = np.arange(ns)
    first_start = np.where(c.edout >= 0, c.edout, c.admit)
    # ward before each stay (from admission/ED or the previous stay)
    same_adm = np.zeros(ns, dtype=bool)
    same_adm[1:] = c.s_adm[1:] == c.s_adm[:-1]
    prev_out = np.zeros(ns, dtype=np.int64)
    prev_out[1:] = c.outtime[:-1]
    prev_end = np.where(same_adm, prev_out, first_start[c.s_adm])
    w = np.flatnonzero(c.intime - prev_end > 60)
    add(c.s_adm[w], prev_end[w], c.intime[w], WARD0 + c.ward_unit[c.s_adm[w]], 1, np.full(len(w), -1))
    add(c.s_adm, c.intime, np.where(has_mid, c.mid, c.outtime), ICU0 + c.first_cu, 1, st)
    m = np.flatnonzero(has_mid)
    add(c.s_adm[m], c.mid[m], c.outtime[m], ICU0 + c.last_cu[m], 1, np.full(len(m), -1))
    # after the last stay, or the whole admission without ICU
    last_end = np.where(c.has_icu, 0, first_start)
    np.maximum.at(last_end, c.s_adm, c.outtime)
    a = np.flatnonzero(c.disch - last_end > 60)
    add(a, last_end[a], c.disch[a], WARD0 + c.ward_unit[a], 1, np.full(len(a), -1))
    end_all = np.maximum(c.disch, last_end)
    add(np.arange(na), end_all, np.full(na, -1), np.full(na, -1), 2, np.full(na, -1))

    seg = pl.DataFrame({
        "adm": np.concatenate(seg_adm), "start": np.concatenate(seg_start).astype(np.int64),
        "end": np.concatenate(seg_end).astype(np.int64), "unit": np.concatenate(seg_unit).astype(np.int64),
        "kind": np.concatenate(seg_kind).astype(np.int64), "stay": np.concatenate(seg_stay).astype(np.int64),
    }).sort(["adm", "start", "kind"], maintain_order=True)
    nseg = seg.height
    ids = unique_ids(rng, nseg, 30_000_000, 40_000_000)
    adm = seg["adm"].to_numpy()
    kind = seg["kind"].to_numpy()
    first_unit = (kind == 1) & np.r_[True, (adm[1:] != adm[:-1]) | (kind[:-1] == 0)]
    eventtype = np.where(kind == 0, 0, np.where(kind == 2, 3, np.where(first_unit, 1, 2)))
    stay = seg["stay"].to_numpy()
    c.stay_id = np.zeros(ns, dtype=np.int64)
    c.stay_id[stay[stay >= 0]] = ids[stay >= 0]
    unit = seg["unit"].to_numpy()
    end = seg["end"].to_numpy()
    transfers = pl.DataFrame({
        "subject_id": c.subject_id[c.a_pat[adm]],
        "hadm_id": c.hadm_id[adm],
        "transfer_id": ids,
        "eventtype": pick(("ED", "admit", "transfer", "discharge"), eventtype),
        "careunit": pick(unit_names, np.maximum(unit, 0), unit < 0),
        "intime": ts(seg["start"].to_numpy()),
        "outtime": ts(np.maximum(end, 0), end < 0),
    })
    # real files are not sorted; keep subjects together but shuffle rows of an admission a little
    icustays = pl.DataFrame({
        "subject_id": c.subject_id[c.s_pat],
        "hadm_id": c.hadm_id[c.s_adm],
        "stay_id": c.stay_id,
        "first_careunit": pick(icu_names, c.first_cu),
        "last_careunit": pick(icu_names, c.last_cu),
        "intime": ts(c.intime),
        "outtime": ts(c.outtime),
        "los": (c.outtime - c.intime) / DAY,
    })
    return icustays, transfers


def services_df(c: Cohort, streams: Streams) -> pl.DataFrame:
    rng = streams("services")
    na = c.n_adm
    svc_idx = {s: i for i, s in enumerate(SERVICES)}
    ward_svc = np.array([svc_idx[u[2]] for u in WARD_UNITS])
    icu_svc = np.array([svc_idx[u[2]] for u in ICU_UNITS])
    first = ward_svc[c.ward_unit]
    if c.n_stay:
        first_stay = np.full(na, c.n_stay)
        np.minimum.at(first_stay, c.s_adm, np.arange(c.n_stay))
        has = first_stay < c.n_stay
        first[has] = icu_svc[c.first_cu[first_stay[has]]]
    t0 = c.admit + rng.integers(0, 600, na)
    second = rng.random(na) < 0.15
    idx2 = np.flatnonzero(second)
    other = (first[idx2] + rng.integers(1, 5, len(idx2))) % 5  # among the common services
    t2 = t0[idx2] + (rng.uniform(0.2, 0.8, len(idx2)) * (c.disch[idx2] - c.admit[idx2])).astype(np.int64)
    adm = np.r_[np.arange(na), idx2]
    prev = np.r_[np.full(na, -1), first[idx2]]
    curr = np.r_[first, other]
    df = pl.DataFrame({
        "subject_id": c.subject_id[c.a_pat[adm]],
        "hadm_id": c.hadm_id[adm],
        "transfertime": ts(np.r_[t0, t2]),
        "prev_service": pick(SERVICES, np.maximum(prev, 0), prev < 0),
        "curr_service": pick(SERVICES, curr),
        "_o": adm,
    })
    return df.sort(["_o", "transfertime"], maintain_order=True).drop("_o")


def diagnoses_df(c: Cohort, streams: Streams) -> pl.DataFrame:
    rng = streams("diagnoses")
    ph = phenotypes()
    rows_adm, rows_code, rows_ver, rows_key = [], [], [], []
    ver = np.where(c.icd10, 10, 9)
    primary = {ph.index(n) for n in ("Septicemia", "Shock", "Respiratory failure", "Acute myocardial", "Pneumonia")}
    for g in range(len(ph.names)):
        a = np.flatnonzero(c.pheno[:, g])
        if not len(a):
            continue
        for v, codes in ((9, ph.codes9[g]), (10, ph.codes10[g])):
            sel = a[ver[a] == v]
            if not len(sel):
                continue
            rows_adm.append(sel)
            rows_code.append(np.asarray(codes, dtype=object)[rng.integers(0, len(codes), len(sel))])
            rows_ver.append(np.full(len(sel), v))
            rows_key.append(rng.random(len(sel)) - (1.0 if g in primary else 0.0))
    # fillers: 2-12 non-phenotype codes per admission, without repeats
    for v, codes in ((9, _dicts.FILLER_DX_9), (10, _dicts.FILLER_DX_10)):
        sel = np.flatnonzero(ver == v)
        k = np.minimum(2 + rng.poisson(5, len(sel)), len(codes))
        order = np.argsort(rng.random((len(sel), len(codes))), axis=1)
        take = np.arange(len(codes))[None, :] < k[:, None]
        ai, pos = np.nonzero(take)
        rows_adm.append(sel[ai])
        rows_code.append(np.asarray(codes, dtype=object)[order[ai, pos]])
        rows_ver.append(np.full(len(ai), v))
        rows_key.append(rng.random(len(ai)) + 0.3)
    adm = np.concatenate(rows_adm)
    code = np.concatenate(rows_code)
    key = np.concatenate(rows_key)
    order = np.lexsort((key, adm))
    adm, code, version = adm[order], code[order], np.concatenate(rows_ver)[order]
    seq = rank_within(adm)
    return pl.DataFrame({
        "subject_id": c.subject_id[c.a_pat[adm]],
        "hadm_id": c.hadm_id[adm],
        "seq_num": seq + 1,
        "icd_code": pl.Series(code.tolist(), dtype=pl.String),
        "icd_version": version,
    })


# procedures: (icd9, icd10, condition) — condition names a stay flag or "any"
_PROCS = (
    ("9604", "0BH17EZ", "vent"), ("9671", "5A1945Z", "vent_short"), ("9672", "5A1955Z", "vent_long"),
    ("3893", "02HV33Z", "cvc"), ("3891", "02H633Z", "art"), ("3995", "5A1D70Z", "dialysis"),
    ("966", "3E0G76Z", "vent"), ("3324", "0BJ08ZZ", "bronch"), ("5491", "0W9G3ZZ", "any"),
    ("4513", "0DJ08ZZ", "any"), ("8856", "B211YZZ", "ami"),
)


def procedures_df(c: Cohort, streams: Streams) -> pl.DataFrame:
    rng = streams("procedures_icd")
    titles9 = {r.split("\t")[0] for r in _dicts.D_ICD_PROCEDURES.splitlines() if r.split("\t")[1] == "9"}
    titles10 = {r.split("\t")[0] for r in _dicts.D_ICD_PROCEDURES.splitlines() if r.split("\t")[1] == "10"}
    na = c.n_adm
    ph = phenotypes()
    vent_h = (c.vent_end - c.vent_start) / H
    icu_flags = {
        "vent": c.vent, "vent_short": c.vent & (vent_h < 96), "vent_long": c.vent & (vent_h >= 96),
        "cvc": c.cvc, "art": c.art, "dialysis": c.dialysis, "bronch": c.bronch,
    }
    adm_flags = {}
    for k, v in icu_flags.items():
        adm_flags[k] = np.zeros(na, bool)
        np.logical_or.at(adm_flags[k], c.s_adm, v)
    adm_flags["any"] = rng.random(na) < 0.12
    adm_flags["ami"] = c.pheno[:, ph.index("Acute myocardial")] & (rng.random(na) < 0.6)
    rows_adm, rows_code, rows_ver, rows_t = [], [], [], []
    for p9, p10, cond in _PROCS:
        a = np.flatnonzero(adm_flags[cond])
        v10 = c.icd10[a]
        code = np.where(v10, p10, p9)
        ok = np.where(v10, p10 in titles10, p9 in titles9)
        a, code, v10 = a[ok], code[ok], v10[ok]
        rows_adm.append(a)
        rows_code.append(code)
        rows_ver.append(np.where(v10, 10, 9))
        rows_t.append(c.admit[a] + (rng.random(len(a)) * 0.6 * (c.disch[a] - c.admit[a])).astype(np.int64))
    adm = np.concatenate(rows_adm)
    t = np.concatenate(rows_t)
    order = np.lexsort((t, adm))
    adm, t = adm[order], t[order]
    code = np.concatenate(rows_code)[order]
    ver = np.concatenate(rows_ver)[order]
    seq = rank_within(adm)
    return pl.DataFrame({
        "subject_id": c.subject_id[c.a_pat[adm]],
        "hadm_id": c.hadm_id[adm],
        "seq_num": seq + 1,
        "chartdate": dates(t),
        "icd_code": pl.Series(code.tolist(), dtype=pl.String),
        "icd_version": ver,
    })


def d_icd_df(text: str) -> pl.DataFrame:
    rows = [r.split("\t") for r in text.splitlines()]
    return pl.DataFrame({
        "icd_code": [r[0] for r in rows],
        "icd_version": [int(r[1]) for r in rows],
        "long_title": [r[2] for r in rows],
    })
