-- cohorts.haim_samples: one HAIM sample per chest X-ray image taken inside a hospital admission that has an ICU
-- stay (reference-pipelines.md §4.1, §4.2, §4.8; SPEC §3).
-- rules:
--   1. Images: every row of raw.cxr_metadata (every view position: HAIM stores ViewPosition, it does not filter)
--      with a valid StudyDate and StudyTime. study_datetime = the lake's study_datetime macro
--      (warehouse/sql/time_rules.sql: StudyDate + StudyTime truncated to whole seconds, as in the chest X-ray
--      pairing). HAIM floors this time to the minute; features.haim's faithful mode floors where HAIM compares.
--   2. Admissions: raw.hosp_admissions rows whose (subject_id, hadm_id) has at least one raw.icu_icustays row
--      (HAIM's records are (subject, hadm, stay) triples of the ICU tables). No age or transfer rule.
--   3. A sample is an (image, admission) pair with admittime <= study_datetime <= dischtime (both ends
--      inclusive, as HAIM). HAIM also requires the subject to appear in the CheXpert file; here an image
--      whose study has no CheXpert row is kept, with null labels.
--   4. stay_id: HAIM repeats every image sample once per ICU stay of the admission (one haim_id per stay).
--      Here there is ONE sample per (image, admission), attached to the stay whose [intime, outtime] contains
--      the image time (the latest intime if several do), else to the admission's latest stay that began
--      before the image, else NULL (image taken before the first ICU stay). image_in_stay says which;
--      n_stays_in_admission lets a user re-create HAIM's duplication by joining raw.icu_icustays.
--   5. sample_id = dicom_id || '-' || hadm_id (deterministic, unique).
--   6. prediction_time = study_datetime: every feature of features.haim uses data strictly before it.
--   7. img_hours_since_admit = hours from admittime to the image (HAIM img_deltacharttime);
--      img_length_of_stay_hours = hours from the image to dischtime (HAIM img_length_of_stay).
--   8. death_status = 1 iff discharge_location = 'DIED' (HAIM's code; its notebook text also names morgue and
--      hospice, which it does not use).
--   9. Labels (features.labels.with_haim_48h_labels, mirrored in SQL): mortality_48h = 1 if dead and
--      img_length_of_stay_hours < 48, 0 if >= 48 (alive or dead), NULL (excluded) if alive and < 48;
--      discharge_48h = 1 if alive and < 48, else 0 (alive >= 48 h, or dead at any time).
--  10. The 14 CheXpert labels of the image's study (raw.cxr_chexpert, joined on subject_id and study_id;
--      1, 0, -1 or NULL; CheXpert's, not NegBio's — HAIM's merge with NegBio is a no-op, §7 item 25).
--      cxr_split is the MIMIC-CXR official split of the image (reference only: clinfuse splits by subject).
-- One row per (image, admission); sharded by subject_id modulo the shard count (column `shard`).
WITH images AS (
    SELECT m.dicom_id, m.subject_id, m.study_id, m.ViewPosition AS view_position,
           m.PerformedProcedureStepDescription AS procedure_description,
           study_datetime(m.StudyDate, m.StudyTime) AS study_datetime
    FROM raw.cxr_metadata AS m
    WHERE study_datetime(m.StudyDate, m.StudyTime) IS NOT NULL AND m.dicom_id IS NOT NULL
),
icu_admissions AS (
    SELECT subject_id, hadm_id, count(DISTINCT stay_id) AS n_stays
    FROM raw.icu_icustays
    WHERE hadm_id IS NOT NULL
    GROUP BY subject_id, hadm_id
),
inside AS (
    SELECT i.*, a.hadm_id, a.admittime, a.dischtime, a.discharge_location, ia.n_stays
    FROM images AS i
    JOIN raw.hosp_admissions AS a
      ON a.subject_id = i.subject_id AND i.study_datetime BETWEEN a.admittime AND a.dischtime
    JOIN icu_admissions AS ia ON ia.subject_id = a.subject_id AND ia.hadm_id = a.hadm_id
),
stay_choice AS (
    SELECT x.dicom_id, x.hadm_id, s.stay_id,
           coalesce(x.study_datetime <= s.outtime, false) AS in_stay,
           row_number() OVER (PARTITION BY x.dicom_id, x.hadm_id
                              ORDER BY coalesce(x.study_datetime <= s.outtime, false) DESC,
                                       s.intime DESC, s.stay_id DESC) AS rn
    FROM inside AS x
    JOIN raw.icu_icustays AS s
      ON s.subject_id = x.subject_id AND s.hadm_id = x.hadm_id AND s.intime <= x.study_datetime
),
samples AS (
    SELECT x.*, c.stay_id, coalesce(c.in_stay, false) AS image_in_stay,
           date_diff('microsecond', x.admittime, x.study_datetime) / 3600000000.0 AS img_hours_since_admit,
           date_diff('microsecond', x.study_datetime, x.dischtime) / 3600000000.0 AS img_length_of_stay_hours,
           coalesce(x.discharge_location = 'DIED', false) AS dead
    FROM inside AS x
    LEFT JOIN stay_choice AS c ON c.dicom_id = x.dicom_id AND c.hadm_id = x.hadm_id AND c.rn = 1
)
SELECT s.dicom_id || '-' || CAST(s.hadm_id AS VARCHAR) AS sample_id,
       s.subject_id, s.hadm_id, s.stay_id, s.dicom_id, s.study_id, s.view_position, s.procedure_description,
       s.study_datetime, s.study_datetime AS prediction_time,
       s.admittime, s.dischtime, s.discharge_location,
       CAST(s.dead AS INTEGER) AS death_status,
       s.img_hours_since_admit, s.img_length_of_stay_hours,
       CAST(CASE WHEN s.img_length_of_stay_hours IS NULL THEN NULL
                 WHEN s.img_length_of_stay_hours < 48 AND s.dead THEN 1
                 WHEN s.img_length_of_stay_hours >= 48 THEN 0
                 ELSE NULL END AS TINYINT) AS mortality_48h,
       CAST(CASE WHEN s.img_length_of_stay_hours IS NULL THEN NULL
                 WHEN s.img_length_of_stay_hours < 48 AND NOT s.dead THEN 1
                 ELSE 0 END AS TINYINT) AS discharge_48h,
       s.image_in_stay, CAST(s.n_stays AS INTEGER) AS n_stays_in_admission,
       x."Atelectasis", x."Cardiomegaly", x."Consolidation", x."Edema", x."Enlarged Cardiomediastinum",
       x."Fracture", x."Lung Lesion", x."Lung Opacity", x."No Finding", x."Pleural Effusion",
       x."Pleural Other", x."Pneumonia", x."Pneumothorax", x."Support Devices",
       sp.split AS cxr_split,
       CAST(s.subject_id % {shards} AS INTEGER) AS shard
FROM samples AS s
LEFT JOIN raw.cxr_chexpert AS x ON x.subject_id = s.subject_id AND x.study_id = s.study_id
LEFT JOIN (SELECT dicom_id, min(split) AS split FROM raw.cxr_split GROUP BY dicom_id) AS sp
  ON sp.dicom_id = s.dicom_id
