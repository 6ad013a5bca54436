"""A newcomer's first hour (issue 13): one-line run errors, no side effects from reading or typos, the UI's
first visit, the small command-line fixes."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from clinfuse.cli import main
from warehouse.lake import Home, catalog

REPO = Path(__file__).resolve().parents[2]


def _stderr_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


@pytest.fixture
def no_configured_source(monkeypatch, tmp_path):
    """No CLINFUSE_* variable and no clinfuse.yaml: the CLI would fall back to generating a source."""
    for name in ("CLINFUSE_HOME", "CLINFUSE_MIMIC_IV", "CLINFUSE_MIMIC_CXR", "CLINFUSE_MIMIC_NOTE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


# ---------------------------------------------------------------- 1. `clinfuse run` fails with the reason


def test_a_damaged_source_ends_with_the_steps_own_reason_and_the_log_file_has_the_traceback(
        synth_copy, tmp_path, capsys):
    path = synth_copy / "mimic-iv" / "icu" / "icustays.csv.gz"
    text = gzip.open(path, "rt").read()
    path.write_bytes(gzip.compress(text.replace("intime", "in_time", 1).encode()))
    home = tmp_path / "h"
    code = main(["run", "--home", str(home), "--mimic-iv", str(synth_copy / "mimic-iv"),
                 "--select", "+key:cohorts/icu_stays"])
    lines = _stderr_lines(capsys)
    assert code == 1
    assert lines[-1] == f"clinfuse: error: raw__icu_icustays: {path}: missing column 'intime'"
    shown = "\n".join(lines)
    assert "Traceback" not in shown and "Stack Trace" not in shown and "DagsterExecutionStepExecutionError" not in shown
    logs = sorted((home / "logs").glob("run-*.log"))
    assert len(logs) == 1 and str(logs[0]) in shown, "the message names the log file"
    assert "Stack Trace" in logs[0].read_text() and "missing column 'intime'" in logs[0].read_text()


def test_verbose_shows_the_traceback_on_the_terminal(synth_copy, tmp_path, capsys):
    path = synth_copy / "mimic-iv" / "hosp" / "patients.csv.gz"
    text = gzip.open(path, "rt").read()
    path.write_bytes(gzip.compress(text.replace("anchor_age", "age", 1).encode()))
    code = main(["run", "--home", str(tmp_path / "h"), "--mimic-iv", str(synth_copy / "mimic-iv"),
                 "--select", "key:raw/hosp_patients", "--verbose"])
    lines = _stderr_lines(capsys)
    assert code == 1 and "Stack Trace" in "\n".join(lines)
    assert lines[-1].endswith("missing column 'anchor_age'")


def test_a_folder_that_is_not_mimic_fails_once_before_any_step(tmp_path, capsys):
    import dagster as dg

    (tmp_path / "not-mimic").mkdir()
    home = tmp_path / "h"
    assert main(["run", "--home", str(home), "--mimic-iv", str(tmp_path / "not-mimic")]) == 1
    lines = _stderr_lines(capsys)
    errors = [line for line in lines if "error" in line.lower() or "failed" in line]
    assert errors == [f"clinfuse: error: {tmp_path / 'not-mimic'}: not a MIMIC-IV folder "
                      f"(expected hosp/ and icu/, plus core/ for v1.0)"]
    assert dg.DagsterInstance.from_config(str(home / "dagster")).get_runs() == [], "no run was started"


# ---------------------------------------------------------------- 7. no side effects from reading or typos


def test_a_selection_typo_is_rejected_before_anything_is_created_or_generated(no_configured_source, tmp_path,
                                                                              capsys):
    home = tmp_path / "h"
    assert main(["run", "--home", str(home), "--select", "key:raw/no_such_table"]) == 1
    assert "selection 'key:raw/no_such_table'" in _stderr_lines(capsys)[-1]
    assert not home.exists(), "no home, and so no synthetic source, for a rejected selection"


def test_a_bad_set_is_rejected_before_anything_is_generated(no_configured_source, tmp_path, capsys):
    home = tmp_path / "h"
    assert main(["run", "--home", str(home), "--set", "models/medfuse_ihm.epochz=3"]) == 1
    assert "epochz" in _stderr_lines(capsys)[-1]
    assert not home.exists()


@pytest.mark.parametrize("command", [
    ["sql", "SELECT 1"],
    ["features", "latest", "--view", "timeseries_ihm", "--keys", "1"],
    ["features", "get", "--entities", "e.parquet", "--views", "timeseries_ihm", "--out", "f.parquet"],
    ["features", "entities", "--cohort", "ihm_48h", "--out", "e.parquet"],
], ids=lambda c: " ".join(c[:2]))
def test_read_only_commands_never_create_a_home(command, no_configured_source, tmp_path, capsys):
    missing = tmp_path / "nonexistent"
    assert main([*command[:2], "--home", str(missing), *command[2:]] if command[0] == "features"
                else [command[0], "--home", str(missing), *command[1:]]) == 1
    assert _stderr_lines(capsys)[-1] == f"clinfuse: error: no clinfuse home at {missing} " \
                                       f"(`clinfuse run` or `clinfuse ingest` creates one; --home or " \
                                       f"CLINFUSE_HOME chooses another)"
    assert not missing.exists()
    assert main(command) == 1, "the default home ./.clinfuse is not created either"
    assert "no clinfuse home at" in _stderr_lines(capsys)[-1]
    assert not (tmp_path / ".clinfuse").exists()


# ---------------------------------------------------------------- 8. the UI a newcomer sees


def test_the_instance_the_cli_creates_marks_the_community_dialog_seen(home, monkeypatch):
    import dagster as dg
    from dagster._core.nux import get_has_seen_nux

    from pipelines.run import dagster_env
    from warehouse.sources import Sources

    env = dagster_env(home, Sources())
    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    assert instance.nux_enabled is False, "the webserver's shouldShowNux is false"
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    assert get_has_seen_nux()


def test_a_run_left_started_by_a_killed_process_is_marked_failed_and_the_user_is_told(home):
    import socket

    import dagster as dg
    from dagster._core.storage.dagster_run import DagsterRun

    from pipelines.run import _ensure_instance_config, _fail_abandoned_runs

    _ensure_instance_config(home)
    instance = dg.DagsterInstance.from_config(str(home.dagster))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = instance.add_run(DagsterRun(job_name="clinfuse_cli_run", run_id="0123abcd-0000-0000-0000-000000000000",
                                      status=dg.DagsterRunStatus.STARTED,
                                      tags={"clinfuse/host": socket.gethostname(), "clinfuse/pid": str(dead.pid)}))
    told = []
    _fail_abandoned_runs(instance, told.append)
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    assert told and "0123abcd" in told[0] and "marked failed" in told[0]


def test_a_slot_left_claimed_by_an_interrupted_run_is_freed_by_the_next(home):
    """A run interrupted while a step held the gpu slot ends failed with the slot claimed; no daemon frees it."""
    import dagster as dg
    from dagster._core.storage.dagster_run import DagsterRun

    from pipelines.run import _ensure_instance_config, _fail_abandoned_runs

    _ensure_instance_config(home)
    instance = dg.DagsterInstance.from_config(str(home.dagster))
    storage = instance.event_log_storage
    for run_id, status in (("0123abcd-0000-0000-0000-000000000000", dg.DagsterRunStatus.FAILURE),
                           ("4567ef01-0000-0000-0000-000000000000", dg.DagsterRunStatus.STARTED)):
        instance.add_run(DagsterRun(job_name="clinfuse_cli_run", run_id=run_id, status=status))
    storage.set_concurrency_slots("gpu", 2)
    for run_id in ("0123abcd-0000-0000-0000-000000000000", "4567ef01-0000-0000-0000-000000000000"):
        storage.claim_concurrency_slot("gpu", run_id, "models__uni_ehr_ihm")
    told = []
    _fail_abandoned_runs(instance, told.append)
    claimed = storage.get_concurrency_info("gpu").claimed_slots
    assert [slot.run_id for slot in claimed] == ["4567ef01-0000-0000-0000-000000000000"], "a live run keeps its slot"
    assert told == ["run 0123abcd ended with its gpu slot still claimed: freed"]


@pytest.mark.parametrize("host,warned", [("0.0.0.0", True), ("192.168.1.5", True), ("127.0.0.1", False),
                                         ("localhost", False)])
def test_ui_on_another_interface_warns_that_it_has_no_authentication(host, warned, home, monkeypatch, capsys):
    started = []
    monkeypatch.setattr(os, "execvpe", lambda *a: started.append(a))
    assert main(["ui", "--home", str(home.root), "--host", host, "--mimic-iv", str(home.root)]) == 0
    assert started, "the webserver is started either way"
    assert ("no authentication" in capsys.readouterr().err) == warned


# ---------------------------------------------------------------- 9. the small ones


def test_sql_refuses_several_statements_instead_of_showing_the_last(home, capsys):
    with catalog(home):
        pass
    assert main(["sql", "--home", str(home.root), "SELECT 1 AS a; SELECT 2 AS b"]) == 1
    assert "2 statements given" in _stderr_lines(capsys)[-1]
    assert main(["sql", "--home", str(home.root), "SELECT 1 AS a;"]) == 0, "one statement with its ';' is fine"


def test_sql_into_a_pipe_closed_early_prints_no_error(home):
    with catalog(home):
        pass
    shell = (f"{sys.executable} -m clinfuse.cli sql --home {home.root} --format csv "
             f"'SELECT * FROM range(200000)' | head -n 2")
    out = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert out.stdout.splitlines() == ["range", "0"]
    assert out.stderr == "", out.stderr


def test_synth_and_doctor_have_help_text(capsys):
    with pytest.raises(SystemExit):
        main(["synth", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--patients N number of synthetic patients" in text and "--seed S random seed" in text
    with pytest.raises(SystemExit):
        main(["doctor", "--help"])
    assert "Exit 1 when a source or a package is unusable" in " ".join(capsys.readouterr().out.split())


def test_the_licence_is_an_spdx_expression():
    """setuptools deprecates the `license = {text = ...}` table (a banner on every install)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"
    assert any(req.replace(" ", "").startswith("setuptools>=77") for req in project["build-system"]["requires"])


