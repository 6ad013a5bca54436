"""MIMIC-IV-Note: discharge summaries (one per admission) and radiology reports (one per chest X-ray
study, plus a few other exams). Multi-line, sectioned, de-identified ('___') prose assembled column-wise;
the wording follows the admission's course (septic shock, intubation, bilateral opacities, death, ...)."""

from __future__ import annotations

import numpy as np
import polars as pl

from ._cohort import Cohort, phenotypes
from ._common import DAY, MIN, H, Streams, floor_to, masked, pick, ts
from ._cxr import CHEXPERT, L, Studies

NOTE_COLUMNS = ["note_id", "subject_id", "hadm_id", "note_type", "note_seq", "charttime", "storetime", "text"]


class _Text:
    """Column-wise text assembly: every piece is a literal or a per-row string series."""

    def __init__(self, n: int, rng: np.random.Generator):
        self.n, self.rng, self.parts = n, rng, []

    def lit(self, s: str) -> _Text:
        self.parts.append(pl.lit(s))
        return self

    def col(self, s: pl.Series, mask: np.ndarray | None = None) -> _Text:
        if mask is not None:
            s = pl.select(pl.when(pl.Series(mask)).then(s).otherwise(pl.lit(""))).to_series()
        self.parts.append(s.fill_null(""))
        return self

    def one_of(self, variants, mask: np.ndarray | None = None) -> _Text:
        return self.col(pick(variants, self.rng.integers(0, len(variants), self.n)), mask)

    def when(self, mask: np.ndarray, *pieces) -> _Text:
        """Pieces (str literals, tuples of variants, or series) shown only where mask."""
        for p in pieces:
            if isinstance(p, str):
                self.col(pl.repeat(p, self.n, dtype=pl.String, eager=True), mask)
            elif isinstance(p, tuple):
                self.one_of(p, mask)
            else:
                self.col(p, mask)
        return self

    def build(self) -> pl.Series:
        return pl.select(pl.concat_str(self.parts)).to_series()


def _num(x: np.ndarray, dec: int = 1) -> pl.Series:
    return pl.Series(np.round(x, dec)).cast(pl.String)


def _int(x: np.ndarray) -> pl.Series:
    return pl.Series(np.round(x).astype(np.int64)).cast(pl.String)


def _seq(subject: np.ndarray, time: np.ndarray, start: np.ndarray) -> np.ndarray:
    """note_seq: per subject, increasing with time, from a per-subject start."""
    order = np.lexsort((time, subject))
    s = subject[order]
    first = np.r_[True, s[1:] != s[:-1]]
    run_start = np.maximum.accumulate(np.where(first, np.arange(len(s)), 0))
    seq = np.empty(len(s), dtype=np.int64)
    seq[order] = np.arange(len(s)) - run_start + start[order]
    return seq


def _dx_lines(c: Cohort, diagnoses: pl.DataFrame, titles: pl.DataFrame) -> pl.DataFrame:
    top = (
        diagnoses.filter(pl.col("seq_num") <= 5)
        .join(titles, on=["icd_code", "icd_version"], how="left")
        .sort(["hadm_id", "seq_num"])
        .group_by("hadm_id", maintain_order=True)
        .agg(pl.col("long_title").str.join("\n"))
    )
    return pl.DataFrame({"hadm_id": c.hadm_id}).join(top, on="hadm_id", how="left")


