-- Events of HAIM's time-series signals for the samples of `_haim_samples` (reference-pipelines.md §4.5).
-- Placeholders filled by features/haim/build.py: {raw.icu_chartevents}, {raw.hosp_labevents},
-- {raw.icu_procedureevents} (read_parquet scans of these lake tables with `filename` and `file_row_number`, i.e.
-- the lake's storage order). Registered frames:
-- _haim_samples (sample_id, subject_id, hadm_id, stay_id, prediction_time) and _haim_signals (source, signal,
-- label). Parameter $faithful (BOOLEAN).
--
-- Signals: every itemid whose d_items / d_labitems label equals a HAIM label exactly (ids and fluids pooled).
-- Scopes (both modes): chart and procedure events of the sample's ICU stay (none when stay_id is null), lab
-- events of the sample's admission. Values: chart/lab valuenum, procedure `value`; null/NaN values dropped.
-- Time bound, fixed mode (default): event time strictly before the prediction time — charttime for chart and
--   lab events, starttime for procedures (HAIM never filtered procedures: §7 item 18). A procedure still
--   running at the prediction time counts with its duration clipped to the part already elapsed: when its
--   valueuom is a time unit (min, hour, day) value is scaled by (prediction_time - starttime) /
--   (endtime - starttime); other values (counts, 'None') are kept.
-- Time bound, faithful mode (HAIM's get_timebound_patient_icustay): charttime <= the prediction time floored
--   to the minute (HAIM compares hours since admittime with the floored image time), null charttimes kept;
--   procedures never time-filtered and never clipped.
-- Order: event_time, then storage order (fixed); storage order only (faithful: HAIM's table order).
WITH samples AS (
    SELECT sample_id, subject_id, hadm_id, stay_id, prediction_time,
           date_trunc('minute', prediction_time) AS prediction_minute
    FROM _haim_samples
),
chart_items AS (
    SELECT DISTINCT d.itemid, s.signal
    FROM raw.icu_d_items AS d JOIN _haim_signals AS s ON s.source = 'ce' AND d.label = s.label
),
proc_items AS (
    SELECT DISTINCT d.itemid, s.signal
    FROM raw.icu_d_items AS d JOIN _haim_signals AS s ON s.source = 'pe' AND d.label = s.label
),
lab_items AS (
    SELECT DISTINCT d.itemid, s.signal
    FROM raw.hosp_d_labitems AS d JOIN _haim_signals AS s ON s.source = 'le' AND d.label = s.label
),
chart AS (
    SELECT s.sample_id, 'ce' AS source, i.signal, c.charttime AS event_time, c.valuenum AS value,
           c.filename AS file, c.file_row_number AS row_in_file
    FROM {raw.icu_chartevents} AS c
    JOIN chart_items AS i ON i.itemid = c.itemid
    JOIN samples AS s ON s.subject_id = c.subject_id AND s.stay_id = c.stay_id
    WHERE c.valuenum IS NOT NULL AND NOT isnan(c.valuenum)
      AND CASE WHEN $faithful THEN c.charttime IS NULL OR c.charttime <= s.prediction_minute
               ELSE c.charttime < s.prediction_time END
),
lab AS (
    SELECT s.sample_id, 'le' AS source, i.signal, l.charttime AS event_time, l.valuenum AS value,
           l.filename AS file, l.file_row_number AS row_in_file
    FROM {raw.hosp_labevents} AS l
    JOIN lab_items AS i ON i.itemid = l.itemid
    JOIN samples AS s ON s.subject_id = l.subject_id AND s.hadm_id = l.hadm_id
    WHERE l.valuenum IS NOT NULL AND NOT isnan(l.valuenum)
      AND CASE WHEN $faithful THEN l.charttime IS NULL OR l.charttime <= s.prediction_minute
               ELSE l.charttime < s.prediction_time END
),
proc AS (
    SELECT s.sample_id, 'pe' AS source, i.signal, p.starttime AS event_time,
           CASE WHEN $faithful OR p.endtime IS NULL OR p.endtime <= s.prediction_time OR p.endtime <= p.starttime
                     OR lower(coalesce(p.valueuom, '')) NOT IN ('min', 'hour', 'day') THEN p.value
                ELSE p.value * date_diff('microsecond', p.starttime, s.prediction_time)
                             / date_diff('microsecond', p.starttime, p.endtime) END AS value,
           p.filename AS file, p.file_row_number AS row_in_file
    FROM {raw.icu_procedureevents} AS p
    JOIN proc_items AS i ON i.itemid = p.itemid
    JOIN samples AS s ON s.subject_id = p.subject_id AND s.stay_id = p.stay_id
    WHERE p.value IS NOT NULL AND NOT isnan(p.value)
      AND ($faithful OR p.starttime < s.prediction_time)
)
SELECT * FROM chart
UNION ALL
SELECT * FROM lab
UNION ALL
SELECT * FROM proc
