"""Peak memory of the whole demo pipeline (SPEC §11: < 6 GB RSS at 10,000 synthetic patients).

`clinfuse run` of every asset, as `make demo` runs it (random-init weights, one-layer BERT, demo model
profile), on a synthetic source with images and notes; the harness samples the RSS of the whole process
tree. The full graph on 10,000 patients takes hours on 2 cores, so the default run uses
`PATIENTS` x BENCH_SCALE patients; BENCH_PIPELINE_PATIENTS=10000 runs the SPEC's size (this case alone:
`python bench/run.py pipeline_rss`). No baseline: the figure is the peak RSS against the 6 GB goal.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.harness import ROOT, Case, Side

PATIENTS = 40  # at BENCH_SCALE 1 (make demo: 200)
SEED = 7  # the graph test's source (tests/conftest.py): 40 patients of seed 0 leave frames/ihm no validation stay
DEMO_ENV = {"CLINFUSE_WEIGHTS": "auto", "CLINFUSE_NOTES_MODEL": "random-init:L1", "CLINFUSE_MODEL_PROFILE": "demo",
            "CLINFUSE_WORKERS": "1"}  # the Makefile's DEMO_ENV


def patients(at_scale: float) -> int:
    return int(os.environ.get("BENCH_PIPELINE_PATIENTS") or max(40, int(PATIENTS * at_scale)))  # 40: the graph test's size


def prepare(inp: Path, at_scale: float) -> dict:
    from warehouse.synth import generate

    n = patients(at_scale)
    generate(inp / "src", patients=n, seed=SEED, images=True, notes=True)
    return {"items": n, "patients": n, "images": True, "notes": True}


def clinfuse_run(inp: Path, out: Path) -> dict:
    src = inp / "src"
    env = {**os.environ, **DEMO_ENV, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "clinfuse.cli", "run", "--home", str(out / "home"),
                    "--mimic-iv", str(src / "mimic-iv"), "--mimic-cxr", str(src / "mimic-cxr-jpg"),
                    "--mimic-note", str(src / "mimic-iv-note")], env=env, check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return None


CASES = [Case(name="pipeline_rss", what="`clinfuse run` of the whole graph (demo settings), images and notes",
              goal="peak RSS < 6 GB at 10,000 patients (SPEC §11)", unit="patients", input_key=f"pipeline-seed{SEED}-" + os.environ.get("BENCH_PIPELINE_PATIENTS", "by-scale"),
              prepare=prepare, subject=Side("clinfuse run (every asset)", clinfuse_run), repeats=1)]
