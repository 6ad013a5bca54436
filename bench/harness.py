"""The benchmark harness: every case runs its subject and its baseline side by side on one input.

A case (`Case`) names a subject, a baseline and optional further sides, each a function of the prepared
input. The input is prepared once per scale (cached under `$BENCH_CACHE`, keyed by input and scale);
then the sides run alternately, `repeats` times, each repetition in a fresh child process so that its
peak RSS (the child's, plus its own children's: DataLoader workers, subprocesses) and CPU time are its
own. The parent imports nothing heavy, so a forked child's RSS is not the parent's.

Cases live in `bench/cases/*.py` (a module-level `CASES` list); adding a file adds its cases.
Results go to `bench/results/<case>.json`; `bench/run.py` renders them.

Ratio: always a speed ratio, subject speed / baseline speed (= baseline median seconds / subject median
seconds on the same work; for latency cases baseline latency / subject latency): 1.0 is parity, above
1 the subject is faster.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
CASES_DIR = BENCH / "cases"


def scale() -> float:
    """BENCH_SCALE (default 1) grows every case's input."""
    return float(os.environ.get("BENCH_SCALE", "1"))


def repeats(case: Case) -> int:
    """BENCH_REPEATS, when set, overrides every case's repetitions (e.g. 1 for a quick look)."""
    return int(os.environ.get("BENCH_REPEATS") or case.repeats)


def cache_dir() -> Path:
    return Path(os.environ.get("BENCH_CACHE", Path(tempfile.gettempdir()) / "clinfuse-bench-cache"))


@dataclass
class Side:
    label: str
    # run(input_dir, out_dir) -> dict or None. The dict may carry `seconds` and `cpu_s` (the timed part
    # when the side has set-up to exclude; see `timed`), `items` (work done, default the input's), and
    # any further figures, which are kept per repetition.
    run: Callable[[Path, Path], dict | None]


@dataclass
class Case:
    name: str
    what: str
    goal: str
    unit: str  # what `items` counts: rows, images, chunks, samples, lookups
    input_key: str  # cases with the same key share one prepared input
    prepare: Callable[[Path, float], dict]  # (input_dir, scale) -> info, incl. `items`
    subject: Side
    baseline: Side | None = None
    others: list[Side] = field(default_factory=list)  # further sides, reported beside the baseline
    repeats: int = 3
    check: Callable[[Path, dict], str | None] | None = None  # (input_dir, outs by side) -> problem or None
    requires: Callable[[], str | None] = lambda: None  # a reason to skip, or None
    growth: tuple[float, ...] = ()  # further scales (multiples of BENCH_SCALE) run once each side

    def sides(self) -> list[Side]:
        return [self.subject, *([self.baseline] if self.baseline else []), *self.others]


def timed(fn: Callable[[], object]) -> tuple[object, dict]:
    """Run fn, returning its value and {seconds, cpu_s} (user + sys of this process and its children)."""
    c0 = _cpu()
    t0 = time.perf_counter()
    value = fn()
    return value, {"seconds": time.perf_counter() - t0, "cpu_s": _cpu() - c0}


def _cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


# ---------------------------------------------------------------- discovery


def discover() -> dict[str, tuple[str, Case]]:
    """case name -> (module, case) for every `bench/cases/*.py`."""
    found = {}
    for path in sorted(CASES_DIR.glob("*.py")):
        if path.name.startswith("_"):
            continue
        module = f"bench.cases.{path.stem}"
        for case in importlib.import_module(module).CASES:
            found[case.name] = (module, case)
    return found


def _find(module: str, name: str) -> Case:
    return next(c for c in importlib.import_module(module).CASES if c.name == name)


# ---------------------------------------------------------------- the child


