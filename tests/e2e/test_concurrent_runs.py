"""Two `clinfuse run`s started at once on one fresh home: the home's run lock lets one through and refuses
the other at once, naming it; the catalog and the lake end exactly as a single run leaves them."""

from __future__ import annotations

import stat

import pytest

from tests.graph import catalog_contents, start_cli_run
from warehouse.lake import Home

# raw/icu_inputevents is sharded (its shard folders are where two runs used to delete each other's staging)
SELECTION = "key:raw/icu_inputevents or key:raw/hosp_patients or key:raw/hosp_admissions"


@pytest.mark.slow
def test_two_runs_at_once_on_one_home_never_corrupt_it(synth_root, tmp_path):
    home = tmp_path / "home"
    runs = [start_cli_run(home, synth_root, SELECTION, workers=2, shards=4) for _ in range(2)]
    outcomes = [(run, *run.communicate(timeout=1200)) for run in runs]
    passed = [run for run, _, _ in outcomes if run.returncode == 0]
    refused = [(run, err) for run, _, err in outcomes if run.returncode != 0]
    assert passed, "\n".join(err[-2000:] for _, _, err in outcomes)
    for run, err in refused:  # refused at once, naming the run that holds the home
        holder = next(other for other in runs if other is not run)
        assert f"another clinfuse run (pid {holder.pid}, started " in err and f"is using {home}" in err, err[-2000:]
        assert "Traceback" not in err

    reference = tmp_path / "reference"
    single = start_cli_run(reference, synth_root, SELECTION, workers=1, shards=4)
    _, err = single.communicate(timeout=1200)
    assert single.returncode == 0, err[-2000:]
    got, want = catalog_contents(Home(home)), catalog_contents(Home(reference))
    assert {"raw.icu_inputevents", "raw.hosp_patients", "raw.hosp_admissions"} <= set(want)
    assert all(rows for rows, _ in want.values())
    assert got == want
    assert not [p.name for p in (home / "lake" / "raw").iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert stat.S_IMODE(home.stat().st_mode) == 0o700, "the home stays owner-only"
