-- frames.m3tlm: one row per adult hospital admission with a defined prediction time (M3T-LM, models-reference A).
-- Registered by features/m3tlm/frame.py before this runs: numeric_spec(pos, name, source, itemid, agg),
-- onehot_spec(pos, field, value) and the raw/features views of the lake. Parameters:
--   $whole_admission  BOOLEAN  TRUE = the paper's inputs (faithful): prediction time = dischtime, events of
--                              the whole stay, titles of the same admission, label = total LoS.
--   $window_hours     INTEGER  clean reading: prediction time = admittime + window (24 or 48 h).
--   $same_admission_titles BOOLEAN  the ICD long titles of this admission (leaky, faithful) instead of the
--                              patient's EARLIER admissions (discharged at or before this admittime).
--   $dx_length, $px_length INTEGER  tokens kept per sequence (most recent admission first, seq_num order).
--   $image_lookback_hours  INTEGER  images taken up to this long before admittime count (ED films).
-- rules:
--   1. Admissions with dischtime > admittime of subjects with a split in features.splits; age at admission
--      (anchor_age + year(admittime) - anchor_year) >= 18.
--   2. Clean: still in hospital at the prediction time (dischtime > prediction time).
--   3. Numeric features: lab (hosp.labevents) and chart (icu.chartevents) values of the admission with
--      charttime <= prediction time, aggregated per numeric_spec (last | mean | min | max); temperature in
--      Celsius (itemid 223762) is converted to Fahrenheit (223761). NULL = not measured by then.
--   4. Derived numeric features: age; prior_admissions and prior_diagnosis_codes count the patient's
--      admissions discharged at or before this admittime and their diagnosis codes.
--   5. One-hot block: admission_type, admission_location, insurance, gender against fixed category lists;
--      a value outside its field's list (or NULL) sets that field's '__other__' slot.
--   6. Image: the latest frontal (PA or AP) tensor of features.cxr_tensors with
--      admittime - lookback <= study_datetime <= prediction time (ties: the larger dicom_id).
--   7. Labels: los_days = (dischtime - prediction time) in days (clean, remaining LoS) or
--      (dischtime - admittime) (faithful, total LoS); mortality = hospital_expire_flag. deathtime, dod,
--      discharge_location and dischtime never enter a feature.
WITH adm AS (
    SELECT a.subject_id, a.hadm_id, a.admittime, a.dischtime, a.admission_type, a.admission_location,
           a.insurance, a.race, a.hospital_expire_flag, p.gender,
           CAST(p.anchor_age + year(a.admittime) - p.anchor_year AS DOUBLE) AS age,
           CASE WHEN $whole_admission THEN a.dischtime
                ELSE a.admittime + to_hours(CAST($window_hours AS BIGINT)) END AS prediction_time
    FROM raw.hosp_admissions a
    JOIN raw.hosp_patients p ON p.subject_id = a.subject_id
    WHERE a.dischtime > a.admittime
),
cohort AS (
    SELECT adm.*, CAST(s.split AS VARCHAR) AS split
    FROM adm JOIN features.splits s ON s.subject_id = adm.subject_id
    WHERE adm.age >= 18 AND ($whole_admission OR adm.dischtime > adm.prediction_time)
),
events AS (
    SELECT l.hadm_id, 'lab' AS source, l.itemid, l.charttime, l.valuenum
    FROM raw.hosp_labevents l
    WHERE l.valuenum IS NOT NULL AND l.itemid IN (SELECT itemid FROM numeric_spec WHERE source = 'lab')
    UNION ALL
    SELECT c.hadm_id, 'chart' AS source,
           CASE WHEN c.itemid = 223762 THEN 223761 ELSE c.itemid END AS itemid, c.charttime,
           CASE WHEN c.itemid = 223762 THEN c.valuenum * 9.0 / 5.0 + 32.0 ELSE c.valuenum END AS valuenum
    FROM raw.icu_chartevents c
    WHERE c.valuenum IS NOT NULL
      AND (c.itemid = 223762 OR c.itemid IN (SELECT itemid FROM numeric_spec WHERE source = 'chart'))
),
measured AS (
    SELECT c.hadm_id, s.pos,
           CASE any_value(s.agg) WHEN 'last' THEN arg_max(e.valuenum, e.charttime)
                                 WHEN 'mean' THEN avg(e.valuenum)
                                 WHEN 'min' THEN min(e.valuenum)
                                 WHEN 'max' THEN max(e.valuenum) END AS value
    FROM cohort c
    JOIN events e ON e.hadm_id = c.hadm_id AND e.charttime <= c.prediction_time
    JOIN numeric_spec s ON s.source = e.source AND s.itemid = e.itemid
    GROUP BY c.hadm_id, s.pos
),
earlier AS (  -- the patient's admissions discharged at or before this admission began
    SELECT c.hadm_id, pa.hadm_id AS earlier_hadm_id, pa.admittime AS earlier_admittime
    FROM cohort c JOIN raw.hosp_admissions pa
      ON pa.subject_id = c.subject_id AND pa.hadm_id <> c.hadm_id AND pa.dischtime <= c.admittime
),
prior AS (
    SELECT e.hadm_id, count(DISTINCT e.earlier_hadm_id) AS n_admissions, count(d.icd_code) AS n_codes
    FROM earlier e LEFT JOIN raw.hosp_diagnoses_icd d ON d.hadm_id = e.earlier_hadm_id
    GROUP BY e.hadm_id
),
derived AS (
    SELECT c.hadm_id, s.pos,
           CASE s.name WHEN 'age' THEN c.age
                       WHEN 'prior_admissions' THEN coalesce(p.n_admissions, 0)
                       WHEN 'prior_diagnosis_codes' THEN coalesce(p.n_codes, 0) END AS value
    FROM cohort c CROSS JOIN numeric_spec s LEFT JOIN prior p ON p.hadm_id = c.hadm_id
    WHERE s.source = 'derived'
),
numeric_values AS (SELECT * FROM measured UNION ALL SELECT * FROM derived),
numeric AS (
    SELECT c.hadm_id, list(CAST(v.value AS DOUBLE) ORDER BY s.pos) AS numeric
    FROM cohort c CROSS JOIN numeric_spec s
    LEFT JOIN numeric_values v ON v.hadm_id = c.hadm_id AND v.pos = s.pos
    GROUP BY c.hadm_id
),
category AS (
    SELECT c.hadm_id, o.pos, o.field, o.value,
           upper(trim(CASE o.field WHEN 'admission_type' THEN c.admission_type
                                   WHEN 'admission_location' THEN c.admission_location
                                   WHEN 'insurance' THEN c.insurance
                                   WHEN 'gender' THEN c.gender END)) AS observed
    FROM cohort c CROSS JOIN onehot_spec o
),
onehot AS (
    SELECT k.hadm_id,
           list(CAST(CASE WHEN k.value = '__other__'
                          THEN k.observed IS NULL OR k.observed NOT IN (
                                   SELECT o.value FROM onehot_spec o WHERE o.field = k.field)
                          ELSE coalesce(k.observed = k.value, FALSE) END AS FLOAT) ORDER BY k.pos) AS onehot
    FROM category k GROUP BY k.hadm_id
),
title_admissions AS (  -- which admissions' codes become this row's titles
    SELECT c.hadm_id, c.hadm_id AS source_hadm_id, c.admittime AS source_admittime
    FROM cohort c WHERE $same_admission_titles
    UNION ALL
    SELECT hadm_id, earlier_hadm_id, earlier_admittime FROM earlier WHERE NOT $same_admission_titles
),
dx AS (
    SELECT t.hadm_id,
           list_slice(flatten(list(list_filter(string_split_regex(lower(dd.long_title), '[^a-z0-9]+'), lambda w: w <> '')
                                   ORDER BY t.source_admittime DESC, d.seq_num, d.icd_code)),
                      1, CAST($dx_length AS BIGINT)) AS dx_tokens
    FROM title_admissions t
    JOIN raw.hosp_diagnoses_icd d ON d.hadm_id = t.source_hadm_id
    JOIN raw.hosp_d_icd_diagnoses dd ON dd.icd_code = d.icd_code AND dd.icd_version = d.icd_version
    GROUP BY t.hadm_id
),
px AS (
    SELECT t.hadm_id,
           list_slice(flatten(list(list_filter(string_split_regex(lower(dp.long_title), '[^a-z0-9]+'), lambda w: w <> '')
                                   ORDER BY t.source_admittime DESC, pr.seq_num, pr.icd_code)),
                      1, CAST($px_length AS BIGINT)) AS px_tokens
    FROM title_admissions t
    JOIN raw.hosp_procedures_icd pr ON pr.hadm_id = t.source_hadm_id
    JOIN raw.hosp_d_icd_procedures dp ON dp.icd_code = pr.icd_code AND dp.icd_version = pr.icd_version
    GROUP BY t.hadm_id
),
image AS (
    SELECT c.hadm_id,
           arg_max(t.dicom_id, (t.study_datetime, t.dicom_id)) AS dicom_id,
           arg_max(t.study_id, (t.study_datetime, t.dicom_id)) AS study_id,
           max(t.study_datetime) AS cxr_time
    FROM cohort c
    JOIN (SELECT dicom_id, subject_id, study_id, study_datetime, view_position FROM features.cxr_tensors) t
      ON t.subject_id = c.subject_id AND t.view_position IN ('PA', 'AP')
     AND t.study_datetime <= c.prediction_time
     AND t.study_datetime >= c.admittime - to_hours(CAST($image_lookback_hours AS BIGINT))
    GROUP BY c.hadm_id
)
SELECT c.hadm_id, c.subject_id, c.admittime, c.prediction_time, c.split,
       n.numeric, o.onehot,
       CAST(CASE WHEN upper(c.race) LIKE 'WHITE%' THEN 0
                 WHEN upper(c.race) LIKE 'BLACK%' THEN 1
                 WHEN upper(c.race) LIKE 'HISPANIC%' OR upper(c.race) LIKE '%LATINO%'
                      OR upper(c.race) = 'SOUTH AMERICAN' THEN 2
                 WHEN upper(c.race) LIKE 'ASIAN%' THEN 3
                 WHEN c.race IS NULL OR upper(c.race) IN ('UNKNOWN', 'UNABLE TO OBTAIN', 'PATIENT DECLINED TO ANSWER')
                      THEN 5
                 ELSE 4 END AS TINYINT) AS ethnicity,
       coalesce(dx.dx_tokens, []::VARCHAR[]) AS dx_tokens,
       coalesce(px.px_tokens, []::VARCHAR[]) AS px_tokens,
       i.dicom_id IS NOT NULL AS has_cxr, i.dicom_id, i.study_id, i.cxr_time,
       c.gender AS sex, c.age, coalesce(c.race, 'UNKNOWN') AS race,
       date_diff('microsecond', CASE WHEN $whole_admission THEN c.admittime ELSE c.prediction_time END,
                 c.dischtime) / 86400000000.0 AS los_days,
       CAST(coalesce(c.hospital_expire_flag, 0) AS TINYINT) AS mortality
FROM cohort c
JOIN numeric n ON n.hadm_id = c.hadm_id
JOIN onehot o ON o.hadm_id = c.hadm_id
LEFT JOIN dx ON dx.hadm_id = c.hadm_id
LEFT JOIN px ON px.hadm_id = c.hadm_id
LEFT JOIN image i ON i.hadm_id = c.hadm_id
ORDER BY c.subject_id, c.hadm_id
