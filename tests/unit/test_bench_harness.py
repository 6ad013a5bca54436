"""The benchmark harness (bench/harness.py): sides alternate in fresh processes on one prepared input, the
ratio is subject speed / baseline speed, peak RSS counts the side's own children, and a failing side or a
missing prerequisite is recorded, never raised."""

from __future__ import annotations

import json
import textwrap

import pytest

from bench import harness

CASE_MODULE = textwrap.dedent('''
    import subprocess, sys, time
    from pathlib import Path
    from bench.harness import Case, Side

    def prepare(inp, at_scale):
        (inp / "n.txt").write_text(str(int(1000 * at_scale)))
        return {"items": int(1000 * at_scale)}

    def log(inp, out, label):
        with open(inp / "order.txt", "a") as f:
            f.write(label + "\\n")

    def slow(inp, out):
        log(inp, out, "slow")
        time.sleep(0.6)

    def fast(inp, out):
        log(inp, out, "fast")
        time.sleep(0.1)

    def hungry(inp, out):
        log(inp, out, "hungry")
        # a child holding about 300 MB for half a second (the PSS sampler looks every 100 ms): the side's
        # peak RSS and PSS must include it
        subprocess.run([sys.executable, "-c", "import time; b = bytearray(300 * 2**20); "
                        "b[::4096] = b'x' * len(b[::4096]); time.sleep(0.5)"], check=True)

    def broken(inp, out):
        raise ValueError("boom")

    CASES = [
        Case(name="toy", what="toy", goal=">= 1", unit="items", input_key="toy", prepare=prepare,
             subject=Side("fast", fast), baseline=Side("slow", slow), others=[Side("hungry", hungry)], repeats=2),
        Case(name="toy_broken", what="toy", goal="-", unit="items", input_key="toy", prepare=prepare,
             subject=Side("broken", broken)),
        Case(name="toy_skipped", what="toy", goal="-", unit="items", input_key="toy", prepare=prepare,
             subject=Side("fast", fast), requires=lambda: "no GPU"),
    ]
''')


@pytest.fixture
def toy(tmp_path, monkeypatch):
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "toy_cases.py").write_text(CASE_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "mods"))
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("BENCH_SCALE", "2")
    import toy_cases

    return {c.name: c for c in toy_cases.CASES}, tmp_path / "cache"


def test_sides_alternate_on_one_input_and_the_ratio_is_speed(toy):
    cases, cache = toy
    machine = {"cores": 2}
    result = harness.run_case("toy_cases", cases["toy"], machine, log=lambda m: None)
    assert result["bench_scale"] == 2 and result["input"]["items"] == 2000
    assert (cache / "toy-scale2" / "order.txt").read_text().split() == ["fast", "slow", "hungry"] * 2
    fast, slow = result["sides"]["fast"], result["sides"]["slow"]
    assert fast["seconds"]["n"] == 2 and fast["seconds"]["min"] <= fast["seconds"]["median"] <= fast["seconds"]["max"]
    assert result["ratio"] == pytest.approx(slow["seconds"]["median"] / fast["seconds"]["median"], rel=1e-2)
    assert result["ratio"] > 2
    hungry = result["sides"]["hungry"]
    assert hungry["peak_rss_mb"]["min"] > 200 > fast["peak_rss_mb"]["max"]  # its child counts
    assert hungry["peak_pss_mb"]["max"] > 200 > fast["peak_pss_mb"]["max"]
    json.dumps(result)


def test_a_failing_side_and_a_missing_prerequisite_are_recorded(toy):
    cases, _ = toy
    broken = harness.run_case("toy_cases", cases["toy_broken"], {}, log=lambda m: None)
    assert "boom" in broken["failed"]
    assert harness.run_case("toy_cases", cases["toy_skipped"], {}, log=lambda m: None)["skipped"] == "no GPU"


def test_every_case_module_loads_without_heavy_imports():
    """Discovery imports each case module in the harness's own process: torch must stay out of it, so
    that a forked side's RSS is its own."""
    import subprocess
    import sys

    code = ("import sys; from bench.harness import discover; cases = discover(); "
            "print(len(cases), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=harness.ROOT).stdout.split()
    assert int(out[0]) >= 10 and out[1] == "False"
