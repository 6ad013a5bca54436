"""Bad input gets a one-line error naming the file (and line/column where known) and loses nothing."""

from __future__ import annotations

import gzip
import shutil

import pytest

from warehouse.ingest import ingest
from warehouse.lake import ClinfuseError, Home, catalog
from warehouse.sources import synthetic_sources


def _rewrite(path, edit):
    lines = gzip.open(path, "rt", newline="").read().splitlines(keepends=True)
    with gzip.open(path, "wt", newline="") as f:
        f.writelines(edit(lines))


def _raw_tables(home):
    raw = home.lake / "raw"
    return sorted(p.name for p in raw.iterdir() if not p.name.startswith(("_", "."))) if raw.exists() else []


def _ingest(home, root):
    return ingest(home, synthetic_sources(root))


def _expect_error(home, root, *fragments):
    with pytest.raises(ClinfuseError) as err:
        _ingest(home, root)
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_required_table(home, synth_copy):
    (synth_copy / "mimic-iv" / "icu" / "icustays.csv.gz").unlink()
    _expect_error(home, synth_copy, "mimic-iv", "icu/icustays.csv")
    assert _raw_tables(home) == []


def test_missing_column_names_file_and_column(home, synth_copy):
    path = synth_copy / "mimic-iv" / "icu" / "icustays.csv.gz"
    _rewrite(path, lambda lines: [",".join(line.rstrip("\n").split(",")[:-1]) + "\n" for line in lines])
    _expect_error(home, synth_copy, str(path), "missing column 'los'")
    assert _raw_tables(home) == [], "headers are checked before any table is written"


def test_malformed_row_names_file_and_line(home, synth_copy):
    path = synth_copy / "mimic-iv" / "hosp" / "admissions.csv.gz"
    _rewrite(path, lambda lines: lines[:4] + [lines[4].rstrip("\n") + ",surplus\n"] + lines[5:])
    _expect_error(home, synth_copy, str(path), "record 5", "malformed row")
    assert "hosp_admissions" not in _raw_tables(home)


def test_wrong_type_names_line_and_column(home, synth_copy):
    path = synth_copy / "mimic-iv" / "icu" / "icustays.csv.gz"
    _rewrite(path, lambda lines: lines[:2] + ["10000001,x" + lines[2][lines[2].index(",", 9):]] + lines[3:])
    _expect_error(home, synth_copy, str(path), "record 3", "'hadm_id'")


def test_truncated_gzip(home, synth_copy):
    path = synth_copy / "mimic-iv" / "hosp" / "labevents.csv.gz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _expect_error(home, synth_copy, str(path), "gzip")
    assert "hosp_labevents" not in _raw_tables(home)


def test_not_mimic_folder(home, tmp_path):
    (tmp_path / "photos").mkdir()
    with pytest.raises(ClinfuseError, match="not a MIMIC-IV folder"):
        ingest(home, synthetic_sources(tmp_path / "photos").__class__(mimic_iv=tmp_path / "photos"))


def test_failed_reingest_keeps_the_previous_table(home, synth_copy, tmp_path):
    _ingest(home, synth_copy)
    with catalog(home, write=False) as con:
        before = con.execute("SELECT count(*) FROM raw.hosp_labevents").fetchone()[0]
    damaged = tmp_path / "damaged"
    shutil.copytree(synth_copy, damaged)
    path = damaged / "mimic-iv" / "hosp" / "labevents.csv.gz"
    _rewrite(path, lambda lines: lines + ["1,2,3\n"])
    _expect_error(home, damaged, str(path), "malformed row")
    with catalog(home, write=False) as con:
        assert con.execute("SELECT count(*) FROM raw.hosp_labevents").fetchone()[0] == before
    assert not [p for p in (home.lake / "raw").iterdir() if p.name.startswith(".")], "no temp dirs left"


def test_paths_with_quotes_and_spaces(synth_root, tmp_path):
    source = tmp_path / "o'brien data"
    shutil.copytree(synth_root, source)
    home = Home.open(tmp_path / "home's dir")
    ingest(home, synthetic_sources(source))
    with catalog(home, write=False) as con:
        assert con.execute("SELECT count(*) FROM raw.icu_icustays").fetchone()[0] > 0
