"""`make bench`: run every case of bench/cases/ through the harness, then regenerate bench/RESULTS.md, the
README's benchmark table (between its bench markers) and the growth plot, from bench/results/*.json.

    python bench/run.py [CASE ...]          # the named cases only (default: all)
    python bench/run.py --table-only        # re-render from the existing results
    BENCH_SCALE=4 python bench/run.py       # grow every input
    BENCH_REPEATS=1 python bench/run.py     # one repetition per side (default: each case's own, mostly 3)
    BENCH_CACHE=DIR                         # where prepared inputs are kept (default: $TMPDIR/clinfuse-bench-cache)

Never fails on a slow or incomplete machine: a failed or skipped case is recorded in its JSON.
The model-signal checks (bench_signal.py, bench_m3tlm_signal.py) are not performance cases: they run by
hand and RESULTS.md lists their last results apart.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import RESULTS, ROOT, discover, machine, run_case, write_result  # noqa: E402

SIGNAL = ("signal", "m3tlm_signal")  # the model-signal scripts' results
SCRIPTS = ("bench_timeseries.py",)  # performance scripts that are not harness cases; run after the cases
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def run(names: list[str]) -> None:
    cases = discover()
    unknown = [n for n in names if n not in cases]
    if unknown:
        raise SystemExit(f"unknown case(s) {unknown}; known: {', '.join(cases)}")
    mach = machine()
    print(f"machine: {mach['cores']} cores, {mach['memory_gb']} GB, GPU {mach['gpu']}, "
          f"load {mach['load_average_at_start']}", flush=True)
    start = time.monotonic()
    for name, (module, case) in cases.items():
        if names and name not in names:
            continue
        print(f"== {name}: {case.what} ({time.monotonic() - start:.0f} s so far)", flush=True)
        mach = {**mach, "load_average_at_start": [round(x, 2) for x in __import__("os").getloadavg()]}
        print(f"   -> {write_result(run_case(module, case, mach, log=lambda m: print(m, flush=True)))}")
    for script in SCRIPTS if not names else ():
        path = ROOT / "bench" / script
        if path.is_file():
            print(f"== {script} ({time.monotonic() - start:.0f} s so far)", flush=True)
            code = subprocess.run([sys.executable, str(path)], cwd=ROOT).returncode
            if code:
                print(f"   {script} failed (exit {code}); its previous result, if any, is kept")
    print(f"all cases: {time.monotonic() - start:.0f} s")


# ---------------------------------------------------------------- rendering


def _n(x) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:,.3g}" if abs(x) < 100 else f"{x:,.0f}"
    return f"{x:,}" if isinstance(x, int) else str(x)


def _spread(s: dict) -> str:
    sec = s["seconds"]
    return f"{_n(sec['median'])} ({_n(sec['min'])}–{_n(sec['max'])})"


def _cases() -> list[dict]:
    out = []
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        if "case" in data:
            out.append(data)
    return out


def _machine_line(m: dict, load: bool = True) -> str:
    gpu = m.get("gpu") or "no GPU"
    at_start = f", load {m.get('load_average_at_start')}" if load else ""
    return (f"{m.get('cores')} cores, {m.get('memory_gb')} GB, {gpu}{at_start}; "
            f"Python {m.get('python')}, DuckDB {m.get('duckdb')}, torch {m.get('torch')}")


def _headline(r: dict) -> str:
    """One line of the summary table: the ratio, or why there is none."""
    if r.get("skipped"):
        return f"skipped: {r['skipped']}"
    if r.get("failed"):
        return f"failed: {r['failed'][:120]}"
    if r.get("ratio") is None:
        return "—"
    return f"{r['ratio']:.2f}× (CPU time {r['cpu_ratio']:.2f}×)" if r.get("cpu_ratio") is not None else f"{r['ratio']:.2f}×"


def _subject_figure(r: dict) -> str:
    if "sides" not in r:
        return ""
    s = r["sides"][r["subject"]]
    figs = s.get("figures", {})
    parts = [f"{_n(s['per_second'])} {r['unit']}/s"] if s.get("per_second") else []
    parts += [f"{k} {_n(v['median'])}" for k, v in figs.items() if k.endswith("_ms")]
    parts.append(f"peak RSS {_n(s['peak_rss_mb']['max'])} MB")
    return ", ".join(parts)


def _baseline_figure(r: dict) -> str:
    if "sides" not in r or not r.get("baseline"):
        return ""
    b = r["sides"][r["baseline"]]
    figs = b.get("figures", {})
    return ", ".join([f"{_n(b['per_second'])} {r['unit']}/s"]
                     + [f"{k} {_n(v['median'])}" for k, v in figs.items() if k.endswith("_ms")])


def summary_table(results: list[dict]) -> list[str]:
    lines = ["| case | subject | baseline | ratio (subject/baseline speed) | goal | subject | baseline |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['case']} (scale {r.get('scale', r['bench_scale']):g}) | {r['subject']} | "
                     f"{r.get('baseline') or '—'} | {_headline(r)} | {r['goal']} | {_subject_figure(r)} | "
                     f"{_baseline_figure(r)} |")
    return lines


def case_section(r: dict) -> list[str]:
    lines = [f"## {r['case']}", "", f"{r['what']}. Goal: {r['goal']}. Measured {r['when']}, BENCH_SCALE "
             f"{r['bench_scale']:g}, in {r.get('wall_s', 0):g} s; machine: {_machine_line(r['machine'])}. Peak RSS "
             "sums the process tree (pages shared by forked workers counted in each); PSS divides them.", ""]
    if r.get("skipped") or r.get("failed"):
        return [*lines, _headline(r), ""]
    lines.append("Input: " + ", ".join(f"{k} {_n(v)}" for k, v in r["input"].items()) + ".")
    if r.get("check") is not None:
        lines.append(f"Output check: {r['check']}.")
    lines += ["", "| side | seconds: median (min–max) | per second | CPU s (median) | peak RSS MB (max) | "
              "peak PSS MB (max) | other |", "|---|---|---|---|---|---|---|"]
    for label, s in r["sides"].items():
        other = "; ".join(f"{k} {_n(v['median'])} ({_n(v['min'])}–{_n(v['max'])})"
                          for k, v in s.get("figures", {}).items())
        other += "; ".join(f"{k} {v}" for k, v in s.items() if isinstance(v, str))
        cpu = _n(s["cpu_s"]["median"]) if s["cpu_s"] else "n/a"
        lines.append(f"| {label} | {_spread(s)} | {_n(s['per_second'])} {r['unit']}/s | {cpu} | "
                     f"{_n(s['peak_rss_mb']['max'])} | {_n(s.get('peak_pss_mb', {}).get('max'))} | {other} |")
    if r.get("ratio") is not None:
        lines += ["", f"Ratio {r['ratio']:.3f} ({r['ratio_definition']}; on CPU time {r.get('cpu_ratio')}), "
                      f"{s['seconds']['n']} alternating repetitions."]
    if r.get("growth"):
        lines += ["", "Growth (one repetition per side at the smaller scales):", "",
                  "| scale | " + " | ".join(f"{label} s | {label} peak RSS MB" for label in r["sides"]) + " |",
                  "|---|" + "---|---|" * len(r["sides"])]
        for g in r["growth"]:
            cells = " | ".join(f"{_n(g['sides'][k]['seconds']['median'])} | {_n(g['sides'][k]['peak_rss_mb']['max'])}"
                               for k in r["sides"])
            lines.append(f"| {g['scale']:g} ({_n(g['input'].get('items'))} {r['unit']}) | {cells} |")
    return [*lines, ""]


def other_sections() -> list[str]:
    """Results that are not harness cases: the model-signal checks, and any script's `runs` list."""
    lines = ["## Model-signal checks and other results (not harness cases)", "",
             "`bench/bench_signal.py` and `bench/bench_m3tlm_signal.py` check that the models learn from real "
             "signal and not from shuffled labels; they run by hand (minutes each). Their last results:", ""]
    for name in SIGNAL:
        if not (RESULTS / f"{name}.json").is_file():
            lines.append(f"- `{name}`: no result yet")
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        if "case" in data:
            continue
        lines += [f"### {data.get('benchmark', path.stem)} ({data.get('when', '?')})", "",
                  f"Goal: {data.get('goal') or data.get('target', 'n/a')}", ""]
        runs = data.get("runs", [])
        if runs:
            keys = [k for k, v in runs[0].items() if not isinstance(v, dict | list)]
            lines += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
            lines += ["| " + " | ".join(_n(x.get(k)) for k in keys) + " |" for x in runs]
        lines.append("")
    return lines


