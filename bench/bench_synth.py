"""Benchmark the synthetic MIMIC generator (SPEC §9, §11): generate() for 1,000 and 10,000 patients
(images off, notes on), each in a fresh process so that peak RSS is its own; writes bench/results/synth.json.

    python bench/bench_synth.py [--patients 1000 10000] [--out bench/results/synth.json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS_10K = 120.0  # SPEC §9: 10,000 patients in under 2 minutes on 2 cores, images excluded


def _child(patients: int, out: Path, seed: int) -> None:
    sys.path.insert(0, str(ROOT))
    from warehouse.synth import generate

    t0 = time.perf_counter()
    summary = generate(out, patients=patients, seed=seed, images=False, notes=True)
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    peak_mb = rss / (1 << 20) if sys.platform == "darwin" else rss / 1024
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(json.dumps({
        "patients": patients, "seed": seed, "seconds": round(seconds, 2), "peak_rss_mb": round(peak_mb, 1),
        "admissions": summary["admissions"], "icustays": summary["icustays"],
        "output_mb": round(size / 1e6, 1), "rows": summary["tables"],
    }))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "synth.json")
    ap.add_argument("--keep", type=Path, default=None, help="write the generated trees here (default: a temp dir)")
    ap.add_argument("--child", nargs=2, metavar=("PATIENTS", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(int(args.child[0]), Path(args.child[1]), args.seed)
        return 0

    runs = []
    with tempfile.TemporaryDirectory(prefix="clinfuse-bench-synth-") as tmp:
        base = args.keep or Path(tmp)
        for n in args.patients:
            target = base / f"synth-{n}"
            proc = subprocess.run(
                [sys.executable, __file__, "--seed", str(args.seed), "--child", str(n), str(target)],
                check=True, capture_output=True, text=True,
            )
            run = json.loads(proc.stdout.strip().splitlines()[-1])
            runs.append(run)
            print(f"{n:>7} patients: {run['seconds']:7.2f} s  peak RSS {run['peak_rss_mb']:7.1f} MB  "
                  f"chartevents {run['rows'].get('mimic-iv/icu/chartevents.csv.gz', 0):,} rows  "
                  f"labevents {run['rows'].get('mimic-iv/hosp/labevents.csv.gz', 0):,} rows")
    result = {
        "benchmark": "synth",
        "what": "warehouse.synth.generate(images=False, notes=True, compress=True)",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "target": {"patients": 10000, "seconds": TARGET_SECONDS_10K, "cpus": 2},
        "runs": runs,
    }
    ten_k = [r for r in runs if r["patients"] == 10000]
    if ten_k:
        result["meets_target"] = ten_k[0]["seconds"] < TARGET_SECONDS_10K
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
