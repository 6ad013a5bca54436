-- cohorts.los: length of stay of every stay of cohorts.icu_stays (SPEC §3).
-- rules:
--   1. Every stay of cohorts.icu_stays (MedFuse root rules: no transfer, one ICU stay per admission, adults).
--   2. los_hospital_days = (dischtime - admittime) in days; los_icu_days = (outtime - intime) in days, else
--      icustays.los when a time is missing.
--   3. hospital_expire_flag from the admission (MIMIC's own flag); mortality_inhospital is the MedFuse rule.
-- One row per ICU stay; sharded by subject_id modulo the shard count (column `shard`).
SELECT subject_id, hadm_id, stay_id, intime, outtime, admittime, dischtime,
       date_diff('microsecond', admittime, dischtime) / 86400000000.0 AS los_hospital_days,
       coalesce(date_diff('microsecond', intime, outtime) / 86400000000.0, los) AS los_icu_days,
       hospital_expire_flag, mortality_inhospital,
       CAST(subject_id % {shards} AS INTEGER) AS shard
FROM cohorts.icu_stays
