"""`clinfuse run` with two workers: independent steps overlap, each in a process of its own, and the steps of one
pool (gpu, duckdb: one slot each) never do. The selection holds both embedding steps (pool gpu), which nothing
else would keep apart."""

from __future__ import annotations

import os
from itertools import pairwise

import pytest

from pipelines.definitions import defs
from pipelines.run import home_instance, materialize_selection
from tests.graph import step_processes
from warehouse.lake import Home

SELECTION = "+key:embeddings/notes_clinicalbert or +key:embeddings/cxr_densenet121_chex"  # and all upstream


@pytest.mark.slow
def test_steps_run_at_once_in_their_own_processes_but_one_per_pool(tmp_path):
    from warehouse.sources import synthetic_sources
    from warehouse.synth import generate

    generate(tmp_path / "src", patients=8, seed=3)
    home = Home.open(tmp_path / "home")
    result = materialize_selection(home, synthetic_sources(tmp_path / "src"), SELECTION, shards=2, workers=2,
                                   settings={"weights": "auto", "notes_model": "random-init:L1"})
    steps = step_processes(home_instance(home), result["run_id"])
    assert steps and all(end is not None for _, _, end in steps.values())
    pids = {pid for pid, _, _ in steps.values()}
    assert os.getpid() not in pids and len(pids) > 1

    def overlapping(keys):
        spans = sorted(steps[k][1:] for k in keys)
        return [(a, b) for a, b in pairwise(spans) if b[0] < a[1]]  # sorted: a neighbour overlaps if any does

    assert overlapping(steps), "two workers, yet no two steps ever ran at once"
    pools: dict[str, list[str]] = {}
    for assets_def in defs.resolve_asset_graph().assets_defs:
        if assets_def.op.pool and assets_def.op.name in steps:
            pools.setdefault(assets_def.op.pool, []).append(assets_def.op.name)
    assert len(pools.get("gpu", [])) == 2, pools
    for pool, keys in pools.items():
        assert not overlapping(keys), f"two steps of pool {pool} ran at once"