def discharge(c: Cohort, streams: Streams, diagnoses: pl.DataFrame, titles: pl.DataFrame,
              labels_by_adm: np.ndarray) -> pl.DataFrame:
    rng = streams("notes-discharge")
    ph = phenotypes()
    a = np.flatnonzero(rng.random(c.n_adm) < 0.97)
    n = len(a)
    pf = c.pheno[a]
    f = {k: pf[:, ph.index(p)] for k, p in (
        ("sepsis", "Septicemia"), ("shock", "Shock"), ("resp", "Respiratory failure"), ("pna", "Pneumonia"),
        ("chf", "Congestive heart"), ("arf", "Acute and unspecified renal"), ("ckd", "Chronic kidney"),
        ("gib", "Gastrointestinal"), ("stroke", "Acute cerebrovascular"), ("ami", "Acute myocardial"),
        ("copd", "Chronic obstructive"), ("afib", "Cardiac dysrhythmias"), ("dm", "Diabetes mellitus with"),
        ("htn", "Essential hypertension"), ("cad", "Coronary atherosclerosis"), ("liver", "Other liver"),
    )}
    vent = np.zeros(c.n_adm, bool)
    np.logical_or.at(vent, c.s_adm, c.vent)
    dial = np.zeros(c.n_adm, bool)
    np.logical_or.at(dial, c.s_adm, c.dialysis)
    vent, dial = vent[a], dial[a]
    icu = c.has_icu[a]
    died = c.died[a]
    z = c.z_a[a]
    male = c.male[c.a_pat[a]]
    opac = labels_by_adm[a] | (f["resp"] & (rng.random(n) < 0.6))
    septic_shock = (f["sepsis"] & (f["shock"] | (z > 1.2))) | (f["shock"] & (rng.random(n) < 0.5))
    cr_peak = np.exp(np.log(0.95) + 0.22 * np.maximum(z, 0) + 0.6 * f["arf"] + 0.7 * f["ckd"] + 0.15 * rng.normal(0, 1, n)) * 1.4
    svc = pick(("MEDICINE", "SURGERY", "CARDIOTHORACIC", "NEUROLOGY"),
               np.where(f["stroke"], 3, np.where(f["ami"], 2, rng.choice(3, n, p=[0.72, 0.16, 0.12]))))
    sexi = male.astype(np.int64)
    he = pick(("She", "He"), sexi)
    title = pick(("Ms. ___", "Mr. ___"), sexi)
    cc = np.select(
        [septic_shock, f["resp"], f["chf"], f["gib"], f["stroke"], f["ami"], f["pna"], f["arf"]],
        [0, 1, 2, 3, 4, 5, 6, 7], 8 + rng.integers(0, 4, n),
    )
    complaints = ("Fever, hypotension", "Shortness of breath", "Dyspnea, leg swelling", "Melena", "Left sided weakness",
                  "Chest pain", "Cough, fever", "Decreased urine output", "Abdominal pain", "Fall", "Altered mental status",
                  "Weakness")
    dx = _dx_lines(c, diagnoses, titles)["long_title"].gather(a)
    allergy = ("No Known Allergies / Adverse Drug Reactions", "Penicillins", "Sulfa (Sulfonamide Antibiotics)",
               "lisinopril", "Patient recorded as having No Known Allergies to Drugs")
    T = _Text(n, rng)
    T.lit(" \nName:  ___                     Unit No:   ___\n \nAdmission Date:  ___              Discharge Date:   ___\n \n"
          "Date of Birth:  ___             Sex:   ").col(pick(("F", "M"), male.astype(np.int64)))
    T.lit("\n \nService: ").col(svc).lit("\n \nAllergies: \n").one_of(allergy).lit("\n \nAttending: ___.\n \nChief Complaint:\n")
    T.col(pick(complaints, cc)).lit("\n \nMajor Surgical or Invasive Procedure:\n")
    T.when(vent, "Endotracheal intubation\n").when(dial, "Placement of temporary dialysis catheter, CRRT\n")
    T.when(icu & ~vent & ~dial, ("Central venous line placement\n", "Arterial line placement\n", "None\n"))
    T.when(~icu, "None\n")
    T.lit("\n \nHistory of Present Illness:\n").col(title).lit(" is a ").col(_int(c.age[a])).lit(" year old ")
    T.col(pick(("woman", "man"), male.astype(np.int64))).lit(" with a history of ")
    T.when(f["htn"], "hypertension, ").when(f["dm"], "diabetes mellitus with nephropathy, ").when(f["cad"], "coronary artery disease s/p PCI, ")
    T.when(f["copd"], "COPD on home O2, ").when(f["ckd"], "CKD stage III, ").when(f["afib"], "atrial fibrillation on apixaban, ")
    T.when(f["liver"], "alcoholic cirrhosis, ").lit("who presents with ").col(pick(complaints, cc).str.to_lowercase())
    T.lit(". ").col(he).lit(" reports ").one_of(("2 days", "1 week", "several days", "3 days")).lit(" of ")
    T.one_of(("progressive fatigue and poor PO intake", "worsening dyspnea on exertion", "subjective fevers and chills",
              "nausea without vomiting", "intermittent confusion per family"))
    T.lit(". In the ED, initial vitals were T ").col(_num(36.8 + 0.5 * np.maximum(z, 0) + 0.3 * rng.normal(0, 1, n)))
    T.lit(" HR ").col(_int(84 + 10 * z + 8 * rng.normal(0, 1, n))).lit(" BP ").col(_int(122 - 12 * z + 10 * rng.normal(0, 1, n)))
    T.lit("/").col(_int(68 - 6 * z + 6 * rng.normal(0, 1, n))).lit(" RR ").col(_int(18 + 3 * z + 2 * rng.normal(0, 1, n)))
    T.lit(" SpO2 ").col(_int(np.clip(97 - 2.5 * np.maximum(z, 0) + rng.normal(0, 1, n), 70, 100))).lit("% on ")
    T.one_of(("RA", "2L NC", "4L NC", "NRB")).lit(". Labs were notable for ")
    T.when(f["arf"] | f["ckd"], "Cr ", _num(cr_peak), ", ").when(f["sepsis"], "WBC ", _num(14 + 4 * rng.random(n)), ", lactate ",
                                                                      _num(2.5 + 2 * np.maximum(z, 0) * rng.random(n)), ", ")
    T.lit("Hgb ").col(_num(11 - 0.6 * z - 2 * f["gib"] + rng.normal(0, 1, n))).lit(". ")
    T.when(septic_shock, ("Patient was hypotensive despite 3L IVF and was started on norepinephrine for septic shock. ",
                          "Given persistent hypotension concerning for septic shock, a central line was placed and pressors started. "))
    T.when(vent, ("Patient became increasingly hypoxemic and was intubated in the ED. ", "Patient was intubated for airway protection and hypoxemia. "))
    T.when(opac, ("CXR showed bilateral opacities. ", "Chest x-ray with bilateral opacities concerning for pulmonary edema versus multifocal pneumonia. "))
    T.lit("Patient was admitted for further management.")
    T.lit("\n \nPast Medical History:\n")
    T.when(f["htn"], "- Hypertension\n").when(f["dm"], "- Type 2 diabetes mellitus\n").when(f["cad"], "- CAD\n")
    T.when(f["copd"], "- COPD\n").when(f["ckd"], "- Chronic kidney disease\n").when(f["afib"], "- Atrial fibrillation\n")
    T.one_of(("- Hyperlipidemia\n", "- GERD\n", "- Depression\n", "- Hypothyroidism\n", "- Osteoarthritis\n"))
    T.lit(" \nSocial History:\n___\nFamily History:\n").one_of(("Noncontributory.", "Father with MI in his ___.", "Mother with diabetes."))
    T.lit("\n \nPhysical Exam:\nADMISSION PHYSICAL EXAM:\nVS: reviewed in ___\nGENERAL: ")
    T.when(z > 1, ("intubated, sedated", "ill-appearing, in moderate distress")).when(z <= 1, ("NAD, alert and oriented x3", "comfortable, conversant"))
    T.lit("\nHEENT: MMM, sclera anicteric\nLUNGS: ").when(opac | f["chf"], ("bibasilar crackles", "rales to mid lung fields bilaterally"))
    T.when(~(opac | f["chf"]), ("clear to auscultation bilaterally", "CTAB, no wheezes"))
    T.lit("\nCV: RRR, no m/r/g\nABD: soft, NT/ND\nEXT: ").when(f["chf"], "2+ pitting edema to knees").when(~f["chf"], "WWP, no edema")
    T.lit("\n \nPertinent Results:\nADMISSION LABS:\n___ 06:00AM BLOOD WBC-").col(_num(9 + 3 * np.maximum(z, 0) + rng.normal(0, 1.5, n)))
    T.lit(" RBC-").col(_num(3.6 + 0.4 * rng.normal(0, 1, n), 2)).lit(" Hgb-").col(_num(10.5 - 0.5 * z + rng.normal(0, 1, n)))
    T.lit(" Hct-").col(_num(32 - 1.5 * z + rng.normal(0, 3, n))).lit(" Plt ___\n___ 06:00AM BLOOD Glucose-")
    T.col(_int(120 + 15 * z + 40 * f["dm"] + rng.normal(0, 20, n))).lit(" UreaN-").col(_int(18 * np.exp(0.25 * z + 0.6 * f["arf"])))
    T.lit(" Creat-").col(_num(cr_peak)).lit(" Na-").col(_int(138 + 2 * rng.normal(0, 1, n))).lit(" K-").col(_num(4.1 + 0.4 * rng.normal(0, 1, n)))
    T.lit("\n \nIMAGING:\nCXR: ").when(opac, ("Bilateral opacities, likely pulmonary edema.", "Multifocal bilateral opacities."))
    T.when(~opac, ("No acute cardiopulmonary process.", "Lungs are clear."))
    T.lit("\n \nBrief Hospital Course:\n").col(title).lit(" is a ").col(_int(c.age[a])).lit(" y/o ")
    T.col(pick(("F", "M"), male.astype(np.int64))).lit(" admitted with ").col(pick(complaints, cc).str.to_lowercase()).lit(".\n\n")
    T.when(septic_shock, "# Septic shock: ", ("Presented with fever, hypotension and leukocytosis meeting criteria for septic shock. "
                                                "Started on vancomycin/cefepime and required norepinephrine. ",
                                                "Hypotension attributed to septic shock from a presumed pulmonary source; "
                                                "received broad spectrum antibiotics and pressors with slow improvement. "),
           "Blood cultures ", ("no growth.", "grew GNRs, narrowed per sensitivities."), "\n\n")
    T.when(f["sepsis"] & ~septic_shock, "# Sepsis: treated with IV antibiotics with improvement in fever curve and WBC.\n\n")
    T.when(vent, "# Hypoxemic respiratory failure: ", ("Patient was intubated on ___ for worsening hypoxemia. ",
                                                          "Required intubation and mechanical ventilation. "),
           ("Imaging showed bilateral opacities. ", "Managed with low tidal volume ventilation. "),
           ("Extubated on hospital day ___.", "Remained intubated throughout the ICU course."), "\n\n")
    T.when(f["resp"] & ~vent, "# Hypoxemia: required supplemental oxygen up to ", _int(2 + 4 * rng.random(n)), "L NC, weaned to room air.\n\n")
    T.when(f["chf"], "# Acute on chronic heart failure: ", ("diuresed with IV furosemide with net negative 4L. ",
                                                              "TTE showed EF ___%. Diuresed with Lasix drip. "), "\n\n")
    T.when(f["arf"], "# Acute kidney injury: Cr peaked at ", _num(cr_peak), (" in setting of hypotension, likely ATN. ",
                                                                         " likely prerenal, improved with IVF. "), "\n\n")
    T.when(dial, "# Renal failure requiring dialysis: started on CRRT via temporary dialysis line.\n\n")
    T.when(f["pna"], "# Pneumonia: ", ("treated with ceftriaxone/azithromycin for community acquired pneumonia.",
                                         "completed a course of vancomycin/cefepime for hospital acquired pneumonia."), "\n\n")
    T.when(f["gib"], "# GI bleed: Hgb nadir ___, transfused 2 units pRBC; EGD with ___.\n\n")
    T.when(f["stroke"], "# Acute ischemic stroke: MRI with ___ infarct; neurology consulted.\n\n")
    T.when(f["ami"], "# NSTEMI: troponin peak ___, started on heparin gtt, cardiology consulted.\n\n")
    T.when(f["afib"], "# Atrial fibrillation: rate controlled with metoprolol, anticoagulation continued.\n\n")
    T.when(f["shock"] & ~septic_shock, "# Shock: ", ("hypotension requiring vasopressors, ", "cardiogenic versus distributive shock, "),
           ("weaned off norepinephrine on hospital day ___.", "managed in the ICU with pressors."), "\n\n")
    T.when(~(septic_shock | f["sepsis"] | vent | f["chf"] | f["arf"] | f["pna"] | f["gib"] | f["stroke"] | f["ami"]
             | f["shock"] | f["resp"] | died),
           "# ", ("Chest pain", "Syncope", "Abdominal pain", "Weakness"), ": ",
           ("workup unrevealing, symptoms resolved.", "monitored on telemetry without events, discharged home."), "\n\n")
    T.when(died, ("After discussion with the family regarding goals of care, the patient was transitioned to comfort "
                  "measures only. The patient expired on ___ at ___.",
                  "Despite maximal support the patient continued to decline and expired on ___. Family was at bedside."), "\n\n")
    T.lit("TRANSITIONAL ISSUES:\n- ").one_of(("Follow up with PCP within 1 week", "Repeat BMP on ___", "Outpatient TTE"))
    T.lit("\n \nMedications on Admission:\n").one_of(("1. Aspirin 81 mg PO DAILY\n2. Atorvastatin 40 mg PO QPM",
                                                    "1. Metoprolol Succinate XL 50 mg PO DAILY\n2. Lisinopril 10 mg PO DAILY",
                                                    "1. Furosemide 40 mg PO DAILY\n2. Apixaban 5 mg PO BID"))
    T.lit("\n \nDischarge Disposition:\n").when(died, "Expired").when(~died, ("Home", "Home With Service", "Extended Care"))
    T.lit("\n \nDischarge Diagnosis:\n").col(dx.fill_null("___"))
    T.lit("\n \nDischarge Condition:\n").when(died, "Expired").when(~died, "Mental Status: Clear and coherent.\n"
                                                                         "Level of Consciousness: Alert and interactive.\n"
                                                                         "Activity Status: Ambulatory - requires assistance or aid (walker or cane).")
    T.lit("\n \nDischarge Instructions:\nDear ").col(title).lit(",\n\nIt was a pleasure taking care of you at ___. ")
    T.one_of(("You were admitted because of ", "You came to the hospital because of "))
    T.col(pick(complaints, cc).str.to_lowercase()).lit(".\n\nWe wish you the best,\nYour ___ Care Team\n \nFollowup Instructions:\n___\n")
    text = T.build()
    start = rng.integers(10, 30, c.n_pat)
    pat = c.a_pat[a]
    seq = _seq(pat, c.disch[a], start[pat])
    chart = floor_to(c.disch[a], DAY)
    store = c.disch[a] + (rng.uniform(1, 60, n) * H).astype(np.int64)
    sid = c.subject_id[pat]
    note_id = pl.select(pl.concat_str([pl.Series(sid).cast(pl.String), pl.lit("-DS-"), pl.Series(seq).cast(pl.String)])).to_series()
    df = pl.DataFrame({
        "note_id": note_id, "subject_id": sid, "hadm_id": c.hadm_id[a],
        "note_type": pl.repeat("DS", n, dtype=pl.String, eager=True), "note_seq": seq,
        "charttime": ts(chart), "storetime": ts(floor_to(store, 1)), "text": text,
    })
    return df.sort(["subject_id", "note_seq"], maintain_order=True)


