"""The synthetic MIMIC generator (SPEC §9: 10,000 patients in under 2 minutes on 2 cores, images excluded).

No baseline: the figure is the time against the SPEC's budget, and the peak RSS.
"""

from __future__ import annotations

from pathlib import Path

from bench.harness import Case, Side

PATIENTS = 10_000  # at BENCH_SCALE 1


def prepare(inp: Path, at_scale: float) -> dict:
    n = max(100, int(PATIENTS * at_scale))
    return {"items": n, "patients": n}


def generate(inp: Path, out: Path) -> dict:
    import json

    from warehouse.synth import generate as run

    n = json.loads((inp / "prepared.json").read_text())["patients"]
    summary = run(out / "src", patients=n, seed=0, images=False, notes=True)
    size = sum(p.stat().st_size for p in (out / "src").rglob("*") if p.is_file())
    return {"admissions": summary["admissions"], "icustays": summary["icustays"], "output_mb": size / 1e6}


CASES = [Case(name="synth", what="warehouse.synth.generate (notes, no images)",
              goal="< 120 s at 10,000 patients on 2 cores (SPEC §9)", unit="patients", input_key="synth",
              prepare=prepare, subject=Side("warehouse.synth.generate", generate), repeats=1)]
