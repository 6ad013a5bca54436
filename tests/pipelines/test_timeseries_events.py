"""The cleaned events are their own asset: a new timestep re-discretises them only (the events are neither
extracted nor cleaned again), and gives the same bytes as a full rebuild at that timestep."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from pipelines.run import materialize_selection
from warehouse.lake import Home
from warehouse.sources import synthetic_sources

TABLES = ("cohorts/ihm_48h", "cohorts/phenotyping", "features/timeseries_ihm", "features/timeseries_pheno")
UPSTREAM = "*features/timeseries_ihm"


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    from warehouse.synth import generate

    root = tmp_path_factory.mktemp("ts-events")
    generate(root / "src", patients=30, seed=5, layout="v1.0", images=False, notes=False)
    return root


def _run(home: Home, source: Path, selection: str, *sets: str) -> dict:
    return materialize_selection(home, synthetic_sources(source / "src"), selection, sets=sets, shards=2,
                                 instance=dg.DagsterInstance.ephemeral(), workers=1)


def _files(home: Home) -> dict[str, bytes]:
    lake = home.root / "lake"
    return {str(p.relative_to(lake)): p.read_bytes() for t in TABLES for p in sorted((lake / t).rglob("*.parquet"))}


def test_a_new_timestep_rediscretises_only_and_equals_a_full_rebuild(source, tmp_path):
    mode = "features/timeseries_events.mode=faithful"
    step = "features/timeseries_ihm.timestep_hours=1.0"
    home = Home.open(tmp_path / "incremental")
    first = _run(home, source, UPSTREAM, mode)
    assert first["metadata"]["features/timeseries_events"]["mode"] == "faithful"
    events = sorted((home.root / "lake" / "features" / "timeseries_events").rglob("*.parquet"))
    stamps = [p.stat().st_mtime_ns for p in events]

    again = _run(home, source, "features/timeseries_ihm", step)
    assert "features/timeseries_events" not in again["metadata"] and "raw/icu_chartevents" not in again["metadata"]
    assert [p.stat().st_mtime_ns for p in events] == stamps, "the cleaned events were not rewritten"
    assert again["metadata"]["features/timeseries_ihm"]["mode"] == "faithful"  # the events' mode, recorded

    full = Home.open(tmp_path / "full")
    rebuilt = _run(full, source, UPSTREAM, mode, step)
    assert rebuilt["metadata"]["features/timeseries_ihm"]["rows"] == again["metadata"]["features/timeseries_ihm"]["rows"]
    assert again["metadata"]["features/timeseries_ihm"]["rows"] > 0
    assert _files(home) == _files(full)
    assert _files(home) != {}
