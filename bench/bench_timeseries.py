"""MedFuse time series for a 10,000-patient synthetic source: generate, ingest, cohorts, time series.

Records each stage's wall time and the process's peak RSS in bench/results/timeseries.json.
Usage: python bench/bench_timeseries.py [--patients 10000]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from pipelines.run import materialize_selection
from warehouse.cohorts import build_cohorts
from warehouse.ingest import ingest
from warehouse.lake import Home
from warehouse.sources import synthetic_sources
from warehouse.synth import generate

RESULTS = Path(__file__).parent / "results" / "timeseries.json"


def task_tables(root: Path, mode: str, timestep: float) -> dict:
    """The four tables through the Dagster asset (every shard in one ranged run), as `clinfuse run` does."""
    result = materialize_selection(Home.open(root / "home"), synthetic_sources(root / "src"), "features/timeseries_ihm",
                                   sets=(f"features/timeseries_ihm.mode={mode}",
                                         f"features/timeseries_ihm.timestep_hours={timestep}"))
    return {name: result["metadata"][f"{layer}/{name}"]["rows"] for layer, name in (
        ("cohorts", "ihm_48h"), ("cohorts", "phenotyping"), ("features", "timeseries_ihm"),
        ("features", "timeseries_pheno"))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=10_000)
    args = parser.parse_args()
    stages = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, step in (
            ("generate", lambda: generate(root / "src", patients=args.patients, seed=0, images=False, notes=False)),
            ("ingest", lambda: ingest(Home.open(root / "home"), synthetic_sources(root / "src"))),
            ("sql_cohorts", lambda: build_cohorts(Home.open(root / "home"))),
            ("timeseries_fixed_2h", lambda: task_tables(root, "fixed", 2.0)),
            ("timeseries_faithful_1h", lambda: task_tables(root, "faithful", 1.0)),
        ):
            start = time.monotonic()
            out = step()
            stages[name] = {"seconds": round(time.monotonic() - start, 2)}
            if isinstance(out, dict) and "timeseries_ihm" in out:
                stages[name].update({k: out[k] for k in ("ihm_48h", "phenotyping", "timeseries_ihm", "timeseries_pheno")})
            print(name, stages[name], flush=True)
    runs = [{"stage": k, **v} for k, v in stages.items()]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "timeseries", "when": time.strftime("%Y-%m-%d"),
        "goal": f"time series for {args.patients:,} synthetic patients in minutes on 2 cores",
        "patients": args.patients,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
