"""The lake's time rules, tested once: the study_datetime and note_available_time macros
(warehouse/sql/time_rules.sql), and that every shipped query uses them instead of re-deriving a time."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from warehouse.timerules import with_note_available_time, with_study_datetime

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("date", "time", "expected"), [
    (21800101, 80556.875, datetime(2180, 1, 1, 8, 5, 56)),  # fraction truncated, not rounded
    (21800101, 5.0, datetime(2180, 1, 1, 0, 0, 5)),  # zero-padded: 000005
    (21800101, 235959.999, datetime(2180, 1, 1, 23, 59, 59)),
    (21800101, 0.0, datetime(2180, 1, 1)),
    (21810229, 120000.0, None),  # 2181 is not a leap year
    (21800101, 246000.0, None),  # not a time of day
    (21800101, 126000.0, None),  # minute 60
    (None, 120000.0, None),
    (21800101, None, None),
])
def test_study_datetime(date, time, expected):
    frame = pl.DataFrame({"StudyDate": [date], "StudyTime": [time]},
                         schema={"StudyDate": pl.Int32, "StudyTime": pl.Float64})
    assert with_study_datetime(frame)["study_datetime"][0] == expected


T = datetime(2180, 3, 4, 0, 0)


@pytest.mark.parametrize(("source", "storetime", "expected"), [
    ("discharge", None, datetime(2180, 3, 5, 0, 0)),  # charted at midnight, written at discharge: end of day
    ("radiology", None, T),
    ("discharge", datetime(2180, 3, 4, 15, 30), datetime(2180, 3, 4, 15, 30)),  # the storetime when known
    ("radiology", datetime(2180, 3, 3, 23, 0), T),  # never before the charttime
])
def test_note_available_time(source, storetime, expected):
    frame = pl.DataFrame({"source": [source], "charttime": [T], "storetime": [storetime]},
                         schema={"source": pl.String, "charttime": pl.Datetime("us"), "storetime": pl.Datetime("us")})
    assert with_note_available_time(frame)["available_time"][0] == expected
    assert with_note_available_time(frame.drop("storetime"))["available_time"][0] == \
        (T if source == "radiology" else datetime(2180, 3, 5))


def _shipped_code() -> dict[str, str]:
    files = [p for pkg in ("features", "warehouse", "models", "pipelines") for p in (REPO / pkg).rglob("*")
             if p.suffix in (".sql", ".py") and p.name != "time_rules.sql" and "synth" not in p.parts]
    return {str(p.relative_to(REPO)): p.read_text() for p in files}


def test_no_query_re_derives_a_study_time_or_a_note_availability():
    """Nothing but time_rules.sql parses StudyDate/StudyTime or applies the no-storetime rule: the old copies
    (pairing's Polars expression, the HAIM SQL's millisecond arithmetic, the notes build's CASE) are gone."""
    signatures = {"study time": re.compile(r"%Y%m%d|StudyTime\s*\*"),
                  "note availability": re.compile(r"INTERVAL 1 DAY|duration\(days=1\)|greatest\([^)]*storetime")}
    offenders = [f"{name}: {what}" for name, text in _shipped_code().items()
                 for what, pattern in signatures.items() if pattern.search(text)]
    assert offenders == []
