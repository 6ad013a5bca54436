"""Event tables, generated per batch of patients: chartevents, labevents, procedureevents, inputevents,
outputevents. Everything is vectorised per item kind; the latent severity of a stay (z_s, drifting over
the stay: sicker-and-dying stays worsen, survivors recover) moves vitals, labs and interventions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ._cohort import Cohort, phenotypes
from ._common import MIN, H, Streams, at, choose, expand, floor_to, masked, num_text, pick, sigmoid, ts

# ------------------------------------------------------------------------------------------------ ids


class Bijection:
    """Unique, random-looking ids: lo + (a*k + b) mod M for counters k < M (M prime)."""

    def __init__(self, rng: np.random.Generator, lo: int, m: int):
        self.lo, self.m = lo, m
        self.a = int(rng.integers(m // 3, m - 1))
        self.b = int(rng.integers(0, m))

    def __call__(self, k: np.ndarray) -> np.ndarray:
        k = np.asarray(k, dtype=np.int64)
        return self.lo + (self.a * k + self.b) % self.m


@dataclass
class Counters:
    labevent: int = 0
    specimen: int = 0
    order: int = 0


# ------------------------------------------------------------------------------------------ vocab
GCS_EYE = ("None", "To Pain", "To Speech", "Spontaneously")  # score 1..4
GCS_VERBAL = ("No Response", "Incomprehensible sounds", "Inappropriate Words", "Confused", "Oriented")
GCS_MOTOR = ("No response", "Abnormal extension", "Abnormal Flexion", "Flex-withdraws", "Localizes Pain",
             "Obeys Commands")
RHYTHMS = ("SR (Sinus Rhythm)", "ST (Sinus Tachycardia)", "SB (Sinus Bradycardia)", "AF (Atrial Fibrillation)",
           "1st AV (First degree AV Block)", "Paced")
CHART_COLUMNS = ["subject_id", "hadm_id", "stay_id", "caregiver_id", "charttime", "storetime", "itemid",
                 "value", "valuenum", "valueuom", "warning"]
LAB_COLUMNS = ["labevent_id", "subject_id", "hadm_id", "specimen_id", "itemid", "order_provider_id",
               "charttime", "storetime", "value", "valuenum", "valueuom", "ref_range_lower",
               "ref_range_upper", "flag", "priority", "comments"]
PROC_COLUMNS = ["subject_id", "hadm_id", "stay_id", "caregiver_id", "starttime", "endtime", "storetime",
                "itemid", "value", "valueuom", "location", "locationcategory", "orderid", "linkorderid",
                "ordercategoryname", "ordercategorydescription", "patientweight", "isopenbag",
                "continueinnextdept", "statusdescription", "ORIGINALAMOUNT", "ORIGINALRATE"]
INPUT_COLUMNS = ["subject_id", "hadm_id", "stay_id", "caregiver_id", "starttime", "endtime", "storetime",
                 "itemid", "amount", "amountuom", "rate", "rateuom", "orderid", "linkorderid",
                 "ordercategoryname", "secondaryordercategoryname", "ordercomponenttypedescription",
                 "ordercategorydescription", "patientweight", "totalamount", "totalamountuom", "isopenbag",
                 "continueinnextdept", "statusdescription", "originalamount", "originalrate"]
OUTPUT_COLUMNS = ["subject_id", "hadm_id", "stay_id", "caregiver_id", "charttime", "storetime", "itemid",
                  "value", "valueuom"]

GLUCOSE_COMMENT = "IF FASTING, 70-100 NORMAL, >125 PROVISIONAL DIABETES."


def _null(n: int, dtype) -> pl.Series:
    return pl.repeat(None, n, dtype=dtype, eager=True)


def _const(v, n: int, dtype) -> pl.Series:
    return pl.repeat(v, n, dtype=dtype, eager=True)


# ------------------------------------------------------------------------------------------ batch
class Batch:
    """The stays and admissions of one batch of patients, with helpers shared by the event tables."""

    def __init__(self, c: Cohort, streams: Streams, b: int, p_lo: int, p_hi: int, studies):
        self.c = c
        self.b = b
        self._streams = streams
        self.rng = streams("events", b)
        a = np.flatnonzero((c.a_pat >= p_lo) & (c.a_pat < p_hi))
        s = np.flatnonzero((c.s_pat >= p_lo) & (c.s_pat < p_hi))
        self.p_lo, self.p_hi = p_lo, p_hi
        self.adm = a
        self.stays = s
        ph = phenotypes()
        self.ph = ph
        pa = c.pheno
        self.flag = {
            "sepsis": pa[:, ph.index("Septicemia")], "shock": pa[:, ph.index("Shock")],
            "resp": pa[:, ph.index("Respiratory failure")] | pa[:, ph.index("Pneumonia")],
            "copd": pa[:, ph.index("Chronic obstructive")], "arf": pa[:, ph.index("Acute and unspecified renal")],
            "ckd": pa[:, ph.index("Chronic kidney")], "dm": pa[:, ph.index("Diabetes mellitus with")]
            | pa[:, ph.index("Diabetes mellitus without")], "chf": pa[:, ph.index("Congestive heart")],
            "stroke": pa[:, ph.index("Acute cerebrovascular")], "gib": pa[:, ph.index("Gastrointestinal")],
            "arrhythmia": pa[:, ph.index("Cardiac dysrhythmias")], "pneumonia": pa[:, ph.index("Pneumonia")],
            "liver": pa[:, ph.index("Other liver")],
        }
        self.dies = c.died  # per admission
        self.studies = studies
        # per-stay personal offsets (standard normal), one column per channel
        self.pers = np.zeros((c.n_stay, 12))
        self.pers[s] = self.rng.normal(0, 1, (len(s), 12))
        self.caregivers = self.rng.integers(1000, 99999, size=max(8, len(s) // 3 + 8))

    def use(self, table: str) -> np.random.Generator:
        """Switch to the table's own stream for this batch (tables do not shift each other's numbers)."""
        self.rng = self._streams(table, self.b)
        return self.rng

    def af(self, name: str, owner_stay: np.ndarray) -> np.ndarray:
        """Admission-level phenotype flag for rows owned by stays."""
        return self.flag[name][self.c.s_adm[owner_stay]].astype(float)

    def severity(self, o: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Latent severity of stay o at time t: dying stays worsen, survivors recover."""
        c = self.c
        span = np.maximum(c.s_end[o] - c.intime[o], 1)
        frac = np.clip((t - c.intime[o]) / span, 0, 1)
        z = c.z_s[o]
        dying = self.dies[c.s_adm[o]]
        return np.where(dying, z + 0.9 * frac, z * (1 - 0.5 * frac) - 0.2 * frac)

    def schedule(self, o: np.ndarray, start: np.ndarray, end: np.ndarray, every_h, jitter_min: float = 8,
                 rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Regular times from start to end (per owner o), every `every_h` hours, jittered, to the minute."""
        rng = rng or self.rng
        every = np.broadcast_to(np.asarray(every_h, dtype=float) * H, o.shape)
        phase = rng.random(len(o)) * np.minimum(every, np.maximum(end - start, 0)) * 0.5
        n = np.where(end > start, np.floor((end - start - phase) / every) + 1, 0).astype(np.int64)
        n = np.maximum(n, 0)
        i, k = expand(n)
        t = start[i] + phase[i] + k * every[i] + rng.normal(0, jitter_min * MIN, len(i))
        t = floor_to(np.clip(t, start[i], end[i]), MIN)
        t = np.where(t < start[i], t + MIN, t)  # never before the window (start may carry seconds)
        ok = t <= end[i]
        return o[i][ok], t[ok]

    def caregiver(self, n: int) -> np.ndarray:
        return self.caregivers[self.rng.integers(0, len(self.caregivers), n)]


# ------------------------------------------------------------------------------------------ chartevents
class _Rows:
    def __init__(self):
        self.frames: list[pl.DataFrame] = []

    def add(self, o, t, itemid: int, num=None, text: pl.Series | None = None, uom: str | None = None,
            keep: float = 0.98, rng: np.random.Generator | None = None):
        n = len(o)
        if n == 0:
            return
        if keep < 1.0 and rng is not None:
            k = rng.random(n) < keep
            o, t = o[k], t[k]
            num = None if num is None else num[k]
            text = None if text is None else text.filter(pl.Series(k))
            n = len(o)
        if num is not None:
            valuenum = pl.Series(np.asarray(num, dtype=np.float64))
            value = text if text is not None else num_text(num)
        else:
            valuenum = _null(n, pl.Float64)
            value = text if text is not None else _null(n, pl.String)
        self.frames.append(pl.DataFrame({
            "o": np.asarray(o, dtype=np.int64), "t": np.asarray(t, dtype=np.int64),
            "itemid": _const(itemid, n, pl.Int64), "value": value.cast(pl.String),
            "valuenum": valuenum, "valueuom": _const(uom, n, pl.String),
        }))


def chartevents(bt: Batch) -> pl.DataFrame:
    c, rng = bt.c, bt.use("chartevents")
    s = bt.stays
    R = _Rows()
    start, end = c.intime[s], c.s_end[s]
    pers = bt.pers
    # ---------------- vitals, every 1-2 h
    o, t = bt.schedule(s, start + rng.uniform(0, 20, len(s)) * MIN, end, rng.uniform(1.0, 2.0, len(s)))
    z = bt.severity(o, t)
    n = len(o)
    e = rng.normal(0, 1, (n, 6))
    hr = 84 + 9 * pers[o, 0] + 8 * z + 7 * bt.af("sepsis", o) + e[:, 0] * (6 + 8 * bt.af("arrhythmia", o))
    hr = np.clip(hr, 35, 185).round()
    sbp = 121 + 13 * pers[o, 1] - 8 * z - 14 * bt.af("shock", o) + 9 * e[:, 1]
    sbp = np.clip(sbp, 55, 225).round()
    dbp = np.clip(0.52 * sbp + 2 + 6 * pers[o, 2] + 5 * e[:, 2], 25, 135).round()
    mbp = np.clip((sbp + 2 * dbp) / 3 + 2.5 * e[:, 3], 35, 170).round()
    rr = np.clip(18 + 3 * pers[o, 3] + 2.8 * z + 3 * bt.af("resp", o) + 2.8 * e[:, 4], 6, 48).round()
    deficit = np.exp(np.log(2.3) + 0.35 * z + 0.35 * bt.af("resp", o) + 0.25 * bt.af("copd", o)
                     + 0.25 * pers[o, 4] + 0.4 * e[:, 5])
    spo2 = np.clip(100 - deficit, 62, 100).round()
    R.add(o, t, 220045, hr, uom="bpm", rng=rng)
    R.add(o, t, 220210, rr, uom="insp/min", rng=rng)
    R.add(o, t, 220277, spo2, uom="%", rng=rng)
    art = c.art[o]
    art_alt = art & (pers[o, 11] > 1.6)  # a few stays chart the ART BP item set
    nibp = ~art | (rng.random(n) < 0.25)
    for ids, shift, sel in (((220050, 220051, 220052), 0, art & ~art_alt),
                            ((225309, 225310, 225312), 0, art & art_alt),
                            ((220179, 220180, 220181), 3, nibp)):
        i = np.flatnonzero(sel)
        d = rng.normal(0, 4, len(i))
        R.add(o[i], t[i], ids[0], np.clip(sbp[i] + d + shift, 50, 230).round(), uom="mmHg", rng=rng)
        R.add(o[i], t[i], ids[1], np.clip(dbp[i] + d / 2, 20, 140).round(), uom="mmHg", rng=rng)
        R.add(o[i], t[i], ids[2], np.clip(mbp[i] + d / 2, 30, 170).round(), uom="mmHg", rng=rng)
    # IABP for a few cardiac stays
    i = np.flatnonzero(np.isin(c.first_cu[o], (2, 5)) & (pers[o, 10] > 2.0))
    R.add(o[i], t[i], 224322, np.clip(mbp[i] + 8 + rng.normal(0, 5, len(i)), 40, 140).round(), uom="mmHg")
    # manual BP, rare
    i = np.flatnonzero(rng.random(n) < 0.004)
    for itemid in (224167, 227243):
        j = i[rng.random(len(i)) < 0.5]
        R.add(o[j], t[j], itemid, np.clip(sbp[j] + rng.normal(0, 6, len(j)), 60, 230).round(), uom="mmHg")
    R.add(o[i], t[i], 224643, np.clip(dbp[i] + rng.normal(0, 5, len(i)), 25, 130).round(), uom="mmHg")

    # ---------------- every ~4 h: temperature, GCS, rhythm, nursing text items
    o, t = bt.schedule(s, start + rng.uniform(0, 60, len(s)) * MIN, end, rng.uniform(3.5, 4.5, len(s)))
    z = bt.severity(o, t)
    n = len(o)
    temp = 36.9 + 0.35 * pers[o, 5] + 0.3 * z + 0.5 * bt.af("sepsis", o) * (rng.random(n) < 0.5) \
        + 0.35 * rng.normal(0, 1, n)
    temp = np.clip(temp, 34.0, 41.5)
    use_c = c.temp_c[o] | (rng.random(n) < 0.03)
    i = np.flatnonzero(~use_c)
    R.add(o[i], t[i], 223761, (temp[i] * 1.8 + 32).round(1), uom="°F", rng=rng)
    i = np.flatnonzero(use_c)
    R.add(o[i], t[i], 223762, temp[i].round(1), uom="°C", rng=rng)
    neuro = 0.8 * z + 1.6 * bt.af("stroke", o) + 0.6 * pers[o, 6] + 0.45 * rng.normal(0, 1, n) - 0.2
    eye = 4 - np.digitize(neuro, [0.6, 1.2, 1.8])
    verbal = 5 - np.digitize(neuro, [0.3, 1.0, 1.5, 2.0])
    motor = 6 - np.digitize(neuro, [0.9, 1.5, 1.9, 2.2, 2.5])
    intub = c.vent[o] & (t >= c.vent_start[o]) & (t <= c.vent_end[o])
    R.add(o, t, 220739, eye.astype(float), text=pick(GCS_EYE, eye - 1), rng=rng)
    vtext = pick(GCS_VERBAL + ("No Response-ETT",), np.where(intub, 5, verbal - 1))
    R.add(o, t, 223900, np.where(intub, 1, verbal).astype(float), text=vtext, rng=rng)
    R.add(o, t, 223901, motor.astype(float), text=pick(GCS_MOTOR, motor - 1), rng=rng)
    af = bt.af("arrhythmia", o) > 0
    rhythm = np.where(af & (rng.random(n) < 0.6), 3, np.where(hr_like(z, rng) > 100, 1, 0))
    rhythm = np.where(rng.random(n) < 0.05, rng.integers(0, len(RHYTHMS), n), rhythm)
    R.add(o, t, 220048, text=pick(RHYTHMS, rhythm), rng=rng)
    for itemid, p in ((227969, 0.5), (224080, 0.4), (224082, 0.4), (224650, 0.15)):
        i = np.flatnonzero(rng.random(n) < p)
        R.add(o[i], t[i], itemid)  # text-only rows: no value, no valuenum

    # ---------------- ventilated stays: FiO2, RR total/spontaneous every ~4 h while intubated
    v = s[c.vent[s]]
    o, t = bt.schedule(v, c.vent_start[v] + 30 * MIN, c.vent_end[v], rng.uniform(3, 5, len(v)))
    z = bt.severity(o, t)
    n = len(o)
    fio2 = np.clip(5 * np.round((40 + 12 * z + 8 * rng.normal(0, 1, n)) / 5), 30, 100)
    R.add(o, t, 223835, fio2, rng=rng)
    rrt = np.clip(18 + 3 * z + 3 * rng.normal(0, 1, n), 8, 40).round()
    R.add(o, t, 224690, rrt, uom="insp/min", rng=rng)
    R.add(o, t, 224689, np.clip(rrt - rng.integers(6, 18, n), 0, 40), uom="insp/min", keep=0.9, rng=rng)
    i = np.flatnonzero(pers[o, 9] > 1.0)
    R.add(o[i], t[i], 224422, np.clip(rrt[i] + rng.normal(0, 3, len(i)), 4, 45).round(), uom="bpm")
    # oxygen by mask for some other stays
    nv = s[~c.vent[s] & (pers[s, 9] > 0.5)]
    o, t = bt.schedule(nv, c.intime[nv] + H, c.s_end[nv], 8.0)
    R.add(o, t, 223835, np.clip(5 * np.round((30 + 8 * rng.normal(0, 1, len(o))) / 5), 21, 60), rng=rng)

    # ---------------- glucose, blood gases
    o, t = bt.schedule(s, start + H, end, rng.uniform(5, 7, len(s)))
    z = bt.severity(o, t)
    glu = np.clip(125 + 15 * z + 55 * bt.af("dm", o) + 30 * rng.normal(0, 1, len(o)), 40, 520).round()
    R.add(o, t, 225664, glu, keep=0.9, rng=rng)
    o, t = bt.schedule(s, start + 2 * H, end, 12.0)
    z = bt.severity(o, t)
    n = len(o)
    R.add(o, t, 220621, np.clip(120 + 15 * z + 45 * bt.af("dm", o) + 28 * rng.normal(0, 1, n), 40, 600).round(),
          uom="mg/dL", rng=rng)
    ia = np.flatnonzero(c.art[o])
    ph_a = np.clip(7.40 - 0.045 * z[ia] - 0.05 * bt.af("shock", o[ia]) + 0.035 * rng.normal(0, 1, len(ia)),
                   6.9, 7.65).round(2)
    R.add(o[ia], t[ia], 223830, ph_a, uom="units", rng=rng)
    sao2 = np.clip(97.5 - 1.5 * z[ia] + 1.5 * rng.normal(0, 1, len(ia)), 70, 100).round()
    R.add(o[ia], t[ia], 220227, sao2, uom="%", keep=0.6, rng=rng)
    iv = np.flatnonzero(~c.art[o] & (rng.random(n) < 0.15))
    R.add(o[iv], t[iv], 220274, np.clip(7.37 - 0.04 * z[iv] + 0.04 * rng.normal(0, 1, len(iv)), 6.9, 7.6).round(2),
          uom="units")
    iw = np.flatnonzero(c.art[o] & (rng.random(n) < 0.2))
    R.add(o[iw], t[iw], 226537, np.clip(125 + 15 * z[iw] + 40 * bt.af("dm", o[iw]) + 25 * rng.normal(0, 1, len(iw)),
                                         40, 600).round(), uom="mg/dL")

    # ---------------- weight and height: on admission, daily weight
    t0 = floor_to(start + rng.uniform(10, 120, len(s)) * MIN, MIN)
    w = c.weight[s]
    R.add(s, t0, 226512, w, uom="kg")
    i = np.flatnonzero(rng.random(len(s)) < 0.7)
    R.add(s[i], t0[i], 226531, (w[i] * 2.20462).round(1), uom="lbs")
    i = np.flatnonzero(rng.random(len(s)) < 0.55)
    R.add(s[i], t0[i], 226707, c.height_in[s[i]], uom="Inch")
    R.add(s[i], t0[i], 226730, (c.height_in[s[i]] * 2.54).round(), uom="cm")
    o, t = bt.schedule(s, start + 20 * H, end, 24.0, jitter_min=60)
    R.add(o, t, 224639, np.clip(c.weight[o] + rng.normal(0, 1.2, len(o)), 35, 210).round(1), uom="kg",
          keep=0.8, rng=rng)

    if not R.frames:
        return pl.DataFrame()
    df = pl.concat(R.frames, how="vertical").sort(["o", "t", "itemid"], maintain_order=True)
    o = df["o"].to_numpy()
    t = df["t"].to_numpy()
    n = df.height
    cg = bt.caregiver(n)
    store = t + np.where(rng.random(n) < 0.7, rng.integers(0, 40, n), rng.integers(40, 240, n)) * MIN
    warn = (rng.random(n) < 0.003).astype(np.int64)
    num = df["valuenum"]
    return pl.DataFrame({
        "subject_id": c.subject_id[c.s_pat[o]],
        "hadm_id": c.hadm_id[c.s_adm[o]],
        "stay_id": c.stay_id[o],
        "caregiver_id": cg,
        "charttime": ts(t),
        "storetime": ts(store),
        "itemid": df["itemid"],
        "value": df["value"],
        "valuenum": pl.select(pl.when(num.round(0) == num).then(num.cast(pl.Int64).cast(pl.String))
                              .otherwise(num.cast(pl.String))).to_series(),
        "valueuom": df["valueuom"],
        "warning": warn,
    })


def hr_like(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return 84 + 10 * z + 12 * rng.normal(0, 1, len(z))


# ------------------------------------------------------------------------------------------ labevents
# itemid: (uom, ref_lo, ref_hi, decimals, lo, hi)
LAB_META = {
    50931: ("mg/dL", 70, 100, 0, 30, 900), 50809: ("mg/dL", 70, 105, 0, 30, 900),
    50971: ("mEq/L", 3.3, 5.1, 1, 2.0, 8.5), 50983: ("mEq/L", 133, 145, 0, 112, 170),
    50902: ("mEq/L", 96, 108, 0, 75, 135), 50882: ("mEq/L", 22, 32, 0, 5, 48), 50868: ("mEq/L", 8, 20, 0, 2, 45),
    50912: ("mg/dL", 0.5, 1.2, 1, 0.2, 16), 51006: ("mg/dL", 6, 20, 0, 2, 200),
    50893: ("mg/dL", 8.4, 10.3, 1, 5.0, 14), 50960: ("mg/dL", 1.6, 2.6, 1, 0.7, 5),
    50970: ("mg/dL", 2.7, 4.5, 1, 0.5, 14), 51222: ("g/dL", 13.7, 17.5, 1, 4.0, 19),
    51221: ("%", 40, 51, 1, 12, 60), 51265: ("K/uL", 150, 400, 0, 5, 1200), 51301: ("K/uL", 4.0, 10.0, 1, 0.3, 80),
    51250: ("fL", 82, 98, 0, 60, 125), 51279: ("m/uL", 4.6, 6.1, 2, 1.2, 7), 51248: ("pg", 26, 32, 1, 17, 42),
    51249: ("g/dL", 32, 37, 1, 26, 39), 51277: ("%", 10.5, 15.5, 1, 10, 30), 51256: ("%", 34, 71, 1, 5, 98),
    51009: ("ug/mL", 10, 20, 1, 2, 60), 50820: ("units", 7.35, 7.45, 2, 6.8, 7.7),
    50813: ("mmol/L", 0.5, 2.0, 1, 0.3, 20), 50817: ("%", None, None, 0, 40, 100),
    51491: ("units", 5, 8, 1, 5, 9), 51094: (None, None, None, 1, 5, 9), 50831: ("units", None, None, 2, 6.8, 7.8),
}
URINE_GLUCOSE = ("NEG", "70", "100", "150", "300", "1000")
# panel -> items; specimen shared within a panel
PANELS = {
    "chem": (50931, 50971, 50983, 50902, 50912, 51006, 50882, 50868),
    "chem_ext": (50893, 50960, 50970),
    "vanc": (51009,),
    "cbc": (51222, 51221, 51265, 51301, 51248, 51279, 51249, 51250, 51277),
    "diff": (51256,),
    "abg": (50820, 50813, 50809, 50817),
    "urine": (51478, 51491, 51094),
    "fluid": (50831,),
}
_SPECIMEN_OF = {"chem": 0, "chem_ext": 0, "vanc": 0, "cbc": 1, "diff": 1, "abg": 2, "urine": 3, "fluid": 4}


def _lab_values(bt: Batch, d_adm, d_z, rng) -> dict[int, np.ndarray]:
    """Values of every lab item for every draw (the panel decides which are reported)."""
    c = bt.c
    n = len(d_adm)
    fl = {k: v[d_adm].astype(float) for k, v in bt.flag.items()}
    # per-admission personal offsets (the same patient-admission keeps its level)
    pa = np.zeros((c.n_adm, 10))
    rng_p = np.random.default_rng(rng.integers(0, 1 << 62))
    pa[bt.adm] = rng_p.normal(0, 1, (len(bt.adm), 10))
    p = pa[d_adm]
    e = rng.normal(0, 1, (n, 20))
    z = d_z
    kid = np.maximum(fl["arf"], 0) * 0.6 + fl["ckd"] * 0.7
    v = {}
    v[50931] = np.exp(np.log(118) + 0.15 * p[:, 0] + 0.2 * e[:, 0] + 0.08 * z + 0.35 * fl["dm"])
    v[50809] = v[50931] * np.exp(0.05 * e[:, 1])
    v[50971] = 4.1 + 0.3 * p[:, 1] + 0.35 * e[:, 2] + 0.1 * z + 0.45 * kid
    v[50983] = 138.5 + 2.5 * p[:, 2] + 2.2 * e[:, 3] - 0.6 * z
    v[50902] = 100.5 + 3 * p[:, 3] + 2.5 * e[:, 4]
    v[50882] = 25 + 2.5 * p[:, 4] + 2.3 * e[:, 5] - 2.2 * np.maximum(z, -1) - 2 * fl["arf"]
    v[50912] = np.exp(np.log(0.95) + 0.25 * p[:, 5] + 0.1 * e[:, 6] + 0.22 * z + kid)
    v[51006] = np.exp(np.log(18) + 0.35 * p[:, 5] + 0.1 * e[:, 7] + 0.25 * z + 0.8 * kid)
    v[50893] = 8.6 + 0.45 * p[:, 6] + 0.3 * e[:, 8] - 0.2 * z
    v[50960] = 2.0 + 0.2 * p[:, 6] + 0.2 * e[:, 9]
    v[50970] = 3.5 + 0.6 * p[:, 7] + 0.5 * e[:, 10] + 0.2 * z + 1.2 * kid
    hgb = 10.8 + 1.5 * p[:, 8] + 0.5 * e[:, 11] - 0.5 * z - 1.8 * fl["gib"]
    v[51222] = hgb
    hct = hgb * 3.05 + 0.8 * e[:, 12]
    v[51221] = hct
    v[51265] = np.exp(np.log(215) + 0.35 * p[:, 9] + 0.1 * e[:, 13] - 0.15 * z - 0.5 * fl["liver"])
    v[51301] = np.exp(np.log(9.0) + 0.3 * p[:, 0] + 0.15 * e[:, 14] + 0.2 * z
                      + 0.35 * np.maximum(fl["sepsis"], fl["pneumonia"]))
    mcv = 90 + 5 * p[:, 1] + 1.0 * e[:, 15]
    v[51250] = mcv
    rbc = np.clip(hct, 10, 60) / mcv * 10
    v[51279] = rbc
    v[51248] = np.clip(hgb, 3, 20) / np.maximum(rbc, 0.5) * 10
    v[51249] = np.clip(hgb, 3, 20) / np.maximum(np.clip(hct, 10, 60), 5) * 100
    v[51277] = 14.8 + 1.5 * p[:, 2] + 0.3 * e[:, 16] + 0.3 * z
    v[51256] = 70 + 8 * p[:, 3] + 5 * e[:, 17] + 5 * z + 6 * fl["sepsis"]
    v[51009] = 15 + 5 * p[:, 4] + 3 * e[:, 18]
    v[50820] = 7.39 - 0.045 * z - 0.05 * fl["shock"] + 0.03 * p[:, 7] + 0.03 * e[:, 19]
    v[50813] = np.exp(np.log(1.4) + 0.3 * p[:, 8] + 0.2 * e[:, 0] * 0.7 + 0.35 * z + 0.6 * fl["shock"])
    v[50817] = 96 - 3 * np.maximum(z, 0) + 2 * e[:, 1]
    v[51491] = 5.0 + 0.5 * rng.integers(0, 7, n)
    v[51094] = v[51491].copy()
    v[50831] = 7.4 + 0.08 * e[:, 2]
    v[51478] = np.array([np.nan, 70, 100, 150, 300, 1000])[choose(rng, n, [60, 4, 8, 6, 8, 14])]
    for k, (_, _, _, dec, lo, hi) in LAB_META.items():
        if k in v:
            v[k] = np.clip(v[k], lo, hi).round(dec)
    v[50868] = np.clip(v[50983] - v[50902] - v[50882], 2, 45).round()
    return v


def labevents(bt: Batch, counters: Counters, spec_ids: Bijection) -> pl.DataFrame:
    c = bt.c
    rng = bt.use("labevents")
    s, a = bt.stays, bt.adm
    # ICU draws every 6-12 h from just before intime
    pre = np.maximum(c.intime[s] - rng.uniform(0.5, 5, len(s)) * H, c.admit[c.s_adm[s]])
    o_i, t_i = bt.schedule(s, pre, c.s_end[s], rng.uniform(6, 12, len(s)), jitter_min=30)
    z_i = bt.severity(o_i, t_i)
    # ward draws once a day: before the first stay, after the last one, or the whole admission
    first_in = np.full(c.n_adm, np.iinfo(np.int64).max)
    np.minimum.at(first_in, c.s_adm[s], c.intime[s])
    last_out = np.full(c.n_adm, -1, dtype=np.int64)
    np.maximum.at(last_out, c.s_adm[s], c.outtime[s])
    icu = c.has_icu[a]
    w_start = np.r_[c.admit[a], np.where(icu, last_out[a], c.disch[a])]
    w_end = np.r_[np.where(icu, pre_by_adm(c, a, first_in), c.disch[a]), np.where(icu, c.disch[a], 0)]
    w_adm = np.r_[a, a]
    ok = w_end - w_start > 6 * H
    w_adm, w_start, w_end = w_adm[ok], w_start[ok], w_end[ok]
    o_w, t_w = bt.schedule(w_adm, w_start + rng.uniform(1, 8, len(w_adm)) * H, w_end, 24.0, jitter_min=90)
    z_w = 0.5 * c.z_a[o_w] - 0.2
    # outpatient draws (no hadm_id): a few per patient, weeks-months before an admission
    pats = np.arange(bt.p_lo, bt.p_hi)
    first_adm = np.full(c.n_pat, c.n_adm)
    np.minimum.at(first_adm, c.a_pat[a], a)
    has_adm = first_adm < c.n_adm
    k = np.where(has_adm[pats] & (rng.random(len(pats)) < 0.35), rng.integers(1, 4, len(pats)), 0)
    op_pat, _ = expand(k)
    op_pat = pats[op_pat]
    ref_adm = first_adm[op_pat]
    t_o = floor_to(c.admit[ref_adm] - rng.uniform(5, 400, len(op_pat)) * 86400 + rng.uniform(7, 17, len(op_pat)) * H, MIN)
    z_o = -0.4 + 0.3 * c.comorb[op_pat]
    # all draws
    d_kind = np.r_[np.zeros(len(o_i)), np.ones(len(o_w)), np.full(len(op_pat), 2)].astype(np.int64)
    d_adm = np.r_[c.s_adm[o_i], o_w, ref_adm].astype(np.int64)
    d_stay = np.r_[o_i, np.full(len(o_w) + len(op_pat), -1)].astype(np.int64)
    d_pat = c.a_pat[d_adm]
    d_t = np.r_[t_i, t_w, t_o].astype(np.int64)
    d_z = np.r_[z_i, z_w, z_o]
    nd = len(d_t)
    d_art = at(c.art, d_stay, False)
    vals = _lab_values(bt, d_adm, d_z, rng)
    p_panel = {
        "chem": (0.95, 0.85, 0.9), "chem_ext": (0.75, 0.5, 0.3), "vanc": (0.07, 0.03, 0.0),
        "cbc": (0.9, 0.8, 0.8), "diff": (0.3, 0.2, 0.3), "abg": (0.05, 0.01, 0.0),
        "urine": (0.04, 0.05, 0.05), "fluid": (0.003, 0.002, 0.0),
    }
    has = {}
    for panel, probs in p_panel.items():
        pr = np.asarray(probs)[d_kind]
        if panel == "abg":
            pr = np.where(d_art, 0.55, pr)
        has[panel] = rng.random(nd) < pr
    has["chem_ext"] &= has["chem"]
    has["vanc"] &= has["chem"]
    has["diff"] &= has["cbc"]
    # specimens: one per (draw, specimen group) that has any panel
    spec_has = np.zeros((nd, 5), dtype=bool)
    for panel, grp in _SPECIMEN_OF.items():
        spec_has[:, grp] |= has[panel]
    spec_n = int(spec_has.sum())
    spec_idx = np.full((nd, 5), -1, dtype=np.int64)
    spec_idx[spec_has] = np.arange(spec_n)
    spec_id = spec_ids(counters.specimen + np.arange(spec_n))
    counters.specimen += spec_n
    spec_store = floor_to(rng.uniform(20, 180, spec_n) * MIN, MIN)
    frames = []
    for panel, items in PANELS.items():
        d = np.flatnonzero(has[panel])
        grp = _SPECIMEN_OF[panel]
        for itemid in items:
            dd = d[rng.random(len(d)) < (0.995 if panel != "urine" or itemid != 51094 else 0.1)]
            vn = vals[itemid][dd]
            uom, lo, hi, dec, _, _ = LAB_META.get(itemid, ("mg/dL", 0, 0, 0, 0, 0))
            if itemid == 51478:
                uom, lo, hi = "mg/dL", 0.0, 0.0
                text = pick(URINE_GLUCOSE, np.where(np.isnan(vn), 0, np.searchsorted([70, 100, 150, 300, 1000],
                                                                                      np.nan_to_num(vn)) + 1))
                abnormal = ~np.isnan(vn)
            else:
                text = num_text(vn)
                abnormal = (vn < lo) | (vn > hi) if lo is not None else np.zeros(len(dd), bool)
            m = len(dd)
            frames.append(pl.DataFrame({
                "d": dd, "spec": spec_idx[dd, grp], "itemid": _const(itemid, m, pl.Int64), "value": text,
                "valuenum": masked(np.nan_to_num(vn), np.isnan(vn)).cast(pl.Float64),
                "valueuom": _const(uom, m, pl.String),
                "ref_range_lower": _const(lo, m, pl.Float64), "ref_range_upper": _const(hi, m, pl.Float64),
                "flag": pick(("", "abnormal"), abnormal.astype(np.int64), ~abnormal),
                "comments": _const(GLUCOSE_COMMENT if itemid == 50931 else None, m, pl.String),
            }))
    df = pl.concat(frames, how="vertical")
    d = df["d"].to_numpy()
    order = np.lexsort((df["itemid"].to_numpy(), df["spec"].to_numpy(), d_t[d], d_pat[d]))
    df = df[order]
    d = d[order]
    n = df.height
    spec = df["spec"].to_numpy()
    prio = np.where(d_kind == 0, choose(rng, nd, [60, 35, 5]), np.where(d_kind == 1, choose(rng, nd, [35, 60, 5]),
                                                                        choose(rng, nd, [0, 30, 70])))
    prov = np.where(rng.random(nd) < 0.15, rng.integers(0, len(c.providers), nd), -1)
    no_hadm = d_kind[d] == 2
    out = pl.DataFrame({
        "labevent_id": counters.labevent + 1 + np.arange(n),
        "subject_id": c.subject_id[d_pat[d]],
        "hadm_id": masked(c.hadm_id[d_adm[d]], no_hadm),
        "specimen_id": spec_id[spec],
        "itemid": df["itemid"],
        "order_provider_id": pick(c.providers, np.maximum(prov[d], 0), prov[d] < 0),
        "charttime": ts(d_t[d]),
        "storetime": ts(d_t[d] + spec_store[spec]),
        "value": df["value"],
        "valuenum": num_text(df["valuenum"].fill_null(np.nan).to_numpy(), df["valuenum"].is_null().to_numpy()),
        "valueuom": df["valueuom"],
        "ref_range_lower": df["ref_range_lower"],
        "ref_range_upper": df["ref_range_upper"],
        "flag": df["flag"],
        "priority": pick(("STAT", "ROUTINE", ""), prio[d], prio[d] == 2),
        "comments": df["comments"],
    })
    counters.labevent += n
    return out


def pre_by_adm(c: Cohort, a: np.ndarray, first_in: np.ndarray) -> np.ndarray:
    return np.where(first_in[a] == np.iinfo(np.int64).max, c.disch[a], first_in[a] - 3 * H)


# ------------------------------------------------------------------------------------------ procedureevents
# itemid: (kind, valueuom, ordercategoryname, location choices, locationcategory)
_PROC_ITEMS = {
    229351: ("cont", "Tubes", (), ""), 224264: ("cont", "Invasive Lines", (), ""),
    224385: ("task", "Intubation/Extubation", (), ""), 225805: ("cont", "Dialysis", (), ""),
    225400: ("task", "Procedures", (), ""), 221223: ("task", "Procedures", (), ""),
    225802: ("cont", "Dialysis", ("Right IJ.", "Left IJ.", ""), "Dialysis"),
    224270: ("cont", "Invasive Lines", ("Right Subclavian", "Right IJ", "Left IJ", ""), "Invasive Venous"),
    227712: ("task", "Procedures", (), ""), 225441: ("cont", "Continuous Procedures", (), ""),
    225792: ("cont", "Ventilation", (), ""), 225459: ("task", "Imaging", (), ""),
    225752: ("cont", "Invasive Lines", ("Right Radial", "Left Radial", ""), "Invasive Arterial"),
    224275: ("cont", "Peripheral Lines", ("Right Antecubital", "Left Antecubital", "Right Cephalic Lower Arm",
                                          "Left Metacarpal", "Right Metacarpal", ""), "Peripheral"),
}


def procedureevents(bt: Batch, counters: Counters, order_ids: Bijection) -> pl.DataFrame:
    c, rng = bt.c, bt.use("procedureevents")
    s = bt.stays
    start, end = c.intime[s], c.s_end[s]
    dur = (end - start).astype(float)
    u = rng.random((len(s), 12))
    parts = []  # (owner, start, end, itemid)

    def add(mask, itemid, t0, t1):
        i = np.flatnonzero(mask)
        parts.append((s[i], floor_to(t0[i], MIN), floor_to(np.maximum(t1[i], t0[i] + MIN), MIN),
                      np.full(len(i), itemid)))

    add(c.foley[s], 229351, start + u[:, 0] * 4 * H, end - u[:, 1] * 6 * H)
    add(c.cvc[s], 224264, start + u[:, 2] * 0.3 * dur, end)
    v = c.vent[s]
    add(v, 224385, c.vent_start[s], c.vent_start[s] + MIN)
    add(v, 225792, c.vent_start[s], c.vent_end[s])
    add(c.bronch[s], 225400, start + (0.2 + 0.5 * u[:, 3]) * dur, start + (0.2 + 0.5 * u[:, 3]) * dur + MIN)
    add((u[:, 4] < 0.04 + 0.1 * bt.af("stroke", s)), 221223, start + u[:, 5] * dur, start + u[:, 5] * dur + MIN)
    crrt = c.dialysis[s] & (u[:, 6] < 0.7)
    add(crrt, 225802, start + (0.1 + 0.3 * u[:, 7]) * dur, end - 0.1 * dur)
    add(c.dialysis[s], 224270, start + 0.05 * dur, end)
    add(c.dialysis[s] & ~crrt, 225441, start + (0.2 + 0.3 * u[:, 8]) * dur, start + (0.2 + 0.3 * u[:, 8]) * dur + 4 * H)
    add(c.dialysis[s] & (u[:, 9] < 0.05), 225805, start + 0.2 * dur, start + 0.2 * dur + 6 * H)
    add((c.first_cu[s] == 2) & (u[:, 10] < 0.4), 227712, start + (0.5 + 0.4 * u[:, 10]) * dur,
        start + (0.5 + 0.4 * u[:, 10]) * dur + MIN)
    add(c.art[s], 225752, start + u[:, 11] * 2 * H, end - u[:, 0] * 0.2 * dur)
    add(u[:, 1] < 0.6, 224275, start - u[:, 2] * 6 * H, start + (0.5 + 0.5 * u[:, 3]) * dur)
    # chest x-rays taken in the unit
    st = bt.studies
    in_b = (st.stay >= 0) & np.isin(st.stay, s)
    so = st.stay[in_b]
    stt = st.time[in_b]
    inside = (stt >= c.intime[so]) & (stt <= c.s_end[so])
    parts.append((so[inside], floor_to(stt[inside], MIN), floor_to(stt[inside], MIN) + MIN,
                  np.full(int(inside.sum()), 225459)))
    o = np.concatenate([p[0] for p in parts])
    t0 = np.concatenate([p[1] for p in parts])
    t1 = np.concatenate([p[2] for p in parts])
    item = np.concatenate([p[3] for p in parts])
    order = np.lexsort((item, t0, o))
    o, t0, t1, item = o[order], t0[order], t1[order], item[order]
    n = len(o)
    is_cont = np.isin(item, [i for i, m in _PROC_ITEMS.items() if m[0] == "cont"])
    minutes = np.maximum((t1 - t0) // MIN, 1)
    value = np.where(is_cont, minutes, 1).astype(float)
    in_days = item == 225802  # CRRT is charted in days
    value = np.where(in_days, np.round(minutes / 1440.0, 4), value)
    cat = _map(item, {i: m[1] for i, m in _PROC_ITEMS.items()})
    loc_u = rng.random(n)
    loc = np.full(n, "", dtype=object)
    loccat = np.full(n, "", dtype=object)
    for itemid, (_, _, choices, lc) in _PROC_ITEMS.items():
        if not choices:
            continue
        i = np.flatnonzero(item == itemid)
        pickd = np.asarray(choices, dtype=object)[(loc_u[i] * len(choices)).astype(np.int64)]
        loc[i] = pickd
        loccat[i] = np.where(pickd == "", "", lc)
    location = pl.Series(loc.tolist(), dtype=pl.String)
    location = pl.select(pl.when(location == "").then(None).otherwise(location)).to_series()
    locationcat = pl.Series(loccat.tolist(), dtype=pl.String)
    locationcat = pl.select(pl.when(locationcat == "").then(None).otherwise(locationcat)).to_series()
    oid = order_ids(counters.order + np.arange(n))
    counters.order += n
    store = np.where(is_cont, t1 + rng.integers(0, 1800, n), t0 + rng.integers(0, 3 * 3600, n))
    status = np.where(is_cont & (rng.random(n) < 0.06), 1, 0)
    cg = bt.caregiver(n)
    return pl.DataFrame({
        "subject_id": c.subject_id[c.s_pat[o]],
        "hadm_id": c.hadm_id[c.s_adm[o]],
        "stay_id": c.stay_id[o],
        "caregiver_id": masked(cg, rng.random(n) < 0.3),
        "starttime": ts(t0),
        "endtime": ts(t1),
        "storetime": ts(store),
        "itemid": item.astype(np.int64),
        "value": num_text(value),
        "valueuom": pick(("None", "min", "day"), is_cont.astype(np.int64) + in_days),
        "location": location,
        "locationcategory": locationcat,
        "orderid": oid,
        "linkorderid": oid,
        "ordercategoryname": cat,
        "ordercategorydescription": pick(("Task", "ContinuousProcess"), is_cont.astype(np.int64)),
        "patientweight": num_text(c.weight[o]),
        "isopenbag": is_cont.astype(np.int64),
        "continueinnextdept": np.zeros(n, dtype=np.int64),
        "statusdescription": pick(("FinishedRunning", "Stopped"), status),
        "ORIGINALAMOUNT": num_text(value),
        "ORIGINALRATE": is_cont.astype(np.int64),
    })


def _map(keys: np.ndarray, table: dict) -> pl.Series:
    ks = np.array(sorted(table))
    vals = [table[k] for k in ks]
    return pl.Series(vals, dtype=pl.String).gather(np.searchsorted(ks, keys))


# ------------------------------------------------------------------------------------------ inputevents
# itemid: (amountuom, rateuom, ordercategoryname, secondary, componenttype, categorydescription)
_INPUTS = {
    225158: ("ml", "mL/hour", "01-Drips", "02-Fluids (Crystalloids)", "Mixed solution", "Continuous Med"),
    220949: ("ml", "mL/hour", "01-Drips", "02-Fluids (Crystalloids)", "Mixed solution", "Continuous Med"),
    221906: ("mg", "mcg/kg/min", "01-Drips", "02-Fluids (Crystalloids)", "Main order parameter", "Continuous Med"),
    222168: ("mg", "mcg/kg/min", "01-Drips", "02-Fluids (Crystalloids)", "Main order parameter", "Continuous Med"),
    221749: ("mg", "mcg/kg/min", "01-Drips", "02-Fluids (Crystalloids)", "Main order parameter", "Continuous Med"),
    221744: ("mg", "mcg/kg/hour", "01-Drips", "02-Fluids (Crystalloids)", "Main order parameter", "Continuous Med"),
}


def inputevents(bt: Batch, counters: Counters, order_ids: Bijection) -> pl.DataFrame:
    c, rng = bt.c, bt.use("inputevents")
    s = bt.stays
    start, end = c.intime[s], c.s_end[s]
    u = rng.random((len(s), 6))
    z = c.z_s[s]
    segs = []  # owner, t, every, itemid, rate function
    shock = (bt.af("shock", s) > 0) | (u[:, 0] < sigmoid(-2.2 + 1.4 * z))
    pres_end = start + (end - start) * (0.3 + 0.6 * u[:, 1])
    vs, ve = c.vent_start[s], c.vent_end[s]
    plan = (
        (225158, np.ones(len(s), bool), start, end, 6.0),
        (220949, u[:, 2] < 0.3, start, end, 8.0),
        (221906, shock, start, pres_end, 2.0),
        (221749, shock & (u[:, 3] < 0.3), start, pres_end, 3.0),
        (222168, c.vent[s], vs, ve, 3.0),
        (221744, c.vent[s] & (u[:, 4] < 0.5), vs, ve, 4.0),
    )
    for itemid, mask, t0, t1, every in plan:
        i = np.flatnonzero(mask & (t1 > t0 + H))
        o, t = bt.schedule(s[i], t0[i], t1[i], every, jitter_min=15)
        segs.append((o, t, every, itemid))
    o = np.concatenate([x[0] for x in segs])
    t = np.concatenate([x[1] for x in segs])
    every = np.concatenate([np.full(len(x[0]), x[2]) for x in segs])
    item = np.concatenate([np.full(len(x[0]), x[3]) for x in segs])
    order = np.lexsort((item, t, o))
    o, t, every, item = o[order], t[order], every[order], item[order]
    n = len(o)
    zt = bt.severity(o, t)
    wt = c.weight[o]
    dur_min = np.maximum(np.round(every * 60 * rng.uniform(0.6, 1.0, n)), 1)
    rate = np.select(
        [item == 225158, item == 220949, item == 221906, item == 221749, item == 222168, item == 221744],
        [rng.choice([10.0, 20, 50, 75, 100, 150], n), rng.choice([10.0, 20, 50, 100], n),
         np.clip(0.08 * np.exp(0.5 * zt + 0.4 * rng.normal(0, 1, n)), 0.01, 1.2),
         np.clip(0.8 * np.exp(0.4 * zt + 0.4 * rng.normal(0, 1, n)), 0.1, 5),
         np.clip(30 * np.exp(0.2 * zt + 0.3 * rng.normal(0, 1, n)), 5, 80),
         np.clip(1.0 * np.exp(0.3 * rng.normal(0, 1, n)), 0.2, 4)],
    )
    per_kg = np.isin(item, (221906, 221749, 222168, 221744))
    per_hour_kg = item == 221744
    amount = np.where(
        per_kg,
        np.where(per_hour_kg, rate * wt * dur_min / 60, rate * wt * dur_min) / 1000.0,
        rate * dur_min / 60.0,
    )
    t1 = t + dur_min.astype(np.int64) * MIN
    oid = order_ids(counters.order + np.arange(n))
    counters.order += n
    meta = {k: v for k, v in _INPUTS.items()}
    total = np.where(per_kg, rng.choice([50.0, 100, 250, 62.5], n), rng.choice([100.0, 250, 500, 1000], n))
    status = choose(rng, n, [70, 25, 5])
    return pl.DataFrame({
        "subject_id": c.subject_id[c.s_pat[o]],
        "hadm_id": c.hadm_id[c.s_adm[o]],
        "stay_id": c.stay_id[o],
        "caregiver_id": bt.caregiver(n),
        "starttime": ts(t),
        "endtime": ts(t1),
        "storetime": ts(t + rng.integers(-5, 40, n) * MIN),
        "itemid": item.astype(np.int64),
        "amount": amount,
        "amountuom": _map(item, {k: m[0] for k, m in meta.items()}),
        "rate": rate,
        "rateuom": _map(item, {k: m[1] for k, m in meta.items()}),
        "orderid": oid,
        "linkorderid": oid,
        "ordercategoryname": _map(item, {k: m[2] for k, m in meta.items()}),
        "secondaryordercategoryname": _map(item, {k: m[3] for k, m in meta.items()}),
        "ordercomponenttypedescription": _map(item, {k: m[4] for k, m in meta.items()}),
        "ordercategorydescription": _map(item, {k: m[5] for k, m in meta.items()}),
        "patientweight": num_text(wt),
        "totalamount": num_text(total),
        "totalamountuom": _const("ml", n, pl.String),
        "isopenbag": np.zeros(n, dtype=np.int64),
        "continueinnextdept": np.zeros(n, dtype=np.int64),
        "statusdescription": pick(("FinishedRunning", "ChangeDose/Rate", "Stopped"), status),
        "originalamount": np.round(amount * rng.uniform(1.0, 1.6, n), 2),
        "originalrate": np.round(rate, 3),
    })


# ------------------------------------------------------------------------------------------ outputevents
def outputevents(bt: Batch) -> pl.DataFrame:
    c, rng = bt.c, bt.use("outputevents")
    s = bt.stays
    f = s[c.foley[s]]
    o1, t1 = bt.schedule(f, c.intime[f] + H, c.s_end[f], rng.uniform(1, 2, len(f)), jitter_min=5)
    nf = s[~c.foley[s]]
    o2, t2 = bt.schedule(nf, c.intime[nf] + 2 * H, c.s_end[nf], rng.uniform(4, 6, len(nf)), jitter_min=30)
    ct = s[(c.first_cu[s] == 2) & (rng.random(len(s)) < 0.5)]
    o3, t3 = bt.schedule(ct, c.intime[ct] + H, c.s_end[ct], 4.0, jitter_min=10)
    o = np.r_[o1, o2, o3]
    t = np.r_[t1, t2, t3]
    item = np.r_[np.full(len(o1), 226559), np.full(len(o2), 226560), np.full(len(o3), 226588)]
    order = np.lexsort((item, t, o))
    o, t, item = o[order], t[order], item[order]
    n = len(o)
    zt = bt.severity(o, t)
    kidney = bt.af("arf", o) + bt.af("ckd", o) * 0.5
    hourly = np.exp(np.log(70) - 0.35 * zt - 0.6 * kidney + 0.45 * rng.normal(0, 1, n))
    hours = np.where(item == 226559, 1.5, np.where(item == 226560, 5.0, 4.0))
    value = np.where(item == 226588, np.clip(30 + 20 * rng.normal(0, 1, n), 0, 200), hourly * hours)
    value = np.clip(np.round(value / 5) * 5, 0, 2000)
    return pl.DataFrame({
        "subject_id": c.subject_id[c.s_pat[o]],
        "hadm_id": c.hadm_id[c.s_adm[o]],
        "stay_id": c.stay_id[o],
        "caregiver_id": bt.caregiver(n),
        "charttime": ts(t),
        "storetime": ts(t + rng.integers(-20, 40, n) * MIN),
        "itemid": item.astype(np.int64),
        "value": num_text(value),
        "valueuom": _const("ml", n, pl.String),
    })
