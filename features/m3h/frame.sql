-- frames.m3h: one row per cohorts.m3h_tasks sample (= cohorts.haim_samples row) with its HAIM embedding blocks
-- (features.haim), its task labels and its subject's split (features.splits).
-- A block whose source had nothing before the prediction time is NULL, not HAIM's zeros: {block_rules}.
-- The model masks or imputes NULL blocks (and says which); the frame never zero-fills.
SELECT t.sample_id, t.subject_id, t.hadm_id, t.stay_id, t.dicom_id, t.prediction_time, sp.split,
       {presence_columns},
       {feature_columns},
       {label_columns}
FROM cohorts.m3h_tasks AS t
JOIN features.haim AS h ON h.sample_id = t.sample_id
LEFT JOIN features.splits AS sp ON sp.subject_id = t.subject_id
