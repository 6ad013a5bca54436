"""MedFuse time series for every stay, end to end, against the published reference extraction (SPEC §11: ≥ 50×).

On synthetic MIMIC-IV v1.0 sources (uncompressed CSV, the reference's input) of each `--patients` size:
  reference  ../shared/reference/medfuse-mimic4extract/run_reference.sh (its seven timed stages);
  clinfuse   `clinfuse run --select '*features/timeseries_ihm'` as a subprocess, the user's path: ingest,
             cohorts, cleaned events, task tables, in faithful mode at the reference's 2 h step.
Both run at the same niceness. Reported per scale: wall and CPU of both sides (clinfuse repeated, median and
spread), the ratio end to end and per comparable stage, clinfuse's start-up (process start -> first step
starts, from the run's Dagster events), and a timestep change (1 h): the reference re-runs its discretizer,
clinfuse re-materialises features/timeseries_ihm only. Every stay's faithful matrix must equal the
reference's (features.timeseries.compare), else the script fails. A `growth` list times clinfuse at the
`--growth` scales. Results: bench/results/timeseries.json.

The reference folder is $CLINFUSE_REFERENCE_DIR, by default ../shared/reference/medfuse-mimic4extract; without
it the reference side is skipped with the reason. The reference takes minutes to hours (it streams the CSVs row by row), so its run is kept in the cache
(`<cache>/ref<N>`, with its times.json and logs) and reused when complete; `--fresh-reference` re-runs it.

Usage: python bench/bench_timeseries.py [--patients 1000 4000] [--repeats 3] [--growth 1000 2000 4000]
                                        [--cache DIR] [--fresh-reference]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "timeseries.json"
REFERENCE = Path(os.environ.get("CLINFUSE_REFERENCE_DIR", ROOT.parent / "shared" / "reference" / "medfuse-mimic4extract"))
SELECTION = "*features/timeseries_ihm"
FAITHFUL = "features/timeseries_events.mode=faithful"
STEP_1H = "features/timeseries_ihm.timestep_hours=1.0"
# both sides at one niceness ($BENCH_NICE, default 0): on a shared machine the same share of the cores
NICE = ["nice", "-n", os.environ.get("BENCH_NICE", "0")]
REF_TASKS = {"ihm": "in-hospital-mortality", "pheno": "phenotyping"}
# comparable stages: reference stages -> clinfuse steps (step keys of the Dagster run)
STAGES = {
    "ingest_extract": (("extract_subjects_iv",), ("raw__", "cohorts__icu_stays")),
    "clean_episodes": (("validate_events", "extract_episodes_from_subjects", "split_train_and_test"),
                       ("features__timeseries_events",)),
    "windows_discretize": (("create_in_hospital_mortality", "create_phenotyping", "discretize_all"),
                           ("medfuse_task_tables",)),
}


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "n": len(values)}


# ---------------------------------------------------------------- input


def source(cache: Path, patients: int) -> Path:
    """The v1.0 uncompressed synthetic source of `patients` (seed 0), generated once into the cache."""
    root = cache / f"src{patients}"
    if not (root / "mimic-iv" / "icu" / "chartevents.csv").is_file():
        from warehouse.synth import generate

        log(f"generating {patients:,} synthetic patients (v1.0, csv) into {root}")
        shutil.rmtree(root, ignore_errors=True)
        generate(root, patients=patients, seed=0, layout="v1.0", images=False, notes=False, compress=False)
    return root / "mimic-iv"


# ---------------------------------------------------------------- reference


def reference_env(cache: Path) -> dict:
    return {**os.environ, "CLINFUSE_REFERENCE_VENV": os.environ.get("CLINFUSE_REFERENCE_VENV", str(cache / "refvenv")),
            "CLINFUSE_REFERENCE_PYTHON": os.environ.get("CLINFUSE_REFERENCE_PYTHON", "python3.11")}


def run_reference(cache: Path, src: Path, patients: int, fresh: bool) -> dict:
    """The reference's seven stages (times.json), its wall and CPU; reused from the cache when complete."""
    out = cache / f"ref{patients}"
    times = out / "times.json"
    complete = times.is_file() and "discretize_all" in json.loads(times.read_text())
    record = out / "bench.json"
    if complete and record.is_file() and not fresh:
        log(f"reference at {patients:,} patients: reusing {out}")
        return {**json.loads(record.read_text()), "reused": True}
    if complete and not fresh:  # run by hand with run_reference.sh: its own stage times, no CPU figure
        log(f"reference at {patients:,} patients: reusing {out} (stage times only)")
        stages = json.loads(times.read_text())
        return {"stages": stages, "seconds": stages["total"], "cpu_s": None, "reused": True,
                "run_info": (out / "logs" / "run_info.txt").read_text()}
    shutil.rmtree(out, ignore_errors=True)
    log(f"reference at {patients:,} patients: run_reference.sh (minutes to hours)")
    cpu0, t0 = children_cpu(), time.perf_counter()
    subprocess.run([*NICE, str(REFERENCE / "run_reference.sh"), str(src), str(out), "2.0"], check=True,
                   env=reference_env(cache))
    stages = json.loads(times.read_text())
    result = {"stages": stages, "seconds": round(time.perf_counter() - t0, 2),
              "cpu_s": round(children_cpu() - cpu0, 2), "run_info": (out / "logs" / "run_info.txt").read_text()}
    record.write_text(json.dumps(result))
    return {**result, "reused": False}