def _child(module: str, name: str, action: str, input_dir: str, out_dir: str, at_scale: str) -> None:
    case = _find(module, name)
    inp, out = Path(input_dir), Path(out_dir)
    if action == "prepare":
        info = case.prepare(inp, float(at_scale))
        (inp / "prepared.json").write_text(json.dumps(info))
        result = {"info": info}
    elif action == "check":
        outs = {p.name: p for p in out.iterdir()}
        result = {"problem": case.check(inp, outs)}
    else:
        side = next(s for s in case.sides() if s.label == action)
        value, t = timed(lambda: side.run(inp, out))
        if value and "seconds" in value and "cpu_s" not in value:
            t["cpu_s"] = None  # the side timed a part of its work: the whole call's CPU time would not match
        result = {**t, **(value or {})}
    # VmHWM, not RUSAGE_SELF: Linux copies ru_maxrss from the parent at fork and keeps it across exec, so a
    # child of a 2 GB process would report 2 GB. Grandchildren forked from this small process are not affected.
    result["self_peak_rss_mb"] = _own_peak_rss_kb() / 1024
    result["children_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print("\n@@result " + json.dumps(result, default=str), flush=True)


def _own_peak_rss_kb() -> float:
    """This process's peak RSS since it was exec'd (VmHWM), in kB; ru_maxrss where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            return float(next(line.split()[1] for line in f if line.startswith("VmHWM:")))
    except (OSError, StopIteration):
        return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _tree_memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process and all its descendants now (Linux /proc), in MB. The RSS sum counts pages
    shared between the processes (forked DataLoader workers) once per process; PSS splits them."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    rss = pss = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        todo += parents.get(p, [])
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith(("Rss:", "Pss:")):
                        kb = int(line.split()[1])
                        rss, pss = (rss + kb, pss) if line.startswith("Rss:") else (rss, pss + kb)
        except (OSError, IndexError, ValueError):
            pass
    return rss / 1024, pss / 1024


def run_child(module: str, name: str, action: str, input_dir: Path, out_dir: Path, at_scale: float) -> dict:
    """One fresh process; its result, with `peak_rss_mb` the peak of the whole process tree's RSS (sampled
    every 100 ms, and never below the child's own ru_maxrss) and `peak_pss_mb` its peak PSS."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "bench.harness", "--child", module, name, action,
                             str(input_dir), str(out_dir), str(at_scale)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0, 0.0]
    sampling = os.path.isdir("/proc")

    def sample() -> None:
        while proc.poll() is None:
            rss, pss = _tree_memory_mb(proc.pid)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    if sampling:
        sampler.start()
    stdout, stderr = proc.communicate()
    if sampling:
        sampler.join()
    lines = [ln for ln in stdout.splitlines() if ln.startswith("@@result ")]
    if proc.returncode != 0 or not lines:
        tail = (stderr or stdout).strip().splitlines()[-8:]
        raise RuntimeError(f"{name} {action} failed (exit {proc.returncode}): " + " | ".join(tail))
    result = json.loads(lines[-1].removeprefix("@@result "))
    result["peak_rss_mb"] = round(max(peak[0], result["self_peak_rss_mb"], result["children_peak_rss_mb"]), 1)
    if peak[1]:
        result["peak_pss_mb"] = round(peak[1], 1)
    return result


# ---------------------------------------------------------------- the machine


def machine() -> dict:
    """Cores, memory, GPU, load at start and library versions, without importing torch here."""
    probe = ("import json, platform\n"
             "out = {}\n"
             "for mod in ('duckdb', 'torch', 'cv2', 'polars', 'pyarrow', 'dagster'):\n"
             "    try:\n"
             "        out[mod] = __import__(mod).__version__\n"
             "    except Exception:\n"
             "        out[mod] = None\n"
             "try:\n"
             "    import torch\n"
             "    out['gpu'] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None\n"
             "    out['torch_threads'] = torch.get_num_threads()\n"
             "except Exception:\n"
             "    out['gpu'] = None\n"
             "print(json.dumps(out))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    versions = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {"gpu": None}
    mem = None
    if os.path.exists("/proc/meminfo"):
        with open("/proc/meminfo") as f:
            mem = round(int(f.readline().split()[1]) / 2**20, 1)
    return {"cores": os.cpu_count(), "memory_gb": mem, "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "platform": platform.platform(), "python": platform.python_version(), **versions}


# ---------------------------------------------------------------- one case


def _summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 4), "min": round(min(values), 4),
            "max": round(max(values), 4), "n": len(values)}


def _side_summary(reps: list[dict], items_default: float) -> dict:
    seconds = [r["seconds"] for r in reps]
    items = reps[0].get("items", items_default)
    extras = {k: v for k, v in reps[0].items() if k not in {
        "seconds", "cpu_s", "items", "peak_rss_mb", "peak_pss_mb", "self_peak_rss_mb", "children_peak_rss_mb"}}
    numeric = {k: _summary([r[k] for r in reps]) for k, v in extras.items() if isinstance(v, int | float)}
    other = {k: v for k, v in extras.items() if not isinstance(v, int | float)}
    med = statistics.median(seconds)
    return {"items": items, "seconds": _summary(seconds), "per_second": round(items / med, 2) if med else None,
            "cpu_s": _summary([r["cpu_s"] for r in reps]) if all(r["cpu_s"] is not None for r in reps) else None,
            "peak_rss_mb": _summary([r["peak_rss_mb"] for r in reps]),
            **({"peak_pss_mb": _summary([r["peak_pss_mb"] for r in reps])} if all("peak_pss_mb" in r for r in reps) else {}),
            **({"figures": numeric} if numeric else {}), **other}


