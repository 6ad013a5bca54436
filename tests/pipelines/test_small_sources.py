"""Sources a newcomer may try: two builds give the same bytes, and a source whose cohort comes out empty
says why in one line while everything else is built."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io

import pytest

from clinfuse.cli import main
from pipelines.run import materialize_selection
from warehouse.lake import Home
from warehouse.sources import synthetic_sources

NORMALISERS = "+key:features/normalizer_ihm or +key:features/normalizer_pheno"


def _edit_csv(path, edit) -> None:
    rows = list(csv.DictReader(io.StringIO(gzip.open(path, "rt", newline="").read())))
    for row in rows:
        edit(row)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(gzip.compress(buffer.getvalue().encode()))


def _parquet_hashes(home: Home) -> dict[str, str]:
    return {str(p.relative_to(home.lake)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(home.lake.rglob("*.parquet"))}


@pytest.mark.slow
def test_two_builds_give_byte_identical_parquet(synth_root, tmp_path):
    """Raw tables, cohorts, time series, splits and the normalisers: every file, byte for byte."""
    builds = []
    for name in ("first", "second"):
        home = Home.open(tmp_path / name)
        materialize_selection(home, synthetic_sources(synth_root), NORMALISERS)
        builds.append(_parquet_hashes(home))
    assert any(k.startswith("features/normalizer_ihm/") for k in builds[0])
    assert any(k.startswith("features/timeseries_pheno/") for k in builds[0])
    different = sorted(k for k in builds[0].keys() | builds[1].keys() if builds[0].get(k) != builds[1].get(k))
    assert different == []


def test_no_stay_of_48_hours_is_one_line_and_the_phenotyping_side_is_built(synth_copy, tmp_path, capsys):
    def short_stay(row):
        intime = dt.datetime.fromisoformat(row["intime"])
        row["outtime"] = str(intime + dt.timedelta(hours=20))
        row["los"] = str(20 / 24)

    _edit_csv(synth_copy / "mimic-iv" / "icu" / "icustays.csv.gz", short_stay)
    home = tmp_path / "h"
    code = main(["run", "--home", str(home), "--mimic-iv", str(synth_copy / "mimic-iv"), "--select", NORMALISERS])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("clinfuse: error:")]
    assert code == 1 and len(errors) == 1
    assert errors[0].startswith("clinfuse: error: features__normalizer_ihm: cohorts.ihm_48h is empty: the source "
                                "has no ICU stays of at least 48 h")
    assert (home / "lake" / "features" / "normalizer_pheno").is_dir(), "the other task is still built"


def test_no_adult_icu_stay_is_one_line(synth_copy, tmp_path, capsys):
    _edit_csv(synth_copy / "mimic-iv" / "hosp" / "patients.csv.gz", lambda row: row.update(anchor_age="12"))
    code = main(["run", "--home", str(tmp_path / "h"), "--mimic-iv", str(synth_copy / "mimic-iv"),
                 "--select", "+key:cohorts/icu_stays"])
    last = capsys.readouterr().err.splitlines()[-1]
    assert code == 1
    assert last.startswith("clinfuse: error: cohorts__icu_stays: cohorts.icu_stays is empty: none of the ")
    assert "ICU stays is of an adult patient (anchor_age >= 18)" in last