def reference_rediscretize(cache: Path, patients: int, timestep: float) -> dict:
    """The reference's answer to a new timestep: its discretizer alone over the episodes it already wrote."""
    ref = cache / f"ref{patients}"
    out = cache / f"ref{patients}-discretized-{timestep:g}h"  # what check_equal reads
    shutil.rmtree(out, ignore_errors=True)
    python = Path(reference_env(cache)["CLINFUSE_REFERENCE_VENV"]) / "bin" / "python"
    env = {**os.environ, "PYTHONPATH": str(REFERENCE / "mimic4extract"), "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONWARNINGS": "ignore"}
    cpu0, t0 = children_cpu(), time.perf_counter()
    subprocess.run([*NICE, str(python), "-B", str(REFERENCE / "discretize_all.py"), str(ref), str(out),
                    "--timestep", str(timestep)], check=True, env=env, cwd=ref, stdout=subprocess.DEVNULL)
    return {"seconds": round(time.perf_counter() - t0, 2), "cpu_s": round(children_cpu() - cpu0, 2)}


# ---------------------------------------------------------------- clinfuse


def clinfuse(home: Path, *args: str) -> dict:
    """One `clinfuse run` process: wall, CPU, and from its Dagster run the start-up (process start -> first
    step start), the seconds of each step and the tail (last step end -> process exit)."""
    # one worker, as `make demo` on 2 cores: step processes cost more start-up than parallel steps save (README)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CLINFUSE_HOME": str(home), "CLINFUSE_SHARDS": "8",
           "CLINFUSE_WORKERS": "1"}
    command = [*NICE, str(Path(sys.executable).with_name("clinfuse")), "run", *args]
    cpu0, start = children_cpu(), time.time()
    out = subprocess.run(command, env=env, capture_output=True, text=True)
    end = time.time()
    if out.returncode != 0:
        raise RuntimeError(f"clinfuse run failed: {(out.stderr or out.stdout)[-2000:]}")
    run_id = out.stdout.rsplit("(run ", 1)[1].split(")")[0]
    steps = step_seconds(home, run_id)
    first = min(s["start"] for s in steps.values())
    last = max(s["end"] for s in steps.values())
    return {"seconds": round(end - start, 3), "cpu_s": round(children_cpu() - cpu0, 3),
            "startup_s": round(first - start, 3), "tail_s": round(end - last, 3),
            "steps": {k: round(s["end"] - s["start"], 3) for k, s in steps.items()}}


def step_seconds(home: Path, run_id: str) -> dict[str, dict]:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        records = instance.all_logs(run_id)
    steps: dict[str, dict] = {}
    for record in records:
        event = record.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            steps.setdefault(event.step_key, {})["start"] = record.timestamp
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            steps.setdefault(event.step_key, {})["end"] = record.timestamp
    return steps


def stage_sum(steps: dict[str, float], prefixes: tuple[str, ...]) -> float:
    return round(sum(s for k, s in steps.items() if k.startswith(prefixes)), 3)


# ---------------------------------------------------------------- equality


def check_equal(home: Path, npz_dir: Path) -> dict:
    """Every stay of both tasks: clinfuse's faithful matrices equal the reference's discretized npz."""
    import numpy as np
    import polars as pl

    from features.timeseries.compare import compare_stays, stay_matrices

    out = {}
    for task, name in REF_TASKS.items():
        with np.load(npz_dir / f"{name}.npz") as npz:
            expected = {int(k): npz[k] for k in npz.files}
        frame = pl.read_parquet(str(home / "lake" / "features" / f"timeseries_{task}" / "**" / "*.parquet"))
        diff = compare_stays(stay_matrices(frame), expected)
        out[task] = {k: (v if not isinstance(v, list) else v[:10]) for k, v in diff.items()}
        if not diff["equal"]:
            raise SystemExit(f"{task}: {home} differs from the reference {npz_dir}: {out[task]}")
    return out


# ---------------------------------------------------------------- one scale


