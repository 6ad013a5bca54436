-- The lake's time rules, one definition each. warehouse.timerules defines these macros on every engine connection
-- (warehouse.lake.engine); every SQL file and Python function that needs one calls it, none re-derives it.
--
-- study_datetime(StudyDate, StudyTime): when a MIMIC-CXR image was taken. StudyDate (YYYYMMDD) + StudyTime
--   (HHMMSS.fff) truncated to whole seconds, as MedFuse does (it casts StudyTime to int): 80556.875 -> 08:05:56.
--   HAIM floors the time to the minute where it compares (features.haim's faithful mode does the same), so the
--   dropped fraction never matters there. NULL when either part is null or not a valid date / time of day
--   (e.g. StudyTime 246000).
CREATE OR REPLACE TEMP MACRO study_datetime(study_date, study_time) AS (
    CASE WHEN trunc(study_time) BETWEEN 0 AND 235959
              AND CAST(trunc(study_time) AS BIGINT) // 100 % 100 < 60
              AND CAST(trunc(study_time) AS BIGINT) % 100 < 60
         THEN CAST(try_strptime(CAST(CAST(study_date AS BIGINT) AS VARCHAR), '%Y%m%d') AS TIMESTAMP)
              + to_seconds(CAST(trunc(study_time) AS BIGINT) // 10000 * 3600
                           + CAST(trunc(study_time) AS BIGINT) // 100 % 100 * 60
                           + CAST(trunc(study_time) AS BIGINT) % 100)
    END
);

-- note_available_time(source, charttime, storetime): when a note could first be read. Its storetime (never before
--   its charttime); without a storetime, a discharge summary (charted at midnight of the discharge day, written at
--   discharge) from the end of that day, any other note from its charttime.
CREATE OR REPLACE TEMP MACRO note_available_time(source, charttime, storetime) AS (
    CASE WHEN storetime IS NOT NULL THEN greatest(charttime, storetime)
         WHEN source = 'discharge' THEN charttime + INTERVAL 1 DAY
         ELSE charttime
    END
);
