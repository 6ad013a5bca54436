"""Shared fixtures: a tmp home, the real demo (skipped when ../shared is absent), small synthetic sources."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from warehouse.lake import Home

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO.parent / "shared" / "data" / "mimic-iv-demo-2.2"

# Runs started by tests (in-process or `clinfuse run` children) use one worker unless a test asks for more: on
# 2 cores the step processes cost more than parallel steps save (README, `--workers`). The multiprocess path has
# its own tests (concurrent runs, PostgreSQL shard steps, worker settings), which pass `workers` explicitly.
os.environ.setdefault("CLINFUSE_WORKERS", "1")


@pytest.fixture
def home(tmp_path) -> Home:
    return Home.open(tmp_path / "home")


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    if not (DEMO / "hosp" / "admissions.csv.gz").is_file():
        pytest.skip(f"the real MIMIC-IV demo is not at {DEMO} (only the project's CI machines have ../shared)")
    return DEMO


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory) -> Path:
    """A small synthetic source (v2.2, with notes and images), generated once per test session."""
    from warehouse.synth import generate

    root = tmp_path_factory.mktemp("synth-v2.2")
    generate(root, patients=40, seed=7, layout="v2.2", images=True, notes=True)
    return root


@pytest.fixture
def synth_copy(synth_root, tmp_path) -> Path:
    """A writable copy of the synthetic source, for tests that damage it."""
    dest = tmp_path / "source"
    shutil.copytree(synth_root, dest)
    return dest


@pytest.fixture(scope="session")
def materialised(synth_root, tmp_path_factory):
    """The whole Dagster graph materialised once on the small synthetic source, in this process (one worker, as
    `make demo`): (home, run result)."""
    from pipelines.run import materialize_selection
    from warehouse.sources import synthetic_sources

    home = Home.open(tmp_path_factory.mktemp("materialised") / "home")
    # weights auto and a one-layer random BERT of Bio_ClinicalBERT's widths: CPU-sized, recorded as such
    settings = {"weights": "auto", "notes_model": "random-init:L1", "model_profile": "demo"}
    return home, materialize_selection(home, synthetic_sources(synth_root), settings=settings, workers=1)
