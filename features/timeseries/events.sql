-- Events of the 17 MedFuse variables for the cohort's ICU stays (reference-pipelines.md §1.4, §1.7).
-- Placeholders filled by events.py: {cohort} (subject_id, hadm_id, stay_id, intime, outtime; one stay per
-- admission) and {items} (itemid, variable, mimic_label).
--
-- §1.4 validation: an event needs a hadm_id that is one of the subject's cohort admissions; chart events
-- whose stay_id is another stay of that admission are dropped; labs (no stay_id) take the admission's
-- stay, so every lab of the admission comes along, pre- and post-ICU ones included.
-- §1.7 episode rule: the episode of stay S holds the subject's events with stay_id = S OR charttime in
-- [intime(S), outtime(S)] (so an event can belong to two episodes of one subject).
-- Rows with neither value nor valuenum are dropped; the cleaning step decides what else is unusable
-- (faithful mode also drops a null `value`, as the reference reads events.csv back).
WITH stays AS (
    SELECT subject_id, hadm_id, stay_id, intime, outtime FROM {cohort}
),
items AS (
    SELECT DISTINCT itemid, variable, mimic_label FROM {items}
),
chart AS (
    SELECT c.subject_id, c.hadm_id, s.stay_id AS event_stay_id, c.charttime, c.itemid,
           c.value, c.valuenum, c.valueuom, 'chartevents' AS source
    FROM raw.icu_chartevents AS c
    JOIN stays AS s ON s.subject_id = c.subject_id AND s.hadm_id = c.hadm_id
    WHERE c.itemid IN (SELECT itemid FROM items)
      AND coalesce(c.stay_id, s.stay_id) = s.stay_id
),
lab AS (
    SELECT l.subject_id, l.hadm_id, s.stay_id AS event_stay_id, l.charttime, l.itemid,
           l.value, l.valuenum, l.valueuom, 'labevents' AS source
    FROM raw.hosp_labevents AS l
    JOIN stays AS s ON s.subject_id = l.subject_id AND s.hadm_id = l.hadm_id
    WHERE l.itemid IN (SELECT itemid FROM items)
),
validated AS (
    SELECT * FROM chart
    UNION ALL
    SELECT * FROM lab
)
SELECT e.subject_id,
       e.hadm_id,
       ep.stay_id,
       e.event_stay_id,
       e.charttime,
       date_diff('microsecond', ep.intime, e.charttime) / 3600000000.0 AS hours,
       e.itemid,
       i.variable,
       i.mimic_label,
       e.value,
       e.valuenum,
       e.valueuom,
       e.source
FROM validated AS e
JOIN stays AS ep
  ON ep.subject_id = e.subject_id
 AND (ep.stay_id = e.event_stay_id OR e.charttime BETWEEN ep.intime AND ep.outtime)
JOIN items AS i ON i.itemid = e.itemid
WHERE (e.value IS NOT NULL OR e.valuenum IS NOT NULL)
  AND e.charttime IS NOT NULL
