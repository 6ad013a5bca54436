"""Layout and version detection on hand-made folders."""

from __future__ import annotations

import gzip

import pytest

from warehouse.lake import ClinfuseError
from warehouse.sources import detect_mimic_cxr, detect_mimic_iv, detect_mimic_note, resolve_sources
from warehouse.tables import REQUIRED_MIMIC_IV, TABLES


def _write_required(root, gz=True, v1=False):
    for name in REQUIRED_MIMIC_IV | {"hosp_transfers"}:
        table = TABLES[name]
        folder = table.folders[-1] if v1 and "core" in table.folders else table.folders[0]
        (root / folder).mkdir(parents=True, exist_ok=True)
        header = ",".join(c.name for c in table.columns) + "\n"
        if gz:
            with gzip.open(root / folder / f"{table.stem}.csv.gz", "wt") as f:
                f.write(header)
        else:
            (root / folder / f"{table.stem}.csv").write_text(header)


def test_v1_layout_found_in_core_and_plain_csv(tmp_path):
    _write_required(tmp_path / "mimic-iv", gz=False, v1=True)
    layout = detect_mimic_iv(tmp_path / "mimic-iv")
    assert layout.version == "1.0"
    assert layout.files["hosp_patients"].parent.name == "core"
    assert layout.files["hosp_admissions"].name == "admissions.csv"


def test_version_from_readme_then_folder_name(tmp_path):
    root = tmp_path / "physionet.org" / "files" / "mimiciv" / "3.1"
    _write_required(root)
    assert detect_mimic_iv(root).version == "3.1"
    (root / "README.txt").write_text("MIMIC-IV\nVersion: 2.2\n")
    assert detect_mimic_iv(root).release == "mimic-iv-2.2"


def test_unknown_csv_is_reported_not_ingested(tmp_path):
    _write_required(tmp_path)
    (tmp_path / "hosp" / "my_extract.csv").write_text("a,b\n1,2\n")
    assert [p.name for p in detect_mimic_iv(tmp_path).unknown_files] == ["my_extract.csv"]


@pytest.mark.parametrize("make,match", [
    (lambda p: None, "does not exist"),
    (lambda p: p.write_text("x"), "not a folder"),
    (lambda p: (p / "stuff").mkdir(parents=True), "not a MIMIC-IV folder"),
])
def test_not_mimic(tmp_path, make, match):
    path = tmp_path / "src"
    make(path)
    with pytest.raises(ClinfuseError, match=match) as err:
        detect_mimic_iv(path)
    assert str(path) in str(err.value)


def test_missing_required_table_is_named(tmp_path):
    _write_required(tmp_path)
    (tmp_path / "icu" / "icustays.csv.gz").unlink()
    with pytest.raises(ClinfuseError, match=r"missing required table icu/icustays\.csv\[\.gz\]"):
        detect_mimic_iv(tmp_path)


def test_cxr_and_note_roots(tmp_path):
    with pytest.raises(ClinfuseError, match="not a MIMIC-CXR-JPG folder"):
        detect_mimic_cxr(tmp_path)
    with pytest.raises(ClinfuseError, match="not a MIMIC-IV-Note folder"):
        detect_mimic_note(tmp_path)
    (tmp_path / "note").mkdir()
    (tmp_path / "note" / "radiology.csv.gz").write_bytes(gzip.compress(b"note_id\n"))
    assert set(detect_mimic_note(tmp_path).files) == {"note_radiology"}


def test_flags_beat_environment_beat_config_file(tmp_path, monkeypatch, home):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clinfuse.yaml").write_text(f"mimic_iv: {tmp_path / 'from-yaml'}\n")
    assert resolve_sources(home).mimic_iv == tmp_path / "from-yaml"
    monkeypatch.setenv("CLINFUSE_MIMIC_IV", str(tmp_path / "from-env"))
    assert resolve_sources(home).mimic_iv == tmp_path / "from-env"
    assert resolve_sources(home, mimic_iv=str(tmp_path / "flag")).mimic_iv == tmp_path / "flag"


def test_bad_config_file_is_a_clear_error(tmp_path, monkeypatch, home):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clinfuse.yaml").write_text("mimic_iv: [unclosed\n")
    with pytest.raises(ClinfuseError, match="clinfuse.yaml: not valid YAML"):
        resolve_sources(home)


def test_a_synth_root_given_as_mimic_iv_supplies_all_three_sources(synth_root, home, monkeypatch):
    """`clinfuse run --mimic-iv ROOT` with the folder `clinfuse synth` wrote (mimic-iv/, mimic-cxr-jpg/,
    mimic-iv-note/): every source is found; a folder given for another source still wins."""
    for var in ("CLINFUSE_MIMIC_IV", "CLINFUSE_MIMIC_CXR", "CLINFUSE_MIMIC_NOTE"):
        monkeypatch.delenv(var, raising=False)
    sources = resolve_sources(home, mimic_iv=str(synth_root))
    assert (sources.mimic_iv, sources.mimic_cxr, sources.mimic_note) == (
        synth_root / "mimic-iv", synth_root / "mimic-cxr-jpg", synth_root / "mimic-iv-note")
    assert sources.synthetic
    detect_mimic_iv(sources.mimic_iv)
    detect_mimic_cxr(sources.mimic_cxr)
    detect_mimic_note(sources.mimic_note)
    only_iv = resolve_sources(home, mimic_iv=str(synth_root), mimic_note=str(synth_root))
    assert only_iv.mimic_note == synth_root / "mimic-iv-note"
    with pytest.raises(ClinfuseError, match=f"did you mean {synth_root / 'mimic-iv'}"):
        detect_mimic_iv(synth_root)