def test_csv_errors_name_the_record_not_the_physical_line(home, synth_copy):
    """Discharge notes hold line breaks inside quoted fields: the record number differs from the line."""
    import csv
    import io

    from warehouse.ingest import ingest
    from warehouse.lake import ClinfuseError
    from warehouse.sources import synthetic_sources

    path = synth_copy / "mimic-iv-note" / "note" / "discharge.csv.gz"
    rows = list(csv.reader(io.StringIO(gzip.open(path, "rt", newline="").read())))
    header = rows[0]
    bad = next(i for i in range(3, len(rows)) if any("\n" in cell for row in rows[1:i] for cell in row))
    rows[bad][header.index("charttime")] = "not a time"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_bytes(gzip.compress(buffer.getvalue().encode()))
    physical_line = buffer.getvalue().split("\n").index(next(
        line for line in buffer.getvalue().split("\n") if "not a time" in line)) + 1
    with pytest.raises(ClinfuseError) as err:
        ingest(home, synthetic_sources(synth_copy))
    assert f"record {bad + 1}," in str(err.value) and physical_line != bad + 1
    assert "line" not in str(err.value).replace(str(path), "")


def test_home_is_not_created_by_doctor(tmp_path, capsys):
    main(["doctor", "--home", str(tmp_path / "none")])
    assert not (tmp_path / "none").exists()


def test_home_helper_refuses_a_missing_home(tmp_path):
    from clinfuse.config import existing_home
    from warehouse.lake import ClinfuseError

    with pytest.raises(ClinfuseError, match="no clinfuse home at"):
        existing_home(str(tmp_path / "x"))
    Home.open(tmp_path / "x")
    assert existing_home(str(tmp_path / "x")).root == (tmp_path / "x").resolve()