def _growth_points(data: dict) -> dict[str, list[tuple[float, float]]]:
    """label -> [(input size, seconds)] from a result's `growth` list. Two shapes are read: the harness's
    (input.items, sides.<label>.seconds.median) and a script's flat rows (a size: items, rows, stays or
    patients; every `seconds` or `*_seconds` number is a series)."""
    series: dict[str, list[tuple[float, float]]] = {}
    for g in data.get("growth", []):
        if "sides" in g:
            for label, side in g["sides"].items():
                series.setdefault(label, []).append((float(g["input"]["items"]), float(side["seconds"]["median"])))
            continue
        size = next((g[k] for k in ("items", "rows", "stays", "patients") if isinstance(g.get(k), int | float)), None)
        for key, value in g.items():
            if size and (key == "seconds" or key.endswith("_seconds")) and isinstance(value, int | float) and value > 0:
                series.setdefault(key, []).append((float(size), float(value)))
    return {label: sorted(pts) for label, pts in series.items() if len(pts) > 1}


def growth_plot() -> Path | None:
    """Log-log seconds against input size for every result with a `growth` list (any case, any script)."""
    found = {}
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        if _growth_points(data):
            found[data.get("case") or data.get("benchmark") or path.stem] = _growth_points(data)
    if not found:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no growth plot")
        return None
    fig, ax = plt.subplots(figsize=(7, 5))
    for case, series in found.items():
        for label, pts in series.items():
            ax.plot(*zip(*pts, strict=True), marker="o", label=f"{case}: {label}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("input size (rows, stays, items)")
    ax.set_ylabel("seconds (median)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    out = RESULTS / "growth.png"
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def write_tables() -> Path:
    results = _cases()
    plot = growth_plot()
    machines = {_machine_line(r["machine"], load=False) for r in results}
    loads = [r["machine"]["load_average_at_start"][0] for r in results if r["machine"].get("load_average_at_start")]
    lines = ["# Benchmark results", "", "Generated by `bench/run.py` from `bench/results/*.json`; do not edit by hand. "
             "Ratio: subject speed / baseline speed on the same input in the same run (1.0 is parity, above 1 the "
             "subject is faster).", "", *summary_table(results), ""]
    if plot:
        lines += [f"Growth: ![growth](results/{plot.name})", ""]
    lines += [line for r in results for line in case_section(r)]
    lines += other_sections()
    out = ROOT / "bench" / "RESULTS.md"
    out.write_text("\n".join(lines) + "\n")
    if README.is_file():
        text = README.read_text()
        if START in text and END in text:
            load = f" 1-minute load average at the start of a case {min(loads):g}–{max(loads):g}." if loads else ""
            block = [START, "", "Machine: " + " / ".join(sorted(machines)) + "." + load, "", *summary_table(results), "",
                     "Per side (median and spread, CPU time, peak RSS), the output checks and the growth runs: "
                     "[bench/RESULTS.md](bench/RESULTS.md).", "", END]
            text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda m: "\n".join(block), text, flags=re.S)
            README.write_text(text)
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--table-only" not in args:
        run([a for a in args if not a.startswith("--")])
    print(write_tables())
