"""Incremental rebuild after 1 % new subjects (SPEC §11): the rebuild of a built home after its source grew,
against a full build of the grown source (embedding cache bypassed). The work is in bench/bench_incremental.py
(also runnable on its own); the check compares the two homes' embedding, chunk, tensor and HAIM tables."""

from __future__ import annotations

from pathlib import Path

from bench.harness import Case, Side

PATIENTS = 100  # at BENCH_SCALE 1
NEW_PERCENT = 1.0


def prepare(inp: Path, at_scale: float) -> dict:
    from bench.bench_incremental import prepare as prepare_sources

    return prepare_sources(inp, max(100, int(PATIENTS * at_scale)), NEW_PERCENT)


def rebuild(inp: Path, out: Path) -> dict:
    from bench.bench_incremental import rebuild as run

    return run(inp, out)


def full_build(inp: Path, out: Path) -> dict:
    from bench.bench_incremental import full_build as run

    return run(inp, out)


def check(inp: Path, outs: dict) -> str | None:
    from bench.bench_incremental import compare_homes

    tables = compare_homes(outs["rebuild"] / "home", outs["full_build"] / "home")
    bad = {name: t for name, t in tables.items() if not t["equal"]}
    return f"rebuild differs from the full build: {bad}" if bad else None


CASES = [Case(
    name="incremental",
    what="rebuild up to HAIM after 1 % new subjects (image tensors and embeddings from the caches; DenseNet121 and a "
         "12-layer BERT, random-init) vs a full build of the grown source with the caches bypassed",
    goal=">= 10x (rebuild <= 10 % of the full build), outputs equal",
    unit="patients",
    input_key="incremental",
    prepare=prepare,
    subject=Side("rebuild", rebuild),
    baseline=Side("full_build", full_build),
    repeats=1,  # each rebuild repetition first does a (untimed) full build of the base source
    check=check,
)]
