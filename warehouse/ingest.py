"""Stream MIMIC CSV files into typed Parquet in the lake and record where every row came from.

Each table is read by DuckDB with explicit column types (so a bad value is an error with its line
and column, never a silently re-typed column), mapped onto the one schema of `warehouse.tables`,
and written atomically; per-patient tables are sharded by `subject_id % N` and sorted by subject.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from warehouse.images import file_is_complete_image
from warehouse.lake import (
    DEFAULT_SHARDS,
    ClinfuseError,
    Home,
    atomic_dir,
    catalog,
    claim_shards,
    create_view,
    engine,
    parquet_glob,
    sql_str,
    write_parquet,
)
from warehouse.sources import SourceLayout, Sources, detect_all, save_sources
from warehouse.tables import CXR_IMAGES_COLUMNS, TABLES, Table

Progress = Callable[[str], None]
MANIFEST_DIR = Path(__file__).parent / "manifests"
INGEST_CODE_VERSION = "2"  # bump when the raw layout changes, so unchanged files are re-ingested (2: non-finite -> NULL)
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


@dataclass
class TableResult:
    """One row of `raw.sources`: a table, the file it came from, and what was checked."""

    table: str
    source: str
    path: str | None
    size_bytes: int | None
    sha256: str | None
    rows: int
    checksum: str | None  # ok | mismatch | not listed | None (no SHA256SUMS.txt)
    expected_rows: int | None  # from the release manifest
    release: str | None
    status: str  # ingested | unchanged | absent
    fingerprint: str = ""
    nonfinite_values: int = 0  # NaN, inf, -inf (and overflows such as 1e309) stored as NULL

    @property
    def manifest_ok(self) -> bool:
        return self.expected_rows is None or self.expected_rows == self.rows


@dataclass
class IngestReport:
    results: list[TableResult]
    unknown_files: list[str]
    layouts: dict[str, SourceLayout]

    @property
    def checksum_mismatches(self) -> list[TableResult]:
        return [r for r in self.results if r.checksum == "mismatch"]

    @property
    def manifest_mismatches(self) -> list[TableResult]:
        return [r for r in self.results if not r.manifest_ok]


# ---------------------------------------------------------------- file helpers

def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_checksums(root: Path) -> dict[str, str] | None:
    """SHA256SUMS.txt beside a source: relative path -> expected hex digest (None when absent)."""
    sums = root / "SHA256SUMS.txt"
    if not sums.is_file():
        return None
    out = {}
    for line in sums.read_text().splitlines():
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2:
            out[parts[1].lstrip("*").removeprefix("./")] = parts[0].lower()
    return out


def load_manifest(release: str) -> dict[str, int]:
    path = MANIFEST_DIR / f"{release}.json"
    return json.loads(path.read_text())["rows"] if path.is_file() else {}


def read_header(path: Path) -> list[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", newline="") as f:
            line = f.readline()
    except (OSError, EOFError, zlib.error) as exc:
        raise ClinfuseError(f"{path}: cannot read the header: corrupt or truncated gzip ({exc})") from None
    if not line.strip():
        raise ClinfuseError(f"{path}: empty file (no header line)")
    return [name.strip().strip('"') for name in line.rstrip("\r\n").split(",")]


def _normalise(table: Table, header: list[str], path: Path) -> list[str]:
    """Map the file's column names onto the schema's: case-insensitive, version renamings absorbed."""
    by_lower = {c.name.lower(): c.name for c in table.columns}
    names = []
    for raw in header:
        lower = raw.lower()
        lower = table.renames.get(lower, lower)
        names.append(by_lower.get(lower, lower))
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ClinfuseError(f"{path}: duplicate column {sorted(dupes)[0]!r} in the header")
    missing = [c.name for c in table.columns if not c.optional and c.name not in names]
    if missing:
        raise ClinfuseError(f"{path}: missing column {missing[0]!r}"
                            + (f" (and {len(missing) - 1} more: {', '.join(missing[1:4])})" if len(missing) > 1 else ""))
    return names


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select_sql(table: Table, names: list[str] | None, source_sql: str, shards: int) -> str:
    """The typed SELECT over a CSV scan (or, with names=None, an empty typed relation)."""
    present = set(names or [])
    parts = []
    for col in table.columns:
        if col.name in present:
            expr = _quote(col.name)
            if col.dtype == "DATE":
                expr = f"CAST({expr} AS DATE)"
        else:
            expr = f"CAST(NULL AS {col.dtype})"
        parts.append(f"{expr} AS {_quote(col.name)}")
    known = {c.name for c in table.columns}
    parts += [_quote(n) for n in (names or []) if n not in known]  # keep unexpected columns, never drop data
    if table.per_patient:
        parts.append(f"CAST(subject_id % {shards} AS INTEGER) AS shard")
    select = f"SELECT {', '.join(parts)} FROM {source_sql}"
    return select if names is not None else select + " LIMIT 0"


def _csv_scan(table: Table, names: list[str], path: Path) -> str:
    types = {c.name: c.dtype for c in table.columns}
    # DATE columns are read as TIMESTAMP so that '2180-07-23' and '2180-07-23 00:00:00' both parse.
    columns = {n: ("TIMESTAMP" if types.get(n) == "DATE" else types.get(n, "VARCHAR")) for n in names}
    cols = ", ".join(f"'{n.replace(chr(39), chr(39) * 2)}': '{t}'" for n, t in columns.items())
    # Only free-text notes need long records; a large line buffer costs ~40 % throughput elsewhere.
    line_size = ", max_line_size = 33554432" if table.source == "mimic_note" else ""
    return (
        f"read_csv({sql_str(path)}, header = true, auto_detect = false, delim = ',', quote = '\"', "
        f"escape = '\"', nullstr = '', strict_mode = true{line_size}, columns = {{{cols}}})"
    )


_LINE = re.compile(r"Line:\s*(\d+)")  # DuckDB counts CSV records (header = 1), not physical lines
_COLUMN = re.compile(r'column "?([^".\s]+)"?', re.IGNORECASE)
_CONVERT = re.compile(r"(Could not convert string \"[^\"]{0,40}\"? to '?\w+'?)")


def explain_duckdb_error(path: Path, exc: Exception) -> ClinfuseError:
    """One line naming the file, and the line and column where DuckDB says (no row contents: no PHI)."""
    text = str(exc)
    if "gzip" in text.lower() or "zlib" in text.lower() or "inflate" in text.lower():
        return ClinfuseError(f"{path}: corrupt or truncated gzip file")
    where = []
    if m := _LINE.search(text):
        where.append(f"record {m.group(1)}")
    if m := _COLUMN.search(text):
        where.append(f"column {m.group(1)!r}")
    if "Expected Number of Columns" in text:
        reason = "wrong number of fields (malformed row)"
    elif m := _CONVERT.search(text):
        reason = m.group(1).replace("string ", "value ")
    elif "unterminated quote" in text.lower() or "quote" in text.lower():
        reason = "unterminated quoted field"
    else:
        reason = text.splitlines()[0][:200]
    return ClinfuseError(f"{path}: {', '.join(where) + ': ' if where else ''}{reason}")


# ---------------------------------------------------------------- one table

def _fingerprint(table: Table, sha: str | None, shards: int) -> str:
    spec = json.dumps([INGEST_CODE_VERSION, shards, sha, [asdict(c) for c in table.columns]])
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def _record_path(home: Home, table: str) -> Path:
    return home.lake / "raw" / "_records" / f"{table}.json"


def previous_result(home: Home, table: str) -> TableResult | None:
    path = _record_path(home, table)
    if not path.is_file():
        return None
    return TableResult(**json.loads(path.read_text()))


def _save_record(home: Home, result: TableResult) -> None:
    path = _record_path(home, result.table)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(result), indent=1))
    os.replace(tmp, path)


def ingest_table(
    home: Home,
    table: Table,
    layout: SourceLayout | None,
    *,
    shards: int = DEFAULT_SHARDS,
    force: bool = False,
    con: duckdb.DuckDBPyConnection | None = None,
) -> TableResult:
    """Write `lake/raw/<table>/` from the source file (or an empty typed table when the source lacks it)."""
    claim_shards(home, shards)
    path = layout.files.get(table.name) if layout else None
    target = home.table_dir("raw", table.name)
    release = layout.release if layout else None
    own = con is None
    con = con or engine(home)
    try:
        if path is None:
            rows = write_parquet(con, _select_sql(table, None, "(SELECT 1)", shards), target,
                                 partition_by_shard=table.per_patient)
            result = TableResult(table.name, table.source, None, None, None, rows, None, None, release, "absent",
                                 _fingerprint(table, None, shards))
        else:
            result = _ingest_file(home, con, table, layout, path, target, shards, force)
    finally:
        if own:
            con.close()
    _save_record(home, result)
    return result


def _ingest_file(home, con, table, layout, path, target, shards, force) -> TableResult:
    size = path.stat().st_size
    sha = sha256_file(path)
    sums = read_checksums(layout.root)
    rel = path.relative_to(layout.root).as_posix()
    checksum = None if sums is None else ("not listed" if rel not in sums else ("ok" if sums[rel] == sha else "mismatch"))
    expected = load_manifest(layout.release).get(table.name)
    fingerprint = _fingerprint(table, sha, shards)
    prev = previous_result(home, table.name)
    if not force and prev and prev.fingerprint == fingerprint and target.is_dir():
        return TableResult(table.name, table.source, str(path), size, sha, prev.rows, checksum, expected,
                           layout.release, "unchanged", fingerprint, prev.nonfinite_values)
    names = _normalise(table, read_header(path), path)
    select = _select_sql(table, names, _csv_scan(table, names, path), shards)
    others = [_quote(n) for n in names if n != "subject_id"]
    order_by = ", ".join(["subject_id", *others]) if table.per_patient else None
    try:
        rows = write_parquet(con, select, target, partition_by_shard=table.per_patient, order_by=order_by)
    except duckdb.Error as exc:
        raise explain_duckdb_error(path, exc) from None
    nonfinite = null_non_finite(con, table, target, order_by)
    return TableResult(table.name, table.source, str(path), size, sha, rows, checksum, expected,
                       layout.release, "ingested", fingerprint, nonfinite)


def null_non_finite(con: duckdb.DuckDBPyConnection, table: Table, target: Path, order_by: str | None) -> int:
    """NaN, inf, -inf and overflowing numbers (1e309) in a float column become NULL here, at ingest, and
    nowhere else: every layer above sees finite values or NULL. Returns how many were replaced.

    Counted on the written Parquet (a columnar scan of the float columns); the rare table that has any is
    rewritten, so the CSV is read once."""
    columns = [_quote(c.name) for c in table.columns if c.dtype in FLOAT_TYPES]
    if not columns:
        return 0
    scan = (f"read_parquet({sql_str(parquet_glob(target))}, "
            f"hive_partitioning = {'true' if table.per_patient else 'false'})")
    counts = con.execute(f"SELECT {', '.join(f'count(*) FILTER (NOT isfinite({c}))' for c in columns)} "
                         f"FROM {scan}").fetchone()
    total = int(sum(counts))
    if total:
        finite = ", ".join(f"CASE WHEN isfinite({c}) THEN {c} END AS {c}" for c in columns)
        write_parquet(con, f"SELECT * REPLACE ({finite}) FROM {scan}", target,
                      partition_by_shard=table.per_patient, order_by=order_by)
    return total


# ---------------------------------------------------------------- chest X-ray image files

def _probe_image(path: str) -> tuple[int, bool]:
    """Size and readability: a complete image by decoding (warehouse.images; a plain JPEG by its markers)."""
    try:
        size = os.path.getsize(path)
        return size, file_is_complete_image(path, size)
    except OSError:
        return 0, False


def ingest_cxr_images(home: Home, layout: SourceLayout | None, shards: int = DEFAULT_SHARDS) -> TableResult:
    """`raw.cxr_images`: every files/pXX/pSUBJECT/sSTUDY/DICOM.jpg with its size and a readable flag."""
    claim_shards(home, shards)
    paths: list[str] = []
    if layout and layout.images_dir:
        for dirpath, _dirs, names in os.walk(layout.images_dir):
            paths += [os.path.join(dirpath, n) for n in names if n.lower().endswith(".jpg")]
    paths.sort()
    with ThreadPoolExecutor(max_workers=8) as pool:
        probes = list(pool.map(_probe_image, paths, chunksize=256))
    parts = [Path(p).parts for p in paths]
    subject = [int(p[-3][1:]) if p[-3][1:].isdigit() else None for p in parts]
    arrays = {
        "dicom_id": pa.array([Path(p).stem for p in paths], pa.string()),
        "subject_id": pa.array(subject, pa.int64()),
        "study_id": pa.array([int(p[-2][1:]) if p[-2][1:].isdigit() else None for p in parts], pa.int64()),
        "path": pa.array(paths, pa.string()),
        "size_bytes": pa.array([s for s, _ in probes], pa.int64()),
        "readable": pa.array([ok for _, ok in probes], pa.bool_()),
        "shard": pa.array([s % shards if s is not None else None for s in subject], pa.int32()),
    }
    assert list(arrays)[:-1] == [c.name for c in CXR_IMAGES_COLUMNS]
    table = pa.table(arrays)
    target = home.table_dir("raw", "cxr_images")
    with atomic_dir(target) as tmp:
        pq.write_table(table, tmp / "data.parquet", compression="zstd")
    result = TableResult("cxr_images", "mimic_cxr", str(layout.images_dir) if layout and layout.images_dir else None,
                         None, None, table.num_rows, None, None, layout.release if layout else None,
                         "ingested" if layout and layout.images_dir else "absent")
    _save_record(home, result)
    return result


# ---------------------------------------------------------------- the sources table and views

def write_sources(home: Home) -> int:
    """`raw.sources` from the per-table records: file, size, sha256, rows, checksum and manifest results."""
    records = sorted((home.lake / "raw" / "_records").glob("*.json"))
    rows = [json.loads(p.read_text()) for p in records]
    schema = pa.schema([("table", pa.string()), ("source", pa.string()), ("path", pa.string()),
                        ("size_bytes", pa.int64()), ("sha256", pa.string()), ("rows", pa.int64()),
                        ("checksum", pa.string()), ("expected_rows", pa.int64()), ("release", pa.string()),
                        ("status", pa.string())])
    table = pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema)
    with atomic_dir(home.table_dir("raw", "sources")) as tmp:
        pq.write_table(table, tmp / "data.parquet", compression="zstd")
    return table.num_rows


def publish_raw(home: Home, names: list[str]) -> None:
    with catalog(home) as con:
        for name in names:
            create_view(con, "raw", name, home.table_dir("raw", name))


def ingest(
    home: Home,
    sources: Sources,
    *,
    shards: int = DEFAULT_SHARDS,
    force: bool = False,
    progress: Progress = lambda msg: None,
) -> IngestReport:
    """Ingest every known table of the given sources into `raw.*` (absent optional tables become empty)."""
    claim_shards(home, shards)
    layouts = detect_all(sources)
    for layout in layouts.values():
        progress(f"{layout.kind}: {layout.root} (release {layout.release}, {len(layout.files)} tables)")
    # Check every header before writing anything, so a missing column cannot leave a half-updated lake.
    for layout in layouts.values():
        for name, path in layout.files.items():
            _normalise(TABLES[name], read_header(path), path)
    results = []
    con = engine(home)
    try:
        for table in TABLES.values():
            start = time.monotonic()
            result = ingest_table(home, table, layouts.get(table.source), shards=shards, force=force, con=con)
            results.append(result)
            if result.status != "absent":
                progress(f"  raw.{table.name:<28} {result.rows:>12,} rows  {result.status}"
                         f" ({time.monotonic() - start:.1f}s)")
    finally:
        con.close()
    results.append(ingest_cxr_images(home, layouts.get("mimic_cxr"), shards))
    write_sources(home)
    publish_raw(home, [*TABLES, "cxr_images", "sources"])
    save_sources(home, sources)
    unknown = [str(p) for layout in layouts.values() for p in layout.unknown_files]
    return IngestReport(results, unknown, layouts)


def schema_problems(home: Home, table: Table) -> list[str]:
    """Differences between a lake table and the registry schema (empty when they agree)."""
    con = engine(home)
    try:
        found = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({sql_str(parquet_glob(home.table_dir('raw', table.name)))}, "
            f"hive_partitioning = false, union_by_name = true)"
        ).fetchall()
    finally:
        con.close()
    types = {name: dtype for name, dtype, *_ in found}
    problems = [f"column {c.name!r} missing" for c in table.columns if c.name not in types]
    problems += [f"column {c.name!r} is {types[c.name]}, expected {c.dtype}"
                 for c in table.columns if c.name in types and types[c.name] != c.dtype]
    return problems
