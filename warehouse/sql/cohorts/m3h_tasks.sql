-- cohorts.m3h_tasks: the labels of M3H's tasks (models-reference.md C2, C6) for every cohorts.haim_samples row.
-- One row per HAIM sample; its prediction time is the image time (C6 #3: one prediction time for every task).
-- A NULL label means "no label for this sample": the model masks that task's loss on it.
-- rules:
--   1. Diagnoses (39 binary tasks) and hospital-acquired infection `hai`: 1 if a discharge diagnosis of the
--      sample's admission (raw.hosp_diagnoses_icd, same subject_id and hadm_id) starts with one of the task's
--      prefixes of the same icd_version (codes stored without dots), else 0; NULL when the admission has no
--      diagnosis row at all (not coded). Prefixes per task, department and notes: warehouse/resources/m3h_tasks.csv
--      (every prefix matches at least one code of the MIMIC-IV ICD dictionary of its version).
--      Discharge codes are known only after discharge: they are labels, never inputs.
--   2. hai: device/procedure-complication infection codes (catheter-related bloodstream infection, ventilator-
--      associated pneumonia, surgical-site infection, infection due to a urinary catheter). MIMIC has no
--      present-on-admission flag and codes carry no date, so an infection acquired before this admission (or
--      before the image) counts too (C6 #12); an onset rule would need microbiologyevents times (not done).
--   3. thorax8 (multiclass): among Atelectasis, Cardiomegaly, Consolidation, Edema, Enlarged Cardiomediastinum,
--      Lung Opacity, Pneumonia, Pneumothorax (this order = class index 0..7), the CheXpert labels of the image's
--      study (cohorts.haim_samples): the index of the one label equal to 1 when EXACTLY one of the eight is 1
--      (uncertain -1, 0 and unmentioned NULL are not positive); else NULL (none or several positive, no labels).
--   4. los: remaining length of stay in days from the prediction time to dischtime (death included).
--   5. mortality_48h: death_time = raw.hosp_admissions.deathtime, else dischtime when discharge_location = 'DIED'.
--      1 if prediction_time <= death_time < prediction_time + 48 h (in-hospital death within 48 h);
--      0 if no such death and the patient is in hospital until at least prediction_time + 48 h
--        (dischtime >= prediction_time + 48 h; a death later than that is 0);
--      NULL if discharged alive before prediction_time + 48 h (survival to 48 h is not observed: out-of-hospital
--        deaths have a date only; HAIM excludes these samples too) or if death_time < prediction_time.
--      Same boundaries as cohorts.haim_samples.mortality_48h (HAIM), with the recorded death time when there is one.
-- Sharded by subject_id modulo the shard count (column `shard`).
WITH codes AS (
    SELECT task, 10 AS icd_version, unnest(string_split(icd10_prefixes, ' ')) AS prefix FROM {codes}
    UNION ALL
    SELECT task, 9 AS icd_version, unnest(string_split(icd9_prefixes, ' ')) AS prefix FROM {codes}
),
samples AS (
    SELECT s.sample_id, s.subject_id, s.hadm_id, s.stay_id, s.dicom_id, s.prediction_time, s.dischtime,
           s."Atelectasis", s."Cardiomegaly", s."Consolidation", s."Edema", s."Enlarged Cardiomediastinum",
           s."Lung Opacity", s."Pneumonia", s."Pneumothorax",
           coalesce(a.deathtime, CASE WHEN a.discharge_location = 'DIED' THEN a.dischtime END) AS death_time
    FROM cohorts.haim_samples AS s
    LEFT JOIN raw.hosp_admissions AS a ON a.subject_id = s.subject_id AND a.hadm_id = s.hadm_id
),
coded AS (
    SELECT DISTINCT subject_id, hadm_id FROM raw.hosp_diagnoses_icd
),
hits AS (
    SELECT DISTINCT d.subject_id, d.hadm_id, c.task
    FROM raw.hosp_diagnoses_icd AS d
    JOIN codes AS c
      ON c.icd_version = d.icd_version AND c.prefix <> '' AND starts_with(trim(d.icd_code), c.prefix)
),
diagnoses AS (
    SELECT s.sample_id, {diagnosis_columns}
    FROM samples AS s
    LEFT JOIN hits AS h ON h.subject_id = s.subject_id AND h.hadm_id = s.hadm_id
    GROUP BY s.sample_id
),
thorax AS (
    SELECT sample_id,
           (coalesce("Atelectasis" = 1, false))::INTEGER + (coalesce("Cardiomegaly" = 1, false))::INTEGER
           + (coalesce("Consolidation" = 1, false))::INTEGER + (coalesce("Edema" = 1, false))::INTEGER
           + (coalesce("Enlarged Cardiomediastinum" = 1, false))::INTEGER
           + (coalesce("Lung Opacity" = 1, false))::INTEGER + (coalesce("Pneumonia" = 1, false))::INTEGER
           + (coalesce("Pneumothorax" = 1, false))::INTEGER AS n_positive,
           CASE WHEN "Atelectasis" = 1 THEN 0 WHEN "Cardiomegaly" = 1 THEN 1 WHEN "Consolidation" = 1 THEN 2
                WHEN "Edema" = 1 THEN 3 WHEN "Enlarged Cardiomediastinum" = 1 THEN 4
                WHEN "Lung Opacity" = 1 THEN 5 WHEN "Pneumonia" = 1 THEN 6 WHEN "Pneumothorax" = 1 THEN 7
           END AS first_positive
    FROM samples
)
SELECT s.sample_id, s.subject_id, s.hadm_id, s.stay_id, s.dicom_id, s.prediction_time,
       {diagnosis_labels},
       CAST(CASE WHEN t.n_positive = 1 THEN t.first_positive END AS TINYINT) AS thorax8,
       date_diff('microsecond', s.prediction_time, s.dischtime) / 86400000000.0 AS los,
       CAST(CASE WHEN s.death_time < s.prediction_time THEN NULL
                 WHEN s.death_time < s.prediction_time + INTERVAL 48 HOUR THEN 1
                 WHEN s.dischtime >= s.prediction_time + INTERVAL 48 HOUR THEN 0
                 ELSE NULL END AS TINYINT) AS mortality_48h,
       CAST(s.subject_id % {shards} AS INTEGER) AS shard
FROM samples AS s
JOIN diagnoses AS d ON d.sample_id = s.sample_id
JOIN thorax AS t ON t.sample_id = s.sample_id
LEFT JOIN coded AS k ON k.subject_id = s.subject_id AND k.hadm_id = s.hadm_id
