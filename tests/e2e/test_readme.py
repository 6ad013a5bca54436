"""Every command block of the README runs verbatim against a demo home (the session's materialised home,
reached as ./.clinfuse from a scratch working directory, as after `make demo`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)

# Blocks that are not run, by a phrase they contain, with the reason.
SKIPPED = {
    "make demo    #": "make targets: they build .venv and rerun the whole graph (the suite runs under `make test`)",
    "/data/physionet.org/files/mimiciv/3.1": "needs real, credentialed MIMIC-IV folders",
    "frames/ihm ─┬─►": "a diagram of the model graph, not commands",
    "warehouse.duckdb      DuckDB catalog": "the layout of a home, not commands",
    "warehouse/   sources, table registry": "the layout of the repository, not commands",
    "rm -rf .clinfuse/lake": "re-sharding deletes the home's derived data",
    "docker compose up -d --build": "needs a Docker engine (CI machines have none)",
    "class: K8sRunLauncher": "Kubernetes instance settings, not commands",
    "from dagster_k8s import k8s_job_executor": "needs dagster-k8s and a Kubernetes cluster",
}
# `clinfuse run` retrains models for minutes: its selection and --set values are checked with --dry-run
# (the graph itself is materialised by the `materialised` fixture and tests/pipelines).
DRY_RUN = "--dry-run"


def _blocks() -> list[tuple[str, str]]:
    return [(lang, body) for lang, body in BLOCK.findall((REPO / "README.md").read_text())]


def _commands(body: str) -> list[str]:
    """Shell commands: each starts on a line beginning with `clinfuse `; backslash continuations and the
    further lines of a quoted SQL string belong to it."""
    commands: list[str] = []
    for line in re.sub(r"\\\n\s*", " ", body).splitlines():
        if line.startswith("clinfuse ") or not commands:
            commands.append(line.strip())
        elif line.strip():
            commands[-1] += "\n" + line
    return [c for c in commands if c]


def _skip_reason(body: str) -> str | None:
    return next((reason for phrase, reason in SKIPPED.items() if phrase in body), None)


@pytest.fixture(scope="module")
def workdir(materialised, tmp_path_factory) -> tuple[Path, dict]:
    home, _ = materialised
    work = tmp_path_factory.mktemp("readme")
    (work / ".clinfuse").symlink_to(home.root)
    bin_dir = work / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "clinfuse"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m clinfuse.cli "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINFUSE_")}
    env.update(PATH=f"{bin_dir}:{env['PATH']}", PYTHONPATH=str(REPO))
    return work, env


def _run(args, work, env, what) -> subprocess.CompletedProcess:
    out = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"README {what} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out


def test_the_readme_has_the_blocks_this_test_knows():
    bodies = [body for _, body in _blocks()]
    for phrase in SKIPPED:
        assert sum(phrase in body for body in bodies) == 1, f"skip rule {phrase!r} matches no block (or several)"
    assert sum(body.lstrip().startswith("clinfuse ") for body in bodies) >= 4


@pytest.mark.slow
def test_every_command_block_of_the_readme_runs(workdir):
    work, env = workdir
    ran = {"shell": 0, "python": 0, "sql": 0, "synopsis": 0}
    for lang, body in _blocks():
        if _skip_reason(body):
            continue
        if lang == "python":
            _run([sys.executable, "-c", body], work, env, f"python block {body[:60]!r}")
            ran["python"] += 1
        elif lang == "sql":
            _run(["clinfuse", "sql", body], work, env, f"sql block {body[:60]!r}")
            ran["sql"] += 1
        else:
            commands = _commands(body)
            assert commands and all(c.startswith("clinfuse ") for c in commands), \
                f"a README block that is neither commands nor a known skip: {body[:200]!r}"
            synopsis = "[--home DIR]" in body  # placeholders: every command of it answers --help
            for command in commands:
                if synopsis:
                    words = command.split()
                    sub = words[1:3] if words[1] in ("features", "demo-data") else words[1:2]
                    _run(["clinfuse", *sub, "--help"], work, env, f"synopsis line {command[:60]!r}")
                    ran["synopsis"] += 1
                    continue
                if command.startswith("clinfuse run"):
                    command = command.split("  #")[0] + f" {DRY_RUN}"
                _run(["bash", "-c", command], work, env, f"command {command[:200]!r}")
                ran["shell"] += 1
    assert ran["python"] >= 1 and ran["sql"] >= 1 and ran["shell"] >= 6 and ran["synopsis"] >= 8, ran
    assert (work / "entities.parquet").is_file() and (work / "frame.parquet").is_file()


def test_features_latest_with_unknown_keys_names_them_and_fails(workdir):
    work, env = workdir
    out = subprocess.run(["clinfuse", "features", "latest", "--view", "timeseries_ihm", "--keys", "1,2"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and out.stdout == ""
    assert "timeseries_ihm: key 1 not found" in out.stderr and "timeseries_ihm: key 2 not found" in out.stderr
    assert out.stderr.splitlines()[-1] == "clinfuse: error: 2 of 2 keys not found in timeseries_ihm: 1, 2"


def test_entities_carry_subject_id_so_a_split_frame_can_be_built(materialised, tmp_path, capsys):
    import pyarrow.parquet as pq

    from clinfuse.cli import main

    home, _ = materialised
    for cohort in ("ihm_48h", "phenotyping", "haim_samples"):
        out = tmp_path / f"{cohort}.parquet"
        assert main(["features", "entities", "--home", str(home.root), "--cohort", cohort, "--out", str(out)]) == 0
        table = pq.read_table(out)
        assert {"subject_id", "prediction_time"} <= set(table.column_names) and table.num_rows > 0
    assert main(["features", "get", "--home", str(home.root), "--entities", str(tmp_path / "ihm_48h.parquet"),
                 "--views", "timeseries_ihm,labels_ihm", "--out", str(tmp_path / "f.parquet"), "--split", "val"]) == 0
    assert "subjects crossing splits 0" in capsys.readouterr().out
