"""Ingest of a chartevents-shaped csv.gz: clinfuse vs a bare DuckDB read_csv -> Parquet copy of the same file.

SPEC §11 goal: throughput >= 0.8 x bare copy, memory flat in file size. Both sides run in a fresh
subprocess (so peak RSS is each side's own) on the same file, side by side in one run.
Usage: python bench/bench_ingest.py [--rows 3000000 6000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "ingest.json"


def make_chartevents(path: Path, rows: int) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute(f"""
        COPY (SELECT 10000000 + (i // 4000) AS subject_id, 20000000 + (i // 4000) AS hadm_id,
                     30000000 + (i // 4000) AS stay_id, '' AS caregiver_id,
                     TIMESTAMP '2150-01-01' + to_seconds((i % 4000) * 360) AS charttime,
                     TIMESTAMP '2150-01-01' + to_seconds((i % 4000) * 360 + 60) AS storetime,
                     [220045, 220179, 220180, 220210, 220277, 223762][1 + (i % 6)] AS itemid,
                     CAST(round(60 + (hash(i) % 600) / 10.0, 1) AS VARCHAR) AS value,
                     round(60 + (hash(i) % 600) / 10.0, 1) AS valuenum, 'bpm' AS valueuom, 0 AS warning
              FROM range({rows}) t(i))
        TO '{path}' (FORMAT csv, HEADER, COMPRESSION gzip)""")


_BARE = """
import duckdb, resource, sys, time
con = duckdb.connect(); con.execute("SET preserve_insertion_order = false")
t = time.monotonic()
con.execute(f"COPY (SELECT * FROM read_csv('{sys.argv[1]}')) TO '{sys.argv[2]}' (FORMAT parquet, COMPRESSION zstd)")
print(time.monotonic() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
_CLINFUSE = """
import resource, sys, time
from pathlib import Path
from warehouse.ingest import ingest_table
from warehouse.lake import Home
from warehouse.sources import SourceLayout
from warehouse.tables import TABLES
home = Home.open(sys.argv[2])
layout = SourceLayout("mimic_iv", Path(sys.argv[1]).parent.parent, "bench", {"icu_chartevents": Path(sys.argv[1])})
t = time.monotonic()
ingest_table(home, TABLES["icu_chartevents"], layout, force=True)
print(time.monotonic() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def _side(code: str, src: Path, dest: Path) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", code, str(src), str(dest)], capture_output=True, text=True, check=True)
    seconds, rss = out.stdout.split()[-2:]
    return float(seconds), float(rss)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[2_000_000, 4_000_000])
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            src = Path(tmp) / "icu" / "chartevents.csv.gz"
            src.parent.mkdir(exist_ok=True)
            make_chartevents(src, rows)
            bare_s, bare_rss = _side(_BARE, src, Path(tmp) / "bare.parquet")
            ours_s, ours_rss = _side(_CLINFUSE, src, Path(tmp) / "home")
            runs.append({"rows": rows, "file_mb": round(src.stat().st_size / 2**20, 1),
                         "bare_s": round(bare_s, 2), "clinfuse_s": round(ours_s, 2),
                         "throughput_ratio": round(bare_s / ours_s, 2),
                         "bare_peak_rss_mb": round(bare_rss), "clinfuse_peak_rss_mb": round(ours_rss)})
            print(runs[-1], flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"benchmark": "ingest", "goal": "throughput_ratio >= 0.8, memory flat in file size",
                                   "when": time.strftime("%Y-%m-%d"), "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