_FINDING_PHRASES = {
    "Edema": ("Moderate pulmonary edema with bilateral perihilar opacities.", "Mild interstitial pulmonary edema.",
              "Bilateral hazy opacities consistent with pulmonary edema."),
    "Cardiomegaly": ("The heart is moderately enlarged.", "Cardiomegaly is unchanged.", "Moderate cardiomegaly."),
    "Consolidation": ("Focal consolidation in the right lower lobe.", "Left retrocardiac consolidation.",
                      "New consolidation in the left lower lobe concerning for pneumonia."),
    "Pleural Effusion": ("Small bilateral pleural effusions.", "Moderate right pleural effusion.",
                         "Layering left pleural effusion."),
    "Lung Opacity": ("Patchy bilateral opacities.", "Bilateral opacities, worse on the right.",
                     "Multifocal opacities in both lungs."),
    "Atelectasis": ("Bibasilar atelectasis.", "Left basilar atelectasis.", "Streaky opacities at the bases likely atelectasis."),
    "Pneumonia": ("Findings concerning for pneumonia.", "Opacity could represent pneumonia in the appropriate clinical setting."),
    "Pneumothorax": ("Small right apical pneumothorax.", "Tiny left apical pneumothorax."),
    "Support Devices": ("Endotracheal tube terminates 4 cm above the carina. Right IJ central line tip in the SVC.",
                        "ET tube and enteric tube in standard position.", "Right PICC line terminates in the mid SVC."),
    "Enlarged Cardiomediastinum": ("The mediastinum is widened.",),
    "Fracture": ("Old healed right rib fractures.",),
    "Lung Lesion": ("A 1.5 cm nodular opacity in the right upper lobe.",),
    "Pleural Other": ("Pleural thickening at the left apex.",),
}
_NEGATIVE = {
    "Pleural Effusion": "No pleural effusion.", "Pneumothorax": "No pneumothorax.", "Edema": "No pulmonary edema.",
    "Consolidation": "No focal consolidation.", "Cardiomegaly": "Heart size is normal.",
}


