"""THE faithful-mode equivalence test: on the real MIMIC-IV demo, the library's faithful time series equal,
stay by stay and cell by cell, an independent re-implementation of the reference rules
(reference-pipelines.md §1.2, §1.4-§1.7, §1.9, §1.10) written here row by row in plain Python over the
raw CSV rows. The reference path uses only `csv`, `gzip`, `json`, `datetime` and numpy — no Polars, no
DuckDB, nothing from `features/` or `warehouse/` except the paths of the vendored resource files.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

DEMO = Path(__file__).parents[2].parent / "shared/data/mimic-iv-demo-2.2"
RESOURCES = Path(__file__).parents[2] / "warehouse/resources/mimic3_benchmarks"
EPS = 1e-6

pytestmark = pytest.mark.skipif(not (DEMO / "hosp" / "admissions.csv.gz").is_file(),
                                reason=f"the real MIMIC-IV demo is not at {DEMO}")


# =============================================================== the reference path (plain Python)


def read_rows(relpath: str):
    with gzip.open(DEMO / relpath, "rt", newline="") as f:
        yield from csv.DictReader(f)


def ts(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def reference_root_stays() -> dict[int, dict]:
    """§1.2, in order: no transfer, join admissions + patients, one stay per admission (after the transfer
    filter), age = anchor_age (<0 -> 90), mortality flags (dod is a date = midnight), age >= 18."""
    admissions = {(r["subject_id"], r["hadm_id"]): r for r in read_rows("hosp/admissions.csv.gz")}
    patients = {r["subject_id"]: r for r in read_rows("hosp/patients.csv.gz")}
    stays = []
    for r in read_rows("icu/icustays.csv.gz"):
        # pandas reads an empty careunit as NaN, and NaN == NaN is False
        if r["first_careunit"] and r["first_careunit"] == r["last_careunit"]:
            a, p = admissions.get((r["subject_id"], r["hadm_id"])), patients.get(r["subject_id"])
            if a is not None and p is not None:
                stays.append({**r, **{k: a[k] for k in ("admittime", "dischtime", "deathtime")},
                              "anchor_age": p["anchor_age"], "dod": p["dod"]})
    per_hadm = defaultdict(int)
    for s in stays:
        per_hadm[s["hadm_id"]] += 1
    out = {}
    for s in stays:
        if per_hadm[s["hadm_id"]] != 1:
            continue
        age = int(s["anchor_age"])
        age = 90 if age < 0 else age
        intime, outtime = ts(s["intime"]), ts(s["outtime"])
        admit, disch, death = ts(s["admittime"]), ts(s["dischtime"]), ts(s["deathtime"])
        dod = datetime.fromisoformat(s["dod"][:10]) if s["dod"] else None

        def within(t, lo, hi):
            return t is not None and lo <= t <= hi

        if age < 18:
            continue
        out[int(s["stay_id"])] = {
            "subject_id": int(s["subject_id"]), "hadm_id": int(s["hadm_id"]), "stay_id": int(s["stay_id"]),
            "intime": intime, "outtime": outtime, "los": float(s["los"]) if s["los"] else None,
            "mortality_inunit": int(within(dod, intime, outtime) or within(death, intime, outtime)),
            "mortality": int(within(dod, admit, disch) or within(death, admit, disch)),
        }
    return out


def reference_item_map() -> dict[int, tuple[str, str]]:
    """itemid -> (LEVEL2, MIMIC LABEL) for LEVEL2 non-empty, COUNT > 0, STATUS == 'ready' (all 114 ids)."""
    out = {}
    with open(RESOURCES / "itemid_to_variable_map.csv", newline="") as f:
        for r in csv.DictReader(f):
            if r["LEVEL2"] and int(r["COUNT"] or 0) > 0 and r["STATUS"] == "ready":
                assert int(r["ITEMID"]) not in out
                out[int(r["ITEMID"])] = (r["LEVEL2"], r["MIMIC LABEL"])
    return out


# pandas 1.x read_csv default NA strings: such values become NaN when events.csv is read back, and rows
# with a NaN VALUE are dropped (read_events(remove_null=True)).
PANDAS_NA = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
             "<NA>", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null"}
NUMERIC = re.compile(r"^(\d+(\.\d*)?|\.\d+)$")
NUMERIC_RAW = ("Heart Rate", "Mean blood pressure", "Respiratory rate")  # continuous, never cleaned


def reference_events(root: dict[int, dict], items: dict[int, tuple[str, str]]) -> dict[int, list[dict]]:
    """§1.4: events of cohort subjects with a mapped item id, validated per subject, read back."""
    subjects = {s["subject_id"] for s in root.values()}
    stay_of_hadm = {s["hadm_id"]: s["stay_id"] for s in root.values()}
    hadms_of_subject = defaultdict(set)
    for s in root.values():
        hadms_of_subject[s["subject_id"]].add(s["hadm_id"])
    per_subject = defaultdict(list)
    sources = [("icu/chartevents.csv.gz", "valuenum"), ("hosp/labevents.csv.gz", "valuenum"),
               ("icu/outputevents.csv.gz", "valueuom")]  # MedFuse writes valueuom into valuenum for outputs
    for path, unit_column in sources:
        for r in read_rows(path):
            subject = int(r["subject_id"])
            if subject not in subjects or int(r["itemid"]) not in items:
                continue
            if not r["hadm_id"]:
                continue  # validation 1: no hadm_id
            hadm = int(r["hadm_id"])
            if hadm not in hadms_of_subject[subject]:
                continue  # validation 2: admission not among the subject's stays
            stay = int(r["stay_id"]) if r.get("stay_id") else stay_of_hadm[hadm]  # 3: labs take the stay
            if stay != stay_of_hadm[hadm]:
                continue  # validation 4: another stay of the admission
            if r["value"] in PANDAS_NA:
                continue  # read back: NaN VALUE dropped
            variable, label = items[int(r["itemid"])]
            per_subject[subject].append({"charttime": ts(r["charttime"]), "stay_id": stay, "variable": variable,
                                         "label": label, "value": r["value"], "unit": r[unit_column] or ""})
    return per_subject


def clean_value(variable: str, value: str, unit: str, label: str):
    """§1.6 faithful: the unit slot holds valuenum (a number), so every unit test is dead.
    Returns a float (cleaned variables), the raw string (others) or None (dropped)."""
    def fl(s):
        try:
            f = float(s)
        except ValueError:
            return None
        return None if f != f else f

    if variable in ("Systolic blood pressure", "Diastolic blood pressure"):
        if "/" in value:
            a, b = re.match(r"^(\d+)/(\d+)$", value).groups()
            value = a if variable.startswith("Systolic") else b
        return fl(value)
    if variable == "Capillary refill rate":
        return {"Normal <3 secs": 0.0, "Brisk": 0.0, "Abnormal >3 secs": 1.0, "Delayed": 1.0}.get(value)
    if variable == "Fraction inspired oxygen":
        v = fl(value)
        # is_str collapses to scalar True (Python 3 map), 'torr' not in the numeric unit string
        return None if v is None else (v / 100.0 if "torr" not in unit.lower() else v)
    if variable == "Oxygen saturation":
        v = fl(value) if NUMERIC.match(value) else None
        return None if v is None else (v * 100.0 if v <= 1 else v)
    if variable in ("Glucose", "pH"):
        return fl(value) if NUMERIC.match(value) else None
    if variable == "Temperature":
        v = fl(value)
        if v is None:
            return None
        convert = "F" in unit.lower() or "F" in label.lower() or v >= 79  # 'F' in lower(): never
        return (v - 32) * 5.0 / 9 if convert else v
    if variable == "Weight":
        v = fl(value)
        if v is None:
            return None
        oz = "oz" in unit.lower() or "oz" in label.lower()
        if oz:
            v = v / 16.0
        if oz or "lb" in unit.lower() or "lb" in label.lower():
            v = v * 0.453592
        return v
    if variable == "Height":
        v = fl(value)
        if v is None:
            return None
        return float(np.round(v * 2.54)) if ("in" in unit.lower() or "in" in label.lower()) else v
    return value  # HR, RR, MBP, GCS: raw strings


def reference_episodes(root, events, numeric_duplicates: bool = False) -> dict[int, list[tuple[float, dict]]]:
    """§1.7: wide per subject (one value per (charttime, variable): the last after sorting by value —
    numeric for cleaned variables (floats), lexicographic for raw strings), one stay per wide row (every
    distinct stay of the charttime, first by sort), episode = rows of the stay or within [intime, outtime].
    `numeric_duplicates` resolves raw strings numerically too (the fixed mode's rule; used to show the
    comparison can tell the two apart)."""
    stays_of_subject = defaultdict(list)
    for s in root.values():
        stays_of_subject[s["subject_id"]].append(s)
    episodes = {}
    for subject, rows in events.items():
        best: dict[tuple, object] = {}
        row_stays: dict[datetime, set] = defaultdict(set)
        for e in rows:
            v = clean_value(e["variable"], e["value"], e["unit"], e["label"])
            if v is None:
                continue
            key = (e["charttime"], e["variable"])
            order = (lambda x: float(x)) if numeric_duplicates and isinstance(v, str) \
                and e["variable"] in NUMERIC_RAW else (lambda x: x)
            if key not in best or order(v) > order(best[key]):
                best[key] = v
            row_stays[e["charttime"]].add(e["stay_id"])
        wide: dict[datetime, dict] = defaultdict(dict)
        for (t, variable), v in best.items():
            wide[t][variable] = v
        table = [(t, stay, wide[t]) for t in sorted(wide) for stay in sorted(row_stays[t])]
        for s in stays_of_subject[subject]:
            ep = [((t - s["intime"]).total_seconds() / 60.0 / 60.0, values) for t, stay, values in table
                  if stay == s["stay_id"] or s["intime"] <= t <= s["outtime"]]
            if ep:
                episodes[s["stay_id"]] = sorted(ep, key=lambda x: x[0])
    return episodes


def reference_config():
    cfg = json.loads((RESOURCES / "discretizer_config.json").read_text())
    channels = cfg["id_to_channel"]
    header = []
    for ch in channels:
        if cfg["is_categorical_channel"][ch]:
            header += [f"{ch}->{v}" for v in cfg["possible_values"][ch]]
        else:
            header.append(ch)
    return cfg, channels, header + [f"mask->{ch}" for ch in channels]


def reference_discretize(rows, end: float, timestep: float) -> np.ndarray:
    """mimic3-benchmarks Discretizer.transform (start_time zero, impute previous, masks), as a loop."""
    cfg, channels, _ = reference_config()
    n_bins = int(end / timestep + 1.0 - EPS)
    begin, width = {}, 0
    for ch in channels:
        begin[ch] = width
        width += len(cfg["possible_values"][ch]) if cfg["is_categorical_channel"][ch] else 1
    data = np.zeros((n_bins, width))
    mask = np.zeros((n_bins, len(channels)))
    original = [["" for _ in channels] for _ in range(n_bins)]

    def write(b, ch, value):
        if cfg["is_categorical_channel"][ch]:
            values = cfg["possible_values"][ch]
            idx = values.index(value)  # unknown category: the reference crashes, so must the test
            for pos in range(len(values)):
                data[b, begin[ch] + pos] = 1.0 if pos == idx else 0.0
        else:
            data[b, begin[ch]] = float(value)

    for t, values in rows:
        if t > end + EPS:
            continue
        b = int(t / timestep - EPS)
        assert 0 <= b < n_bins
        for j, ch in enumerate(channels):
            if ch not in values:
                continue
            # the episode file holds text: floats were written by pandas (repr), strings as they were
            text = repr(values[ch]) if isinstance(values[ch], float) else values[ch]
            mask[b, j] = 1
            write(b, ch, text)
            original[b][j] = text
    previous = [[] for _ in channels]
    for b in range(n_bins):
        for j, ch in enumerate(channels):
            if mask[b, j] == 1:
                previous[j].append(original[b][j])
                continue
            write(b, ch, previous[j][-1] if previous[j] else cfg["normal_values"][ch])
    return np.hstack([data, mask])


def reference_tasks(root, episodes, timestep):
    """§1.9: IHM (LoS >= 48 h - eps, rows in (-eps, 48 + eps)) and phenotyping (rows in (-eps, LoS + eps),
    period_length written with 6 decimals) -> {stay_id: (matrix, label / period)}."""
    ihm, pheno = {}, {}
    for stay_id, rows in episodes.items():
        s = root[stay_id]
        if s["los"] is None:
            continue
        los = 24.0 * s["los"]
        kept = [r for r in rows if -EPS < r[0] < los + EPS]
        if kept:
            period = float(f"{los:.6f}")
            pheno[stay_id] = (reference_discretize(kept, period, timestep), period)
        if los >= 48 - EPS:
            kept = [r for r in rows if -EPS < r[0] < 48 + EPS]
            if kept:
                ihm[stay_id] = (reference_discretize(kept, 48.0, timestep), s["mortality"])
    return ihm, pheno


@pytest.fixture(scope="module")
def reference():
    root = reference_root_stays()
    items = reference_item_map()
    events = reference_events(root, items)
    episodes = reference_episodes(root, events)
    return root, episodes, {dt: reference_tasks(root, episodes, dt) for dt in (1.0, 2.0)}, events


# =============================================================== the library path


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    from features.timeseries.build import build_task_frames
    from warehouse.cohorts import build_cohorts
    from warehouse.ingest import ingest
    from warehouse.lake import Home, open_lake
    from warehouse.sources import Sources

    home = Home.open(tmp_path_factory.mktemp("faithful") / "home")
    ingest(home, Sources(mimic_iv=DEMO))
    build_cohorts(home)
    con = open_lake(home)
    try:
        icu_stays = con.sql("SELECT stay_id, mortality_inunit, mortality_inhospital FROM cohorts.icu_stays").fetchall()
        frames = {dt: build_task_frames(home, None, mode="faithful", timestep=dt, con=con) for dt in (1.0, 2.0)}
    finally:
        con.close()
    return icu_stays, frames


def matrices(timeseries) -> dict[int, np.ndarray]:
    from features.timeseries.compare import stay_matrices

    return stay_matrices(timeseries)


# =============================================================== the comparisons


def test_root_cohort_equals_icu_stays(reference, library):
    root = reference[0]
    got = {s: (unit, hosp) for s, unit, hosp in library[0]}
    assert got == {s: (r["mortality_inunit"], r["mortality"]) for s, r in root.items()}
    assert len(root) == 112


def test_layout_is_the_reference_header():
    from features.timeseries.layout import COLUMNS

    assert list(COLUMNS) == reference_config()[2]


@pytest.mark.parametrize("timestep", [1.0, 2.0])
@pytest.mark.parametrize("task", ["ihm", "pheno"])
def test_faithful_time_series_equal_the_reference(reference, library, timestep, task):
    ref_ihm, ref_pheno = reference[2][timestep]
    frames = library[1][timestep]
    ref = ref_ihm if task == "ihm" else ref_pheno
    cohort = frames.ihm_48h if task == "ihm" else frames.phenotyping
    got = matrices(frames.timeseries_ihm if task == "ihm" else frames.timeseries_pheno)
    from features.timeseries.compare import compare_stays

    assert sorted(got) == sorted(ref) == sorted(cohort["stay_id"].to_list())
    diff = compare_stays(got, {s: m for s, (m, _) in ref.items()})
    assert diff["equal"], {k: v for k, v in diff.items() if isinstance(v, list) and v}
    worst = diff["max_abs_diff"]
    if task == "ihm":
        assert {s: y for s, y in cohort.select("stay_id", "y_true").iter_rows()} == {s: y for s, (_, y) in ref.items()}
        assert all(m.shape == (int(48 / timestep), 76) for m in got.values())
    else:
        assert {s: p for s, p in cohort.select("stay_id", "period_length").iter_rows()} == \
            pytest.approx({s: p for s, (_, p) in ref.items()}, abs=1e-9)
    print(f"{task} Δ={timestep}: {len(ref)} stays, {sum(m.shape[0] for m, _ in ref.values())} rows, "
          f"max |diff| = {worst:.3g}")


def test_the_comparison_tells_the_duplicate_rules_apart(reference, library):
    """The demo has simultaneous raw-string values (e.g. two respiratory-rate items at one charttime)
    where the lexicographic maximum ('9' > '14') is not the numeric one: resolving them numerically, as
    the fixed mode does, must make the comparison fail for some stays."""
    root, _, _, events = reference
    episodes = reference_episodes(root, events, numeric_duplicates=True)
    _, pheno = reference_tasks(root, episodes, 1.0)
    from features.timeseries.compare import compare_stays

    diff = compare_stays(matrices(library[1][1.0].timeseries_pheno), {s: m for s, (m, _) in pheno.items()})
    assert not diff["equal"] and len(diff["cells_differ"]) >= 5


def test_reference_sees_the_faithful_quirks(reference):
    """Inside the task windows the demo has FiO2 (divided by 100), Fahrenheit temperatures (>= 79 rule)
    and raw-string respiratory rates."""
    _, episodes, _, _ = reference
    cells = defaultdict(list)
    for rows in episodes.values():
        for t, values in rows:
            if t > -EPS:
                for variable, v in values.items():
                    cells[variable].append(v)
    assert cells["Fraction inspired oxygen"] and max(cells["Fraction inspired oxygen"]) <= 1.0
    assert all(isinstance(v, str) for v in cells["Respiratory rate"])
    assert all(30 < v < 45 for v in cells["Temperature"])
