-- Notes of each sample of `_haim_samples` for the n_* blocks (reference-pipelines.md §4.6).
-- Placeholder {embeddings.notes_clinicalbert_notes}: a read_parquet scan of that table. Registered frame
-- _haim_note_types (source). Parameter $faithful (BOOLEAN).
-- Scope (both modes): notes of the sample's admission (subject_id, hadm_id) whose `source` is a requested note
-- type; notes without a charttime are dropped. MIMIC-IV-Note has no stay_id, so HAIM's stay scope becomes the
-- admission. available_time = the lake's note_available_time macro (warehouse/sql/time_rules.sql: storetime, else
-- a discharge summary from the end of its charted day, else charttime), as in the notes build and the store.
--
-- fixed (default): charttime < prediction_time AND available_time < prediction_time; besides, when storetime is
--   unknown, a radiology note charted within the prediction minute is taken to be the report of the sample's own
--   study and excluded (charttime < prediction time floored to the minute). The report of the sample's study is
--   therefore never used (HAIM's label leakage, §7 item 23).
-- faithful (HAIM): charttime <= the prediction time floored to the minute; storetime ignored (so the report of
--   the sample's own study, charted at the study minute and written hours later, is included).
WITH samples AS (
    SELECT sample_id, subject_id, hadm_id, admittime, prediction_time,
           date_trunc('minute', prediction_time) AS prediction_minute
    FROM _haim_samples
),
stored AS (
    SELECT note_id, min(storetime) AS storetime
    FROM (SELECT note_id, storetime FROM raw.note_radiology
          UNION ALL
          SELECT note_id, storetime FROM raw.note_discharge)
    GROUP BY note_id
)
SELECT s.sample_id, n.source AS note_type, n.note_id, n.charttime, st.storetime, n.n_chunks,
       date_diff('microsecond', s.admittime, n.charttime) / 3600000000.0 AS hours_since_admit,
       note_available_time(n.source, n.charttime, st.storetime) AS available_time
FROM samples AS s
JOIN {embeddings.notes_clinicalbert_notes} AS n ON n.subject_id = s.subject_id AND n.hadm_id = s.hadm_id
LEFT JOIN stored AS st ON st.note_id = n.note_id
WHERE n.source IN (SELECT source FROM _haim_note_types)
  AND n.charttime IS NOT NULL
  AND CASE WHEN $faithful THEN n.charttime <= s.prediction_minute
           ELSE n.charttime < s.prediction_time
                AND note_available_time(n.source, n.charttime, st.storetime) < s.prediction_time
                AND (st.storetime IS NOT NULL OR n.source <> 'radiology' OR n.charttime < s.prediction_minute)
      END
