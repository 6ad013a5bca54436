"""MIMIC-CXR-JPG: studies timed around the ICU stays, CheXpert/NegBio labels driven by the stay's severity
and phenotypes, the metadata/split tables, and drawn grayscale chest images whose findings follow the labels."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import polars as pl

from ._cohort import Cohort, phenotypes
from ._common import DAY, H, Streams, at, choose, expand, floor_to, hex_ids, pick, sigmoid, unique_ids

CHEXPERT = ("Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Enlarged Cardiomediastinum", "Fracture",
            "Lung Lesion", "Lung Opacity", "No Finding", "Pleural Effusion", "Pleural Other", "Pneumonia",
            "Pneumothorax", "Support Devices")
L = {name: i for i, name in enumerate(CHEXPERT)}
VIEWS = ("AP", "PA", "LATERAL", "LL", "")
VIEW_MEANING = ("antero-posterior", "postero-anterior", "lateral", "left lateral", "")
PROC_DESC = ("CHEST (PORTABLE AP)", "CHEST (PA AND LAT)", "CHEST PORT. LINE PLACEMENT", "")
ORIENTATION = ("Erect", "Recumbent", "")
METADATA_COLUMNS = ["dicom_id", "subject_id", "study_id", "PerformedProcedureStepDescription", "ViewPosition",
                    "Rows", "Columns", "StudyDate", "StudyTime", "ProcedureCodeSequence_CodeMeaning",
                    "ViewCodeSequence_CodeMeaning", "PatientOrientationCodeSequence_CodeMeaning"]


@dataclass
class Studies:
    study_id: np.ndarray
    pat: np.ndarray
    adm: np.ndarray  # admission whose [admittime, dischtime] holds the study, -1 = none
    stay: np.ndarray  # ICU stay the study belongs to (may be just before/after it), -1 = none
    time: np.ndarray  # seconds
    ms: np.ndarray  # milliseconds of StudyTime
    portable: np.ndarray
    z: np.ndarray
    labels: np.ndarray  # (n, 14) float: 1, 0, -1, nan
    negbio: np.ndarray
    # images
    img_study: np.ndarray
    dicom_id: pl.Series
    view: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    desc: np.ndarray
    orient: np.ndarray
    split: np.ndarray  # per study (subject-level): 0 train, 1 validate, 2 test


def plan_studies(c: Cohort, streams: Streams) -> Studies:
    rng = streams("cxr")
    ph = phenotypes()
    los = (c.s_end - c.intime) / DAY
    lam = 0.45 + 0.18 * los + 0.35 * np.maximum(c.z_s, 0)
    k = np.minimum(rng.poisson(lam), 4)
    st, _ = expand(k)
    n1 = len(st)
    where = choose(rng, n1, [80, 10, 10])  # in stay / before intime / after outtime
    span = (c.s_end[st] - c.intime[st]).astype(float)
    t = np.where(
        where == 0, c.intime[st] + rng.random(n1) * span,
        np.where(where == 1, c.intime[st] - rng.uniform(0.5, 10, n1) * H, c.outtime[st] + rng.uniform(2, 72, n1) * H),
    )
    t = floor_to(t, 1)
    # outpatient studies (no admission)
    pats = np.flatnonzero(rng.random(c.n_pat) < 0.12)
    first_adm = np.full(c.n_pat, c.n_adm)
    np.minimum.at(first_adm, c.a_pat, np.arange(c.n_adm))
    pats = pats[first_adm[pats] < c.n_adm]
    t_out = floor_to(c.admit[first_adm[pats]] - rng.uniform(30, 700, len(pats)) * DAY + rng.uniform(8, 17, len(pats)) * H, 1)
    pat = np.r_[c.s_pat[st], pats]
    stay = np.r_[st, np.full(len(pats), -1)]
    time = np.r_[t, t_out].astype(np.int64)
    where = np.r_[where, np.full(len(pats), 3)]
    n = len(time)
    # the admission holding the study (the stay's admission when inside it)
    adm_guess = np.r_[c.s_adm[st], first_adm[pats]]
    inside = (time >= c.admit[adm_guess]) & (time <= c.disch[adm_guess])
    adm = np.where(inside, adm_guess, -1)
    # severity at study time
    z_stay = at(c.z_s, stay, 0.0)
    dies = c.died[adm_guess] & (stay >= 0)
    span_all = np.r_[span, np.ones(len(pats))]
    frac = np.where(stay >= 0, np.clip((time - at(c.intime, stay)) / np.maximum(span_all, 1), 0, 1), 0)
    z = np.where(where == 0, np.where(dies, z_stay + 0.9 * frac, z_stay * (1 - 0.5 * frac)),
                 np.where(where == 3, -0.6 + 0.3 * c.comorb[pat], 0.7 * z_stay))
    pa = c.pheno[adm_guess]
    chf = pa[:, ph.index("Congestive heart")].astype(float)
    pneu = pa[:, ph.index("Pneumonia")].astype(float)
    pleur = pa[:, ph.index("Pleurisy")].astype(float)
    acute = where != 3
    chf_a = chf * np.where(acute, 1.0, 0.5)
    vent_now = at(c.vent, stay, False) & (time >= at(c.vent_start, stay)) & (time <= at(c.vent_end, stay))
    lines = (at(c.cvc, stay, False) | at(c.art, stay, False)) & (where == 0)
    age = c.age[adm_guess]
    logit = np.zeros((n, len(CHEXPERT)))
    logit[:, L["Atelectasis"]] = -1.3 + 0.5 * z + 0.6 * vent_now
    logit[:, L["Cardiomegaly"]] = -2.0 + 0.5 * z + 2.2 * chf + 0.03 * (age - 65)
    logit[:, L["Consolidation"]] = -2.4 + 0.8 * z + 2.2 * pneu * acute
    logit[:, L["Edema"]] = -2.0 + 1.1 * z + 1.8 * chf_a
    logit[:, L["Enlarged Cardiomediastinum"]] = -3.2 + 0.3 * z + 0.8 * chf
    logit[:, L["Fracture"]] = -3.5
    logit[:, L["Lung Lesion"]] = -3.4
    logit[:, L["Lung Opacity"]] = -1.2 + 1.0 * z + 1.6 * pneu * acute
    logit[:, L["Pleural Effusion"]] = -1.7 + 0.8 * z + 1.0 * chf_a + 1.6 * pleur
    logit[:, L["Pleural Other"]] = -4.0
    logit[:, L["Pneumonia"]] = -2.3 + 0.5 * z + 2.0 * pneu * acute
    logit[:, L["Pneumothorax"]] = -3.8 + 0.3 * z + 1.6 * pleur
    logit[:, L["Support Devices"]] = -2.2 + 3.5 * vent_now + 1.6 * lines
    logit[:, L["No Finding"]] = -9.0
    pos = rng.random(logit.shape) < sigmoid(logit)
    u = rng.random(logit.shape)
    near = sigmoid(logit + 1.5)  # mentioned when plausible
    labels = np.where(pos, 1.0, np.where(u < 0.1 * near, -1.0, np.where(u < 0.45 * near, 0.0, np.nan)))
    other = np.delete(np.arange(len(CHEXPERT)), [L["No Finding"], L["Support Devices"]])
    none = ~(labels[:, other] == 1).any(axis=1) & ~(labels[:, other] == -1).any(axis=1)
    labels[:, L["No Finding"]] = np.where(none, 1.0, np.nan)
    negbio = labels.copy()
    w = rng.random(labels.shape)
    negbio = np.where((labels == -1) & (w < 0.15), np.nan, negbio)
    negbio = np.where((labels == -1) & (w > 0.9), 1.0, negbio)
    negbio = np.where((labels == 0) & (w < 0.05), np.nan, negbio)
    negbio = np.where(np.isnan(labels) & (w < 0.02), 0.0, negbio)
    negbio[:, L["No Finding"]] = labels[:, L["No Finding"]]
    # study kind and images
    portable = np.where(where == 0, rng.random(n) < 0.88, np.where(where == 1, rng.random(n) < 0.6, rng.random(n) < 0.3))
    n_img = np.where(portable, 1 + (rng.random(n) < 0.1), 2)
    img_study, img_k = expand(n_img)
    ni = len(img_study)
    view = np.where(portable[img_study], 0, np.where(img_k == 0, 1, np.where(rng.random(ni) < 0.1, 3, 2)))
    view = np.where(rng.random(ni) < 0.02, 4, view)
    desc = np.where(portable[img_study], np.where(lines[img_study] & (rng.random(ni) < 0.25), 2, 0), 1)
    desc = np.where(view == 4, 3, desc)
    orient = np.where(portable[img_study], choose(rng, ni, [40, 50, 10]), 0)
    orient = np.where(view == 4, 2, orient)
    cols = rng.integers(320, 513, ni)
    aspect = np.where(view >= 2, rng.uniform(0.86, 0.98, ni), rng.uniform(0.76, 0.86, ni))
    rows = np.clip(np.round(cols * aspect), 256, 420).astype(np.int64)
    study_id = unique_ids(streams("cxr-ids"), n, 50_000_000, 60_000_000)
    dicom_id = hex_ids(streams("cxr-dicom"), ni)
    ms = rng.integers(0, 1000, n)
    # order studies by subject and time (ids stay random, as in MIMIC-CXR)
    order = np.lexsort((time, pat))
    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    img_order = np.lexsort((img_k, inv[img_study]))
    split_pat = choose(rng, c.n_pat, [92, 3, 5])
    return Studies(
        study_id=study_id[order], pat=pat[order], adm=adm[order], stay=stay[order], time=time[order],
        ms=ms[order], portable=portable[order], z=z[order], labels=labels[order], negbio=negbio[order],
        img_study=inv[img_study][img_order], dicom_id=dicom_id.gather(img_order), view=view[img_order],
        rows=rows[img_order], cols=cols[img_order], desc=desc[img_order], orient=orient[img_order],
        split=split_pat[pat[order]],
    )


def _label_frame(c: Cohort, s: Studies, values: np.ndarray) -> pl.DataFrame:
    cols = {"subject_id": c.subject_id[s.pat], "study_id": s.study_id}
    for i, name in enumerate(CHEXPERT):
        v = values[:, i]
        cols[name] = pl.Series(np.ma.masked_array(np.nan_to_num(v), mask=np.isnan(v))).cast(pl.Float64)
    return pl.DataFrame(cols)


def tables(c: Cohort, s: Studies) -> dict[str, pl.DataFrame]:
    i = s.img_study
    days = (s.time // DAY).astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    study_date = year * 10000 + (months.astype(np.int64) % 12 + 1) * 100 + (days - months).astype(np.int64) + 1
    sec = s.time % DAY
    study_time = (sec // 3600) * 10000 + (sec % 3600 // 60) * 100 + sec % 60 + s.ms / 1000.0
    metadata = pl.DataFrame({
        "dicom_id": s.dicom_id,
        "subject_id": c.subject_id[s.pat[i]],
        "study_id": s.study_id[i],
        "PerformedProcedureStepDescription": pick(PROC_DESC, s.desc, s.desc == 3),
        "ViewPosition": pick(VIEWS, s.view, s.view == 4),
        "Rows": s.rows,
        "Columns": s.cols,
        "StudyDate": study_date[i],
        "StudyTime": study_time[i],
        "ProcedureCodeSequence_CodeMeaning": pick(PROC_DESC, s.desc, s.desc == 3),
        "ViewCodeSequence_CodeMeaning": pick(VIEW_MEANING, s.view, s.view == 4),
        "PatientOrientationCodeSequence_CodeMeaning": pick(ORIENTATION, s.orient, s.orient == 2),
    })
    split = pl.DataFrame({
        "dicom_id": s.dicom_id,
        "study_id": s.study_id[i],
        "subject_id": c.subject_id[s.pat[i]],
        "split": pick(("train", "validate", "test"), s.split[i]),
    })
    return {
        "metadata": metadata, "chexpert": _label_frame(c, s, s.labels), "negbio": _label_frame(c, s, s.negbio),
        "split": split,
    }


def image_relpath(c: Cohort, s: Studies, j: int) -> str:
    sid = str(c.subject_id[s.pat[s.img_study[j]]])
    return f"files/p{sid[:2]}/p{sid}/s{s.study_id[s.img_study[j]]}/{s.dicom_id[j]}.jpg"


# ------------------------------------------------------------------------------------------ drawing
def draw(rng: np.random.Generator, rows: int, cols: int, view: int, labels: np.ndarray, male: bool) -> np.ndarray:
    """A grayscale chest radiograph-like image (uint8, rows x cols) showing the positive findings."""
    h, w = rows, cols
    pos = {name: labels[L[name]] == 1 for name in CHEXPERT}
    img = np.full((h, w), 14.0, np.float32)
    img += np.linspace(0, 14, h, dtype=np.float32)[:, None]
    body = np.zeros((h, w), np.float32)
    cx = w / 2 + rng.normal(0, w * 0.015)
    cy = h * 0.55 + rng.normal(0, h * 0.015)
    lateral = view in (2, 3)
    scale = 1.0 + rng.normal(0, 0.03)
    cv2.ellipse(body, (int(cx), int(cy)), (int(w * 0.47 * scale), int(h * 0.56 * scale)), 0, 0, 360, 118, -1)
    lungs = np.zeros((h, w), np.float32)
    if not lateral:
        for side in (-1, 1):
            lx = cx + side * w * (0.175 + rng.normal(0, 0.006))
            cv2.ellipse(lungs, (int(lx), int(h * 0.45)), (int(w * 0.145), int(h * 0.31)), side * 4, 0, 360, 1.0, -1)
    else:
        cv2.ellipse(lungs, (int(cx), int(h * 0.46)), (int(w * 0.3), int(h * 0.3)), 0, 0, 360, 1.0, -1)
    lungs = cv2.GaussianBlur(lungs, (0, 0), sigmaX=max(1.0, w * 0.012))
    img += body
    img -= 70 * lungs
    # ribs: bright arcs over the lung fields
    ribs = np.zeros((h, w), np.float32)
    for k in range(9):
        y = int(h * (0.2 + 0.065 * k))
        if not lateral:
            for side in (-1, 1):
                cv2.ellipse(ribs, (int(cx + side * w * 0.06), y), (int(w * 0.2), int(h * 0.07)), 0,
                            180 if side < 0 else 270, 270 if side < 0 else 360, 1.0, 2)
                cv2.ellipse(ribs, (int(cx + side * w * 0.06), y), (int(w * 0.2), int(h * 0.07)), 0,
                            90 if side < 0 else 0, 180 if side < 0 else 90, 1.0, 1)
        else:
            cv2.ellipse(ribs, (int(cx), y), (int(w * 0.32), int(h * 0.05)), 8, 180, 360, 1.0, 2)
    img += 22 * ribs * (0.5 + 0.5 * lungs)
    # mediastinum, spine and heart
    cardio = 1.38 if pos["Cardiomegaly"] else 1.0
    cardio *= 1.08 if view == 0 else 1.0
    medi = 1.5 if pos["Enlarged Cardiomediastinum"] else 1.0
    heart = np.zeros((h, w), np.float32)
    if not lateral:
        cv2.ellipse(heart, (int(cx), int(h * 0.36)), (int(w * 0.055 * medi), int(h * 0.2)), 0, 0, 360, 1.0, -1)
        cv2.ellipse(heart, (int(cx + w * 0.035 * cardio), int(h * 0.63)),
                    (int(w * 0.13 * cardio), int(h * 0.12 * np.sqrt(cardio))), -12, 0, 360, 1.0, -1)
        cv2.rectangle(heart, (int(cx - w * 0.025), 0), (int(cx + w * 0.025), h), 0.6, -1)
        for side in (-1, 1):  # clavicles
            cv2.line(heart, (int(cx + side * w * 0.04), int(h * 0.2)), (int(cx + side * w * 0.3), int(h * 0.14)), 0.7, 4)
    else:
        cv2.ellipse(heart, (int(cx - w * 0.1), int(h * 0.6)), (int(w * 0.16 * cardio), int(h * 0.14 * np.sqrt(cardio))),
                    20, 0, 360, 1.0, -1)
        for k in range(10):
            y = int(h * (0.18 + 0.07 * k))
            cv2.rectangle(heart, (int(cx + w * 0.2), y), (int(cx + w * 0.27), y + int(h * 0.05)), 0.8, -1)
    img += 95 * heart * (0.4 + 0.6 * lungs + 0.5 * (1 - lungs))
    # diaphragm
    dia = np.zeros((h, w), np.float32)
    cv2.rectangle(dia, (0, int(h * 0.77)), (w, h), 1.0, -1)
    img += 25 * dia * (body > 0)
    # findings (soft layers)
    haze = np.zeros((h, w), np.float32)
    if pos["Edema"]:
        for side in (-1, 1):
            cv2.ellipse(haze, (int(cx + side * w * 0.12), int(h * 0.5)), (int(w * 0.16), int(h * 0.22)), 0, 0, 360, 75, -1)
    if pos["Lung Opacity"] or pos["Pneumonia"]:
        for _ in range(int(rng.integers(2, 5))):
            cv2.circle(haze, (int(cx + rng.uniform(-0.3, 0.3) * w), int(h * rng.uniform(0.3, 0.7))),
                       int(w * rng.uniform(0.03, 0.07)), 45, -1)
    if pos["Consolidation"]:
        cv2.circle(haze, (int(cx + rng.choice([-1, 1]) * w * 0.19), int(h * rng.uniform(0.5, 0.66))),
                   int(w * 0.07), 85, -1)
    if pos["Atelectasis"]:
        cv2.ellipse(haze, (int(cx + rng.choice([-1, 1]) * w * 0.17), int(h * 0.68)), (int(w * 0.1), int(h * 0.025)),
                    rng.uniform(-10, 10), 0, 360, 45, -1)
    if pos["Lung Lesion"]:
        cv2.circle(haze, (int(cx + rng.uniform(-0.25, 0.25) * w), int(h * rng.uniform(0.25, 0.6))), int(w * 0.02), 70, -1)
    if haze.any():
        haze = cv2.GaussianBlur(haze, (0, 0), sigmaX=w * 0.035)
        img += haze * (0.3 + 0.7 * lungs)
    if pos["Pleural Effusion"]:
        eff = np.zeros((h, w), np.float32)
        sides = (-1, 1) if rng.random() < 0.5 else (int(rng.choice([-1, 1])),)
        for side in sides:
            cv2.ellipse(eff, (int(cx + side * w * 0.2), int(h * 0.8)), (int(w * 0.17), int(h * 0.17)), 0, 180, 360, 70, -1)
        img += cv2.GaussianBlur(eff, (0, 0), sigmaX=w * 0.015)
    if pos["Pneumothorax"]:
        ptx = np.zeros((h, w), np.float32)
        side = int(rng.choice([-1, 1]))
        cv2.ellipse(ptx, (int(cx + side * w * 0.22), int(h * 0.3)), (int(w * 0.08), int(h * 0.14)), 0, 0, 360, 25, -1)
        img -= cv2.GaussianBlur(ptx, (0, 0), sigmaX=3)
    img = cv2.GaussianBlur(img, (0, 0), sigmaX=1.2)
    if pos["Support Devices"]:
        dev = np.zeros((h, w), np.float32)
        cv2.line(dev, (int(cx + 2), 0), (int(cx + 3), int(h * 0.33)), 1.0, 2)  # endotracheal tube
        cv2.line(dev, (int(cx + w * 0.28), int(h * 0.16)), (int(cx + w * 0.05), int(h * 0.4)), 1.0, 1)  # central line
        for _ in range(3):  # ECG leads
            cv2.circle(dev, (int(rng.uniform(0.15, 0.85) * w), int(rng.uniform(0.1, 0.9) * h)), 4, 1.0, -1)
        img = np.maximum(img, 235 * dev)
    if pos["Fracture"]:
        cv2.line(img, (int(cx - w * 0.3), int(h * 0.4)), (int(cx - w * 0.27), int(h * 0.43)), 10, 2)
    gain = rng.uniform(0.92, 1.08)
    img = img * gain + rng.normal(0, 5.5, (h, w)).astype(np.float32)
    if not male:
        img[int(h * 0.62):, :] += 6 * (lungs[int(h * 0.62):, :] > 0)
    return np.clip(img, 0, 255).astype(np.uint8)


def encode(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


__all__ = ["Studies", "plan_studies", "tables", "image_relpath", "draw", "encode", "CHEXPERT", "METADATA_COLUMNS"]