def prepare_input(module: str, case: Case, at_scale: float, log) -> tuple[Path, dict]:
    inp = cache_dir() / f"{case.input_key}-scale{at_scale:g}"
    marker = inp / "prepared.json"
    if marker.is_file():
        return inp, json.loads(marker.read_text())
    shutil.rmtree(inp, ignore_errors=True)
    inp.mkdir(parents=True)
    log(f"  preparing {case.input_key} at scale {at_scale:g} ...")
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="clinfuse-bench-") as tmp:
        info = run_child(module, case.name, "prepare", inp, Path(tmp), at_scale)["info"]
    log(f"  prepared in {time.monotonic() - start:.1f} s")
    return inp, info


def _measure(module: str, case: Case, at_scale: float, repeats: int, log) -> dict:
    inp, info = prepare_input(module, case, at_scale, log)
    reps: dict[str, list[dict]] = {s.label: [] for s in case.sides()}
    problem = None
    with tempfile.TemporaryDirectory(prefix=f"clinfuse-bench-{case.name}-") as tmp:
        for i in range(repeats):  # alternate: subject, baseline, others, subject, ...
            for side in case.sides():
                out = Path(tmp) / side.label.replace("/", "_")
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                r = run_child(module, case.name, side.label, inp, out, at_scale)
                reps[side.label].append(r)
                cpu = f"{r['cpu_s']:.1f} s" if r["cpu_s"] is not None else "n/a"
                log(f"  [{i + 1}/{repeats}] {side.label}: {r['seconds']:.2f} s, cpu {cpu}, "
                    f"peak RSS {r['peak_rss_mb']:.0f} MB")
            if case.check and i == 0:
                problem = run_child(module, case.name, "check", inp, Path(tmp), at_scale)["problem"] or "outputs agree"
                log(f"  check: {problem}")
            for side in case.sides():  # outputs can be large (a lake per repetition)
                shutil.rmtree(Path(tmp) / side.label.replace("/", "_"), ignore_errors=True)
    sides = {label: _side_summary(r, info.get("items", 1)) for label, r in reps.items()}
    out = {"scale": at_scale, "input": info, "sides": sides, "check": problem}
    if case.baseline:
        s, b = sides[case.subject.label], sides[case.baseline.label]
        out["ratio"] = round(b["seconds"]["median"] / s["seconds"]["median"] * s["items"] / b["items"], 3)
        # the same ratio on CPU time (user + sys): steadier than wall time on a loaded machine
        if s["cpu_s"] and b["cpu_s"]:
            out["cpu_ratio"] = round(b["cpu_s"]["median"] / max(s["cpu_s"]["median"], 1e-9) * s["items"] / b["items"], 3)
    return out


def run_case(module: str, case: Case, mach: dict, log=print) -> dict:
    at_scale = scale()
    result = {"case": case.name, "what": case.what, "goal": case.goal, "unit": case.unit,
              "subject": case.subject.label, "baseline": case.baseline.label if case.baseline else None,
              "ratio_definition": "subject speed / baseline speed on the same work (> 1: subject faster)",
              "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "bench_scale": at_scale,
              "machine": mach}
    reason = case.requires()
    if reason:
        log(f"  skipped: {reason}")
        return {**result, "skipped": reason}
    start = time.monotonic()
    try:
        result.update(_measure(module, case, at_scale, repeats(case), log))
        if case.growth:
            result["growth"] = [{k: m[k] for k in ("scale", "input", "sides", "ratio") if k in m}
                                for m in (_measure(module, case, at_scale * g, 1, log) for g in case.growth)]
            result["growth"].append({k: result[k] for k in ("scale", "input", "sides", "ratio") if k in result})
            result["growth"].sort(key=lambda m: m["scale"])
    except RuntimeError as exc:
        log(f"  failed: {exc}")
        result["failed"] = str(exc)
    result["wall_s"] = round(time.monotonic() - start, 1)
    return result


def write_result(result: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{result['case']}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        sys.path.insert(0, str(ROOT))
        _child(*sys.argv[2:8])
    else:
        raise SystemExit("run bench/run.py")