def radiology(c: Cohort, streams: Streams, s: Studies) -> pl.DataFrame:
    rng = streams("notes-radiology")
    n = len(s.study_id)
    lab = s.labels
    male = c.male[s.pat]
    T = _Text(n, rng)
    exam = pick(("CHEST (PORTABLE AP)", "CHEST (PA AND LAT)"), (~s.portable).astype(np.int64))
    T.lit("EXAMINATION:  ").col(exam).lit("\n\nINDICATION:  ___ year old ").col(pick(("woman", "man"), male.astype(np.int64)))
    T.lit(" with ").one_of(("hypoxia", "fever", "shortness of breath", "new ET tube placement", "respiratory distress",
                            "sepsis", "CHF exacerbation", "chest pain"))
    T.lit("  // ").one_of(("eval for pneumonia", "eval for interval change", "ETT placement", "eval for edema, effusion"))
    T.lit("\n\nTECHNIQUE:  ").when(s.portable, "Portable AP view of the chest.").when(~s.portable, "Chest PA and lateral")
    T.lit("\n\nCOMPARISON:  ").one_of(("___", "None.", "Chest radiograph ___"))
    T.lit("\n\nFINDINGS: \n\n")
    any_pos = np.zeros(n, bool)
    for name, phrases in _FINDING_PHRASES.items():
        pos = lab[:, L[name]] == 1
        any_pos |= pos
        T.when(pos, phrases, " ")
        unc = lab[:, L[name]] == -1
        T.when(unc, "Possible ", name.lower(), " cannot be excluded. ")
        if name in _NEGATIVE:
            T.when(lab[:, L[name]] == 0, _NEGATIVE[name] + " ")
    T.when(~any_pos, ("Lungs are clear. The cardiomediastinal silhouette is within normal limits. No acute osseous abnormality.",
                      "The lungs are well expanded and clear. Heart size is normal."))
    T.lit("\n\nIMPRESSION: \n\n")
    edema = lab[:, L["Edema"]] == 1
    opac = (lab[:, L["Lung Opacity"]] == 1) | (lab[:, L["Consolidation"]] == 1)
    T.when(edema & opac, "Bilateral opacities, likely pulmonary edema, superimposed infection not excluded.")
    T.when(edema & ~opac, ("Pulmonary edema.", "Moderate pulmonary edema, worse compared to prior."))
    T.when(~edema & opac, ("Bilateral opacities concerning for multifocal pneumonia.", "Focal opacity concerning for pneumonia."))
    T.when(~edema & ~opac & any_pos, ("No new focal consolidation.", "Findings as above."))
    T.when(~any_pos, "No acute cardiopulmonary process.")
    T.lit("\n")
    text = T.build()
    # a few other exams during admissions
    r2 = streams("notes-radiology-other")
    extra = np.flatnonzero(r2.random(c.n_adm) < 0.25)
    m = len(extra)
    t_extra = c.admit[extra] + (r2.random(m) * (c.disch[extra] - c.admit[extra])).astype(np.int64)
    kinds = ("CT HEAD W/O CONTRAST", "CT ABD & PELVIS WITH CONTRAST", "LIVER OR GALLBLADDER US (SINGLE ORGAN)",
             "BILAT LOWER EXT VEINS")
    k = r2.integers(0, len(kinds), m)
    T2 = _Text(m, r2)
    T2.lit("EXAMINATION:  ").col(pick(kinds, k)).lit("\n\nINDICATION:  ___ with ").one_of(("altered mental status", "abdominal pain",
                                                                                          "elevated LFTs", "leg swelling"))
    T2.lit("\n\nTECHNIQUE:  ").one_of(("Contiguous axial images were obtained.", "Grayscale and color Doppler images were obtained."))
    T2.lit("\n\nFINDINGS: \n\n").one_of(("No acute intracranial hemorrhage or mass effect.", "No acute process in the abdomen or pelvis.",
                                         "Normal hepatic echotexture. No biliary dilation.", "No deep venous thrombosis."))
    T2.lit("\n\nIMPRESSION: \n\n").one_of(("No acute findings.", "Unremarkable study."))
    T2.lit("\n")
    pat = np.r_[s.pat, c.a_pat[extra]]
    adm = np.r_[s.adm, extra]
    t = floor_to(np.r_[s.time, t_extra], MIN)
    texts = pl.concat([text, T2.build()])
    start = rng.integers(1, 25, c.n_pat)
    seq = _seq(pat, t, start[pat])
    sid = c.subject_id[pat]
    note_id = pl.select(pl.concat_str([pl.Series(sid).cast(pl.String), pl.lit("-RR-"), pl.Series(seq).cast(pl.String)])).to_series()
    nn = len(pat)
    df = pl.DataFrame({
        "note_id": note_id, "subject_id": sid,
        "hadm_id": masked(c.hadm_id[np.maximum(adm, 0)], adm < 0),
        "note_type": pl.repeat("RR", nn, dtype=pl.String, eager=True), "note_seq": seq,
        "charttime": ts(t), "storetime": ts(t + (np.r_[rng.uniform(0.3, 8, n), r2.uniform(0.5, 12, m)] * H).astype(np.int64)),
        "text": texts,
    })
    return df.sort(["subject_id", "note_seq"], maintain_order=True)


__all__ = ["discharge", "radiology", "NOTE_COLUMNS", "CHEXPERT"]
