"""The command line as a user meets it: help everywhere, exit codes, one-line errors, downloads."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import subprocess
import sys
import threading

import pytest

from clinfuse.cli import build_parser, main
from warehouse.lake import Home

COMMANDS = [[], ["synth"], ["ingest"], ["run"], ["sql"], ["ui"], ["doctor"], ["demo-data"], ["demo-data", "fetch"],
            ["features"], ["features", "get"], ["features", "latest"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "clinfuse")
def test_help_everywhere(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: clinfuse" in capsys.readouterr().out


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "clinfuse.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "ingest" in out.stdout


def test_every_documented_command_exists():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {"synth", "ingest", "run", "sql", "ui", "doctor", "demo-data", "features"} <= set(sub.choices)


def _one_line_error(capsys) -> str:
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("clinfuse: error: ")]
    assert len(errors) == 1, errors  # progress lines may precede it; the reason is one line
    return errors[0]


def test_ingest_of_a_missing_folder_fails_in_one_line(tmp_path, capsys):
    assert main(["ingest", "--home", str(tmp_path / "h"), "--mimic-iv", str(tmp_path / "nope")]) == 1
    assert str(tmp_path / "nope") in _one_line_error(capsys)


def test_sql_without_catalog_and_bad_sql(tmp_path, capsys):
    assert main(["sql", "--home", str(tmp_path / "h"), "select 1"]) == 1
    assert "no clinfuse home at" in _one_line_error(capsys)
    Home.open(tmp_path / "h")
    assert main(["sql", "--home", str(tmp_path / "h"), "select 1"]) == 1
    assert "run `clinfuse ingest` first" in _one_line_error(capsys)


def test_sql_output_formats(tmp_path, capsys, home):
    from warehouse.lake import catalog

    with catalog(home):
        pass
    args = ["sql", "--home", str(home.root)]
    assert main([*args, "select 1 as a, 'x,y' as b, NULL as c"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["a", "b", "c"] and out[-1] == "(1 row)"
    assert main([*args, "--format", "csv", "select 1 as a, 'x,y' as b"]) == 0
    assert capsys.readouterr().out == 'a,b\n1,"x,y"\n'
    assert main([*args, "select * from nowhere"]) == 1
    assert "nowhere" in _one_line_error(capsys)


def test_doctor_reports_versions_and_exit_code(tmp_path, capsys):
    assert main(["doctor", "--home", str(tmp_path / "none")]) == 0
    out = capsys.readouterr().out
    assert "duckdb" in out and "GPU:" in out and "densenet121-res224-chex" in out


# ---------------------------------------------------------------- demo-data fetch, against a local server

@pytest.fixture
def fake_physionet(tmp_path):
    site = tmp_path / "site"
    (site / "hosp").mkdir(parents=True)
    files = {"hosp/patients.csv.gz": gzip.compress(b"subject_id\n1\n", mtime=0), "LICENSE.txt": b"ODbL\n"}
    for rel, data in files.items():
        (site / rel).write_bytes(data)
    sums = "".join(f"{hashlib.sha256(d).hexdigest()} {rel}\n" for rel, d in files.items())
    (site / "SHA256SUMS.txt").write_text(sums)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield site, f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def test_demo_fetch_downloads_and_verifies(fake_physionet, tmp_path, capsys):
    site, url = fake_physionet
    out = tmp_path / "demo"
    assert main(["demo-data", "fetch", "--out", str(out), "--base-url", url]) == 0
    assert (out / "hosp" / "patients.csv.gz").read_bytes() == (site / "hosp" / "patients.csv.gz").read_bytes()
    assert (out / "SHA256SUMS.txt").is_file()


def test_demo_fetch_rejects_a_corrupted_download(fake_physionet, tmp_path, capsys):
    site, url = fake_physionet
    (site / "LICENSE.txt").write_bytes(b"tampered\n")
    assert main(["demo-data", "fetch", "--out", str(tmp_path / "demo"), "--base-url", url]) == 1
    assert "does not match SHA256SUMS.txt" in _one_line_error(capsys)
    assert not (tmp_path / "demo" / "LICENSE.txt").exists() and not list((tmp_path / "demo").glob("*.part"))


def test_demo_fetch_offline_is_a_clear_error(tmp_path, capsys):
    assert main(["demo-data", "fetch", "--out", str(tmp_path / "d"), "--base-url", "http://127.0.0.1:9/"]) == 1
    assert "cannot download" in _one_line_error(capsys)


def test_run_selection_of_one_table_of_a_multi_asset(materialised, capsys):
    home, _ = materialised
    assert main(["run", "--home", str(home.root), "--select", "features/timeseries_ihm"]) == 0
    captured = capsys.readouterr()
    assert "built together with cohorts/ihm_48h" in captured.err
    assert "materialised 4 assets" in captured.out


def test_run_with_an_unknown_selection_is_a_one_line_error(materialised, capsys):
    home, _ = materialised
    assert main(["run", "--home", str(home.root), "--select", "raw/no_such_table"]) == 1
    assert "no_such_table" in _one_line_error(capsys)


def test_synth_then_the_printed_ingest_command_works(tmp_path, capsys):
    out = tmp_path / "synth"
    assert main(["synth", "--out", str(out), "--patients", "8", "--no-notes", "--no-images"]) == 0
    command = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("ingest with: "))
    args = command.removeprefix("ingest with: clinfuse ").split()
    assert "--mimic-note" not in args  # notes were not generated, so they are not offered
    assert main([*args, "--home", str(tmp_path / "home")]) == 0


@pytest.mark.parametrize("argv,fragment", [
    (["synth", "--patients", "-1"], "patients"),
    (["synth", "--out", "/proc/clinfuse-cannot-write-here", "--patients", "2"], "/proc/clinfuse-cannot-write-here"),
])
def test_bad_values_and_unwritable_paths_are_one_line_errors(argv, fragment, tmp_path, capsys):
    if "--out" not in argv:
        argv = [*argv, "--out", str(tmp_path / "s")]
    assert main(argv) == 1
    assert fragment in _one_line_error(capsys)
