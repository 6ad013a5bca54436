-- Earlier chest X-rays of each sample of `_haim_samples`, for the vmd/vmp blocks (reference-pipelines.md §4.7).
-- Placeholder {raw.cxr_split}: a read_parquet scan of that table with `filename` and `file_row_number` (the lake's
-- storage order of a subject's images, which stands for HAIM's image-table order). Parameter $faithful (BOOLEAN).
-- Image time: the lake's study_datetime macro (warehouse/sql/time_rules.sql), as everywhere else.
--
-- fixed (default): images of the same admission taken strictly before the prediction time:
--   admittime <= study_datetime < prediction_time. The sample's own image, and the other images of its study
--   (same study_datetime), are therefore never "earlier" images. weight_time = image_time.
-- faithful (HAIM's code): images of the SUBJECT (any admission) with the time floored to the minute <= the
--   prediction time floored to the minute (the own image and its study included). weight_time is the floored
--   time. HAIM then pairs the k-th weight of this time-filtered table with the k-th image of the subject's
--   UNFILTERED image list (§7 item 19: the image list is masked with a mask computed on the already filtered
--   table), both in storage order: used_dicom_id is that k-th image, used_image_time its (unfloored) time.
WITH samples AS (
    SELECT sample_id, subject_id, admittime, prediction_time FROM _haim_samples
),
images AS (
    SELECT m.dicom_id, m.subject_id,
           study_datetime(m.StudyDate, m.StudyTime) AS image_time
    FROM raw.cxr_metadata AS m
    WHERE study_datetime(m.StudyDate, m.StudyTime) IS NOT NULL AND m.dicom_id IS NOT NULL
      AND m.subject_id IN (SELECT subject_id FROM samples)
),
split_order AS (
    SELECT dicom_id, min(filename) AS file, min(file_row_number) AS row_in_file
    FROM {raw.cxr_split} GROUP BY dicom_id
),
ranked AS (
    SELECT i.*, row_number() OVER (PARTITION BY i.subject_id
                                   ORDER BY o.file NULLS LAST, o.row_in_file NULLS LAST, i.dicom_id) - 1 AS storage_rank
    FROM images AS i LEFT JOIN split_order AS o ON o.dicom_id = i.dicom_id
),
kept AS (
    SELECT s.sample_id, s.subject_id, r.dicom_id, r.image_time, r.storage_rank,
           CASE WHEN $faithful THEN date_trunc('minute', r.image_time) ELSE r.image_time END AS weight_time,
           row_number() OVER (PARTITION BY s.sample_id ORDER BY r.storage_rank) - 1 AS kept_rank
    FROM samples AS s
    JOIN ranked AS r ON r.subject_id = s.subject_id
    WHERE CASE WHEN $faithful THEN date_trunc('minute', r.image_time) <= date_trunc('minute', s.prediction_time)
               ELSE r.image_time >= s.admittime AND r.image_time < s.prediction_time END
)
SELECT k.sample_id, k.dicom_id AS filtered_dicom_id, k.weight_time,
       CASE WHEN $faithful THEN u.dicom_id ELSE k.dicom_id END AS used_dicom_id,
       CASE WHEN $faithful THEN u.image_time ELSE k.image_time END AS used_image_time
FROM kept AS k
LEFT JOIN ranked AS u ON $faithful AND u.subject_id = k.subject_id AND u.storage_rank = k.kept_rank
