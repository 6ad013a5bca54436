"""A fixed, built-in clinical English corpus for the offline fallback tokenizer.

Written for this project (no MIMIC text): typical section headers, phrasing and abbreviations of
discharge summaries and radiology reports. It only decides how text is cut into wordpieces when no
pretrained vocabulary is available offline (`weights: auto`), so that chunk boundaries are the same on
every machine, for every shard and every run. Changing it changes the fallback tokenizer: bump
`BUILTIN_CORPUS_VERSION` when editing.
"""

BUILTIN_CORPUS_VERSION = "v1"

BUILTIN_CORPUS = """
Name: ___ Unit No: ___ Admission Date: ___ Discharge Date: ___ Date of Birth: ___ Sex: M F
Service: MEDICINE SURGERY CARDIOTHORACIC NEUROLOGY ORTHOPAEDICS NEUROSURGERY OBSTETRICS GYNECOLOGY UROLOGY
Allergies: No Known Allergies / Adverse Drug Reactions. Penicillins. Sulfa (Sulfonamide Antibiotics). Codeine. Iodine.
Attending: ___. Chief Complaint: shortness of breath, chest pain, abdominal pain, fever, hypotension, altered mental status,
fall, weakness, melena, hematemesis, syncope, dyspnea on exertion, cough, nausea, vomiting, diarrhea, headache.
Major Surgical or Invasive Procedure: endotracheal intubation, central venous catheter placement, arterial line placement,
bronchoscopy, paracentesis, thoracentesis, lumbar puncture, cardiac catheterization, percutaneous coronary intervention,
coronary artery bypass graft, esophagogastroduodenoscopy, colonoscopy, hemodialysis catheter placement, tracheostomy.
History of Present Illness: The patient is a 67 year old man with a history of chronic obstructive pulmonary disease on
home oxygen, atrial fibrillation on apixaban, congestive heart failure with reduced ejection fraction, diabetes mellitus
type 2 on insulin, hypertension, hyperlipidemia, chronic kidney disease stage III, coronary artery disease status post
stent, who presents with worsening dyspnea. She reports several days of productive cough, subjective fevers and chills.
In the emergency department, initial vitals were T 38.2 HR 112 BP 88/54 RR 24 SpO2 89% on room air. Labs were notable
for leukocytosis with white blood cell count 15.2, lactate 3.1, creatinine 2.4 from a baseline of 1.1, troponin
negative. Chest radiograph showed a right lower lobe consolidation. Blood cultures and urine cultures were sent. She
received vancomycin, cefepime, metronidazole and two liters of normal saline, and was started on norepinephrine for
persistent hypotension. She was admitted to the medical intensive care unit for further management of septic shock.
Past Medical History: - COPD - Atrial fibrillation - CHF - Hypertension - Hyperlipidemia - Type 2 diabetes mellitus
- Chronic kidney disease - Coronary artery disease - Osteoarthritis - Gastroesophageal reflux disease - Depression
- Anxiety - Hypothyroidism - Obstructive sleep apnea - Cirrhosis - Alcohol use disorder - Stroke - Dementia - Anemia
Social History: ___ Family History: Noncontributory. Mother with breast cancer, father with myocardial infarction.
Physical Exam: ADMISSION PHYSICAL EXAM: VS: reviewed in ___ GENERAL: NAD, alert and oriented x3, pleasant, in mild
respiratory distress. HEENT: MMM, sclera anicteric, EOMI, PERRL, oropharynx clear. NECK: supple, JVP not elevated, no
lymphadenopathy. LUNGS: rales to mid lung fields bilaterally, decreased breath sounds at the bases, wheezes, rhonchi.
CV: RRR, no murmurs, rubs or gallops, irregularly irregular rhythm. ABD: soft, non-tender, non-distended, normoactive
bowel sounds, no hepatosplenomegaly. EXT: warm, well perfused, 2+ pulses, no clubbing, cyanosis or edema, 1+ pitting
edema to the knees. NEURO: CN II-XII intact, strength 5/5 throughout, sensation grossly intact, gait deferred.
SKIN: no rashes or lesions. DISCHARGE PHYSICAL EXAM: afebrile, hemodynamically stable, breathing comfortably on room air.
Pertinent Results: ADMISSION LABS: ___ 06:00AM BLOOD WBC-10.0 RBC-3.56 Hgb-10.1 Hct-30.4 MCV-88 MCH-29.1 MCHC-33.0
RDW-14.2 Plt ___ ___ 06:00AM BLOOD Neuts-78.1 Lymphs-12.0 Monos-6.2 Eos-1.1 Baso-0.3 ___ 06:00AM BLOOD PT-13.1
PTT-30.2 INR(PT)-1.2 ___ 06:00AM BLOOD Glucose-103 UreaN-20 Creat-1.3 Na-138 K-4.1 Cl-102 HCO3-24 AnGap-12
___ 06:00AM BLOOD ALT-22 AST-31 AlkPhos-88 TotBili-0.6 Albumin-3.4 Calcium-8.9 Phos-3.2 Mg-2.0 Lactate-1.8
___ 06:00AM BLOOD cTropnT-<0.01 proBNP-2450 ___ 06:00AM BLOOD pO2-68 pCO2-45 pH-7.34 calTCO2-25 Base XS-0
MICROBIOLOGY: blood culture no growth to date; urine culture mixed flora; sputum culture Streptococcus pneumoniae.
IMAGING: CXR: Bilateral opacities, likely pulmonary edema. CT HEAD: no acute intracranial hemorrhage.
TTE: left ventricular ejection fraction 35%, moderate mitral regurgitation, mild tricuspid regurgitation.
Brief Hospital Course: Mr. ___ is a 66 y/o M admitted with hypoxemic respiratory failure secondary to community
acquired pneumonia complicated by septic shock and acute kidney injury. # Hypoxemic respiratory failure: required
intubation on hospital day 1, extubated on hospital day 4 to nasal cannula, weaned to room air prior to discharge.
# Septic shock: pressors were weaned off within 48 hours; antibiotics were narrowed to ceftriaxone and azithromycin
to complete a seven day course. # Acute kidney injury: likely prerenal, creatinine improved with volume
resuscitation, nephrotoxic medications were held. # Atrial fibrillation with rapid ventricular response: rate
controlled with metoprolol, anticoagulation with apixaban was continued. # Acute on chronic systolic heart failure:
diuresed with intravenous furosemide, discharge weight ___ kg. # Diabetes: insulin sliding scale, home regimen resumed.
# Delirium: resolved with reorientation and sleep hygiene. # Gastrointestinal bleed: hemoglobin stable after two units
of packed red blood cells, pantoprazole twice daily. TRANSITIONAL ISSUES: - follow up chest radiograph in 6 weeks
- recheck chemistry panel within one week - titrate diuretics as needed - code status: full code, confirmed.
Medications on Admission: The Preadmission Medication list is accurate and complete. 1. Apixaban 5 mg PO BID
2. Metoprolol Succinate XL 50 mg PO DAILY 3. Furosemide 40 mg PO DAILY 4. Atorvastatin 40 mg PO QPM 5. Lisinopril
10 mg PO DAILY 6. Insulin Glargine 20 Units Bedtime 7. Aspirin 81 mg PO DAILY 8. Tiotropium Bromide 1 CAP IH DAILY
9. Albuterol Inhaler 2 PUFF IH Q4H:PRN wheezing 10. Omeprazole 20 mg PO DAILY 11. Levothyroxine Sodium 75 mcg PO DAILY
12. Sertraline 50 mg PO DAILY 13. Acetaminophen 650 mg PO Q6H:PRN pain or fever 14. Docusate Sodium 100 mg PO BID
15. Senna 8.6 mg PO BID:PRN constipation 16. Heparin 5000 UNIT SC TID 17. Vancomycin 1000 mg IV Q12H
18. Piperacillin-Tazobactam 4.5 g IV Q8H 19. Prednisone 40 mg PO DAILY 20. Warfarin 5 mg PO DAILY16
Discharge Medications: as above, with changes: START ceftriaxone, STOP lisinopril, CHANGE furosemide to 20 mg.
Discharge Disposition: Home With Service. Extended Care Facility: ___. Expired.
Discharge Diagnosis: PRIMARY: Septic shock, Community acquired pneumonia, Acute hypoxemic respiratory failure.
SECONDARY: Atrial fibrillation, Chronic obstructive pulmonary disease, Congestive heart failure, Acute kidney injury.
Discharge Condition: Mental Status: Clear and coherent. Level of Consciousness: Alert and interactive.
Activity Status: Ambulatory - Independent. Ambulatory - requires assistance or aid (walker or cane).
Discharge Instructions: Dear Mr. ___, It was a pleasure taking care of you at ___. Why were you admitted to the
hospital? You were admitted because you had trouble breathing. What happened while you were in the hospital? You
were treated with antibiotics for a lung infection. You needed a breathing tube for a few days. What should you do
after you leave the hospital? Please take your medications as prescribed and attend your follow up appointments.
Please weigh yourself every morning and call your doctor if your weight goes up more than 3 lbs. We wish you the best!
Your ___ Care Team Followup Instructions: ___
EXAMINATION: CHEST (PORTABLE AP) CHEST (PA AND LAT) CT CHEST W/O CONTRAST CT ABD AND PELVIS WITH CONTRAST
CT HEAD W/O CONTRAST MR HEAD W AND W/O CONTRAST LIVER OR GALLBLADDER US (SINGLE ORGAN) RENAL U.S. BILAT LOWER EXT VEINS
INDICATION: ___ year old man with hypoxia, evaluate for pneumonia. ___ with elevated LFTs. ___ with fever, intubated,
assess endotracheal tube position. History: ___F with shortness of breath. Evaluate for interval change.
TECHNIQUE: Single portable frontal view of the chest. PA and lateral views of the chest. Contiguous axial images
were obtained from the thoracic inlet to the upper abdomen without intravenous contrast. Multiplanar reformatted
images were generated. Grayscale and color Doppler ultrasound images were obtained.
COMPARISON: Chest radiograph from ___. CT from ___. None.
FINDINGS: The endotracheal tube terminates 4 cm above the carina. An enteric tube courses below the diaphragm with
the tip in the stomach. A right internal jugular central venous catheter terminates in the mid superior vena cava.
There are new bilateral perihilar and basilar opacities, right greater than left, concerning for pulmonary edema or
multifocal pneumonia. Small bilateral pleural effusions with adjacent atelectasis. No pneumothorax. The
cardiomediastinal silhouette is enlarged, unchanged. Mild pulmonary vascular congestion. The hilar contours are
normal. There is mild interstitial edema. Degenerative changes of the thoracic spine. No acute osseous abnormality.
Lungs are clear without focal consolidation, effusion or pneumothorax. Heart size is normal. Cardiomegaly is
stable. Left lower lobe retrocardiac opacity may reflect atelectasis though infection cannot be excluded. Patchy
airspace disease in the right lower lobe. Emphysematous changes. Calcified granuloma. Sternotomy wires are intact.
Pacemaker leads terminate in the right atrium and right ventricle. Lung nodule measuring 6 mm, recommend follow up CT.
The liver is normal in echotexture without focal lesion. The gallbladder is distended with sludge, no wall thickening
or pericholecystic fluid. The common bile duct measures 5 mm. No hydronephrosis. No deep vein thrombosis.
No acute process in the abdomen or pelvis. No intracranial hemorrhage, mass effect or acute territorial infarct.
IMPRESSION: 1. Interval worsening of bilateral opacities, likely moderate pulmonary edema; superimposed infection
cannot be excluded. 2. Lines and tubes in appropriate position. 3. No pneumothorax. No acute findings. No acute
cardiopulmonary process. Findings were communicated to Dr. ___ by telephone at 10:15 on ___.
NOTIFICATION: The findings were discussed with the referring physician. ADDENDUM: Correction of laterality.
The patient denies chest pain, palpitations, orthopnea, paroxysmal nocturnal dyspnea, abdominal pain, dysuria,
hematuria, rash, joint pain, visual changes, numbness, tingling. Review of systems otherwise negative.
The patient was hemodynamically unstable, requiring vasopressors, mechanical ventilation, sedation with propofol and
fentanyl, continuous renal replacement therapy, transfusion, total parenteral nutrition, physical therapy,
occupational therapy, speech and swallow evaluation, social work and case management, palliative care consult,
goals of care discussion with family, comfort measures only, do not resuscitate, do not intubate.
Blood pressure, heart rate, respiratory rate, temperature, oxygen saturation, weight, height, urine output,
mean arterial pressure, glasgow coma scale, fraction of inspired oxygen, capillary refill, pupils, sodium,
potassium, chloride, bicarbonate, blood urea nitrogen, creatinine, glucose, hemoglobin, hematocrit, platelets,
white blood cells, neutrophils, lymphocytes, lactate, troponin, magnesium, phosphate, calcium, bilirubin,
albumin, lipase, amylase, ammonia, ferritin, procalcitonin, C-reactive protein, erythrocyte sedimentation rate.
Patient, patients, admitted, admission, discharged, discharge, transferred, transfer, improved, improving,
worsened, worsening, stable, unstable, acute, chronic, bilateral, unilateral, left, right, upper, lower, anterior,
posterior, medial, lateral, proximal, distal, mild, moderate, severe, small, large, new, unchanged, resolved,
likely, possible, probable, consistent with, concerning for, suggestive of, without evidence of, history of.
"""