def measure(cache: Path, patients: int, repeats: int, fresh: bool) -> dict:
    src = source(cache, patients)
    ref = run_reference(cache, src, patients, fresh) if REFERENCE.is_dir() else None
    runs = []
    for i in range(repeats):
        home = cache / f"home{patients}-{i}"
        shutil.rmtree(home, ignore_errors=True)
        r = clinfuse(home, "--select", SELECTION, "--mimic-iv", str(src), "--set", FAITHFUL)
        runs.append(r)
        log(f"clinfuse at {patients:,} patients [{i + 1}/{repeats}]: {r['seconds']:.1f} s, cpu {r['cpu_s']:.1f} s, "
            f"start-up {r['startup_s']:.1f} s")
    last = cache / f"home{patients}-{repeats - 1}"
    result = {"patients": patients, "nice": int(NICE[-1]), "load_average": [round(x, 2) for x in os.getloadavg()]}
    side = {"seconds": summary([r["seconds"] for r in runs]), "cpu_s": summary([r["cpu_s"] for r in runs]),
            "startup_s": summary([r["startup_s"] for r in runs]), "tail_s": summary([r["tail_s"] for r in runs]),
            "stages": {name: summary([stage_sum(r["steps"], steps) for r in runs])
                       for name, (_, steps) in STAGES.items()}}
    result["clinfuse"] = side
    if ref is not None:
        result["check"] = {"2h": check_equal(last, cache / f"ref{patients}" / "discretized")}
    rerun = clinfuse(last, "--select", "features/timeseries_ihm", "--set", STEP_1H)
    side["timestep_change"] = {"seconds": rerun["seconds"], "cpu_s": rerun["cpu_s"], "startup_s": rerun["startup_s"],
                               "steps": rerun["steps"]}
    if ref is None:
        result["reference"] = f"skipped: {REFERENCE} is not there"
        return result
    ref_stages = {name: round(sum(ref["stages"][s] for s in stages), 3) for name, (stages, _) in STAGES.items()}
    ref["timestep_change"] = reference_rediscretize(cache, patients, 1.0)
    result["check"]["1h"] = check_equal(last, cache / f"ref{patients}-discretized-1h")
    result["reference"] = {**ref, "comparable_stages": ref_stages}
    ref_seconds = ref["stages"]["total"]
    result["ratios"] = {
        "end_to_end": round(ref_seconds / side["seconds"]["median"], 2),
        "end_to_end_cpu": round(ref["cpu_s"] / side["cpu_s"]["median"], 2) if ref.get("cpu_s") else None,
        "end_to_end_without_startup": round(ref_seconds / (side["seconds"]["median"] - side["startup_s"]["median"]), 2),
        **{name: round(ref_stages[name] / side["stages"][name]["median"], 2) for name in STAGES},
        "timestep_change": round(ref["timestep_change"]["seconds"] / rerun["seconds"], 2),
    }
    log(f"at {patients:,} patients: reference {ref_seconds:.0f} s, clinfuse {side['seconds']['median']:.1f} s "
        f"-> {result['ratios']['end_to_end']}x end to end; outputs equal for every stay")
    return result


def growth(cache: Path, scales: list[int], measured: dict[int, dict]) -> list[dict]:
    """clinfuse end to end and per stage at each scale (one run where the main measurement has none)."""
    out = []
    for patients in sorted(scales):
        if patients in measured:
            side = measured[patients]["clinfuse"]
            row = {"patients": patients, "seconds": side["seconds"]["median"], "cpu_s": side["cpu_s"]["median"],
                   "startup_s": side["startup_s"]["median"],
                   **{name: side["stages"][name]["median"] for name in STAGES}}
        else:
            home = cache / f"home{patients}-growth"
            shutil.rmtree(home, ignore_errors=True)
            r = clinfuse(home, "--select", SELECTION, "--mimic-iv", str(source(cache, patients)), "--set", FAITHFUL)
            row = {"patients": patients, "seconds": r["seconds"], "cpu_s": r["cpu_s"], "startup_s": r["startup_s"],
                   **{name: stage_sum(r["steps"], steps) for name, (_, steps) in STAGES.items()}}
        ref = measured.get(patients, {}).get("reference")
        row["reference_seconds"] = ref["stages"]["total"] if isinstance(ref, dict) else None
        log(f"growth {patients:,}: {row}")
        out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--growth", type=int, nargs="+", default=[1000, 2000, 4000])
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("BENCH_CACHE", "/tmp/clinfuse-bench-cache"))
                        / "timeseries")
    parser.add_argument("--fresh-reference", action="store_true")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    measured = {n: measure(args.cache, n, args.repeats, args.fresh_reference) for n in args.patients}
    rows = [{"patients": n, "reference_s": m["reference"]["stages"]["total"] if "ratios" in m else None,
             "clinfuse_s": m["clinfuse"]["seconds"]["median"], "startup_s": m["clinfuse"]["startup_s"]["median"],
             "ratio": m.get("ratios", {}).get("end_to_end"), "ratio_cpu": m.get("ratios", {}).get("end_to_end_cpu"),
             "new_timestep_ratio": m.get("ratios", {}).get("timestep_change")} for n, m in measured.items()]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "timeseries", "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "goal": "MedFuse time series for all stays (ingest + cohorts + time series, faithful, 2 h) >= 50x faster "
                "end to end than the reference extraction on the same input, identical output for every stay",
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_at_start": load_at_start, "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "ratio_definition": "reference seconds / clinfuse seconds (median of the repeats) on the same input",
        "stage_map": {name: {"reference": list(ref), "clinfuse_steps": list(cf)} for name, (ref, cf) in STAGES.items()},
        "runs": rows,
        "scales": list(measured.values()),
        "growth": growth(args.cache, args.growth, measured)}, indent=1) + "\n")
    log(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
