-- cohorts.icu_stays: the MedFuse root cohort of ICU stays (reference-pipelines.md §1.2, in this order).
-- rules:
--   1. ICU stays without a transfer between units: first_careunit = last_careunit.
--   2. Joined to their admission (subject_id, hadm_id) and their patient (subject_id); stays without both are dropped.
--   3. Exactly one ICU stay per admission, counted AFTER rule 1 (an admission with one transfer stay and one
--      clean stay keeps the clean one).
--   4. age = anchor_age (not shifted to the admission year); anchor_age < 0 becomes 90.
--   5. mortality_inunit = dod or deathtime within [intime, outtime]; mortality_inhospital (the IHM label) =
--      dod or deathtime within [admittime, dischtime]. dod is a DATE compared as midnight, so a death dated
--      on the discharge day counts as in-hospital even if it happened after discharge.
--   6. Adults only: age >= 18.
-- One row per ICU stay; sharded by subject_id modulo the shard count (column `shard`).
WITH clean_stays AS (
    SELECT * FROM raw.icu_icustays
    WHERE first_careunit = last_careunit
),
joined AS (
    SELECT s.subject_id, s.hadm_id, s.stay_id, s.first_careunit, s.last_careunit, s.intime, s.outtime, s.los,
           a.admittime, a.dischtime, a.deathtime, a.race, a.hospital_expire_flag,
           p.gender, p.anchor_age, p.dod
    FROM clean_stays AS s
    JOIN raw.hosp_admissions AS a ON a.subject_id = s.subject_id AND a.hadm_id = s.hadm_id
    JOIN raw.hosp_patients AS p ON p.subject_id = s.subject_id
),
one_stay AS (
    SELECT * FROM joined
    WHERE hadm_id IN (SELECT hadm_id FROM joined GROUP BY hadm_id HAVING count(stay_id) = 1)
),
aged AS (
    SELECT *, CASE WHEN anchor_age < 0 THEN 90 ELSE anchor_age END AS age FROM one_stay
)
SELECT subject_id, hadm_id, stay_id, intime, outtime, los, admittime, dischtime, deathtime, dod, age, gender, race,
       CAST(coalesce(CAST(dod AS TIMESTAMP) BETWEEN intime AND outtime, false)
            OR coalesce(deathtime BETWEEN intime AND outtime, false) AS INTEGER) AS mortality_inunit,
       CAST(coalesce(CAST(dod AS TIMESTAMP) BETWEEN admittime AND dischtime, false)
            OR coalesce(deathtime BETWEEN admittime AND dischtime, false) AS INTEGER) AS mortality_inhospital,
       first_careunit, last_careunit, hospital_expire_flag,
       CAST(subject_id % {shards} AS INTEGER) AS shard
FROM aged
WHERE age >= 18
