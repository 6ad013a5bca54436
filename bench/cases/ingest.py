"""Ingest of a chartevents-shaped csv.gz into the lake (SPEC §11: >= 0.8x a bare DuckDB read_csv ->
Parquet copy of the same file, memory flat in file size).

Ingest does more than the bare copy: it types every column, shards by subject and sorts each shard so
that the same input always gives the same bytes. The third side, the bare copy with the same sort
(ORDER BY subject and every other column, as ingest), shows what the sort alone costs.
"""

from __future__ import annotations

from pathlib import Path

from bench.harness import Case, Side

ROWS = 20_000_000  # at BENCH_SCALE 1
_COLUMNS = ("subject_id, hadm_id, stay_id, caregiver_id, charttime, storetime, itemid, value, valuenum, "
            "valueuom, warning")


def prepare(inp: Path, at_scale: float) -> dict:
    import duckdb

    rows = int(ROWS * at_scale)
    src = inp / "icu" / "chartevents.csv.gz"
    src.parent.mkdir(parents=True)
    con = duckdb.connect()
    # 4,000 events per stay, six vital-sign items, values with one decimal: the shape of MIMIC-IV's file.
    con.execute(f"""
        COPY (SELECT 10000000 + (i // 4000) AS subject_id, 20000000 + (i // 4000) AS hadm_id,
                     30000000 + (i // 4000) AS stay_id, '' AS caregiver_id,
                     TIMESTAMP '2150-01-01' + to_seconds((i % 4000) * 360) AS charttime,
                     TIMESTAMP '2150-01-01' + to_seconds((i % 4000) * 360 + 60) AS storetime,
                     [220045, 220179, 220180, 220210, 220277, 223762][1 + (i % 6)] AS itemid,
                     CAST(round(60 + (hash(i) % 600) / 10.0, 1) AS VARCHAR) AS value,
                     round(60 + (hash(i) % 600) / 10.0, 1) AS valuenum, 'bpm' AS valueuom, 0 AS warning
              FROM range({rows}) t(i))
        TO '{src}' (FORMAT csv, HEADER, COMPRESSION gzip)""")
    return {"items": rows, "rows": rows, "file_mb": round(src.stat().st_size / 2**20, 1)}


def _src(inp: Path) -> Path:
    return inp / "icu" / "chartevents.csv.gz"


def clinfuse(inp: Path, out: Path) -> dict:
    from warehouse.ingest import ingest_table
    from warehouse.lake import Home
    from warehouse.sources import SourceLayout
    from warehouse.tables import TABLES

    home = Home.open(out / "home")
    layout = SourceLayout("mimic_iv", inp, "bench", {"icu_chartevents": _src(inp)})
    result = ingest_table(home, TABLES["icu_chartevents"], layout, force=True)
    return {"rows": result.rows}


def _bare(inp: Path, out: Path, order: str) -> dict:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET preserve_insertion_order = {'true' if order else 'false'}")
    con.execute(f"SET temp_directory = '{out / 'tmp'}'")
    rows = con.execute(f"COPY (SELECT * FROM read_csv('{_src(inp)}'){order}) TO '{out / 'bare.parquet'}' "
                       "(FORMAT parquet, COMPRESSION zstd)").fetchone()[0]
    return {"rows": rows}


def bare(inp: Path, out: Path) -> dict:
    return _bare(inp, out, "")


def bare_sorted(inp: Path, out: Path) -> dict:
    return _bare(inp, out, f" ORDER BY {_COLUMNS}")


def same_rows(inp: Path, outs: dict[str, Path]) -> str | None:
    import duckdb

    con = duckdb.connect()
    counts = {label: con.execute(f"SELECT count(*) FROM read_parquet('{path}/**/*.parquet')").fetchone()[0]
              for label, path in outs.items()}
    return None if len(set(counts.values())) == 1 else f"row counts differ: {counts}"


CASES = [Case(
    name="ingest", what="ingest of a chartevents-shaped csv.gz (typed, sharded by subject, sorted shards)",
    goal=">= 0.8 (SPEC §11); peak RSS flat in file size", unit="rows", input_key="chartevents",
    prepare=prepare, subject=Side("clinfuse ingest_table", clinfuse),
    baseline=Side("bare DuckDB read_csv -> Parquet", bare),
    others=[Side("bare copy with the same sort", bare_sorted)],
    check=same_rows, repeats=3, growth=(0.25, 0.5))]
