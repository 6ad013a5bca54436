"""The home directory, the Parquet lake and the DuckDB catalog over it.

Layout (SPEC §2): `warehouse.duckdb` holds only views; `lake/<schema>/<table>/` holds Parquet.
Writes go to a temporary sibling directory and are swapped in by rename, so a killed run never
leaves a half-written table: readers see the old table or the new one. Catalog writes take an
exclusive file lock, so two processes sharing a home serialise instead of corrupting it; a whole
`clinfuse run` or `clinfuse ingest` holds the home's run lock (home_lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from warehouse.timerules import define_time_macros

SCHEMAS = ("raw", "cohorts", "features", "embeddings", "store", "frames", "models", "reports")
DEFAULT_SHARDS = 8
SHARDS_ENV = "CLINFUSE_SHARDS"
SHARDS_FILE = "SHARDS"  # lake/SHARDS: the subject-shard count the home's lake was built with
RUN_LOCK = "run.lock"  # <home>/run.lock: held by the one `clinfuse run` or `clinfuse ingest` using the home


class ClinfuseError(Exception):
    """An error a user can act on; the CLI prints its message as one line."""


def sql_str(value) -> str:
    """A SQL string literal (paths go into COPY/read_parquet statements; a quote in a path must not break them)."""
    return "'" + str(value).replace("'", "''") + "'"


def default_home() -> Path:
    return Path(os.environ.get("CLINFUSE_HOME", ".clinfuse"))


@dataclass(frozen=True)
class Home:
    """Everything a run produces lives under one directory, readable by its owner only."""

    root: Path

    @classmethod
    def open(cls, root: Path | str | None = None) -> Home:
        home = cls(Path(root).expanduser().resolve() if root else default_home().resolve())
        home.ensure()
        return home

    def ensure(self) -> None:
        # MIMIC is credentialed data: owner-only from the first mkdir (umask could widen it otherwise).
        for path in (self.root, self.lake, self.tmp, self.dagster, self.root / "artifacts", self.root / "reports"):
            path.mkdir(parents=True, exist_ok=True)
            os.chmod(path, 0o700)

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def dagster(self) -> Path:
        return self.root / "dagster"

    @property
    def catalog_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    def table_dir(self, schema: str, table: str) -> Path:
        return self.lake / schema / table


# ---------------------------------------------------------------- atomic table directories

def _staging(target: Path, kind: str) -> tuple[Path, str]:
    """Where the temporary and old copies of `target` live: beside it, or, for a `shard=k` folder, beside
    its table, never inside the table folder that readers glob (a hidden folder there breaks every read)."""
    if target.name.startswith("shard="):
        return target.parent.parent, f".{target.parent.name}.{target.name}.{kind}-"
    return target.parent, f".{target.name}.{kind}-"


def _staging_dir(target: Path, kind: str) -> Path:
    """A new staging name that says whose it is (`<prefix><host>-<pid>-<random>`): recovery removes only
    folders whose process is gone, never one that another live process is still writing."""
    folder, prefix = _staging(target, kind)
    return folder / f"{prefix}{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: existence only
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        pass
    return True


def _owner_alive(name: str, prefix: str) -> bool:
    """Whether the process that made staging folder `name` may still be writing it. A folder of another
    host (a shared volume) counts as alive: its process cannot be checked from here. A name without an
    owner (written before owners were recorded) counts as dead."""
    host, _, rest = name[len(prefix):].rpartition("-")[0].rpartition("-")
    if not host or not rest.isdigit():
        return False
    return host != socket.gethostname() or process_alive(int(rest))


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it replaces `target`, on failure it is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_dir(target)
    tmp = _staging_dir(target, "tmp")
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = _staging_dir(target, "old")
    if target.exists():
        os.rename(target, old)
    os.rename(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def recover_dir(target: Path) -> None:
    """Finish or undo a swap that a killed process left between its two renames, and remove the staging
    folders of processes that are gone (a live one's are its work in progress)."""
    folder, prefix = _staging(target, "old")
    leftovers = sorted(p for p in folder.glob(f"{prefix}*") if not _owner_alive(p.name, prefix))
    if not target.exists() and leftovers:
        os.rename(leftovers[-1], target)
        leftovers = leftovers[:-1]
    tmp_folder, tmp_prefix = _staging(target, "tmp")
    for path in leftovers + sorted(p for p in tmp_folder.glob(f"{tmp_prefix}*")
                                   if not _owner_alive(p.name, tmp_prefix)):
        shutil.rmtree(path, ignore_errors=True)


def parquet_glob(table_dir: Path) -> str:
    return str(table_dir / "**" / "*.parquet")


def write_parquet(
    con: duckdb.DuckDBPyConnection,
    select_sql: str,
    target: Path,
    *,
    partition_by_shard: bool = False,
    order_by: str | None = None,
    params: list | None = None,
) -> int:
    """Run `select_sql` and write its result as zstd Parquet to `target` atomically; return the row count.

    With `partition_by_shard`, rows go to `shard=<k>/data.parquet` (hive style) by the `shard` column
    that `select_sql` must produce, each shard sorted by `order_by` (default: every column), so the
    same input always gives the same bytes whatever the thread scheduling.
    """
    options = "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880"
    with atomic_dir(target) as tmp:
        if not partition_by_shard:
            order = f" ORDER BY {order_by}" if order_by else ""
            con.execute("SET preserve_insertion_order = true")  # a parallel scan must not reorder rows
            try:
                rows = con.execute(f"COPY ({select_sql}{order}) TO {sql_str(tmp / 'data.parquet')} ({options})",
                                   params or []).fetchone()[0]
            finally:
                con.execute("SET preserve_insertion_order = false")
            return rows
        # Stage 1 streams the input into unsorted shards; stage 2 sorts each shard into its final file.
        stage = tmp / ".stage"
        rows = con.execute(f"COPY ({select_sql}) TO {sql_str(stage)} ({options}, PARTITION_BY (shard))",
                           params or []).fetchone()[0]
        shard_dirs = sorted(stage.glob("shard=*")) if stage.exists() else []
        for shard_dir in shard_dirs:
            (tmp / shard_dir.name).mkdir()
            con.execute(f"COPY (SELECT * FROM read_parquet({sql_str(shard_dir / '*.parquet')}) ORDER BY {order_by or 'ALL'}) "
                        f"TO {sql_str(tmp / shard_dir.name / 'data.parquet')} ({options})")
        shutil.rmtree(stage, ignore_errors=True)
        if not shard_dirs:
            # An empty partitioned COPY writes no file; keep the schema readable with an empty file.
            con.execute(f"COPY (SELECT * FROM ({select_sql}) LIMIT 0) TO {sql_str(tmp / 'data.parquet')} "
                        f"(FORMAT parquet)", params or [])
    return rows


# ---------------------------------------------------------------- catalog

@contextlib.contextmanager
def catalog(home: Home, *, write: bool = True, timeout_s: float = 300.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to `warehouse.duckdb`. Writers hold an exclusive lock file for the duration."""
    lock_path = home.root / "warehouse.lock"
    with open(lock_path, "a+") as lock:
        _lock(lock, fcntl.LOCK_EX if write else fcntl.LOCK_SH, timeout_s, home)
        con = _connect(home.catalog_path, read_only=not write and home.catalog_path.exists())
        try:
            yield con
        finally:
            con.close()


def _lock(handle, mode: int, timeout_s: float, home: Home) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise ClinfuseError(f"{home.catalog_path}: another clinfuse process holds the catalog lock") from None
            time.sleep(0.1)


@contextlib.contextmanager
def home_lock(home: Home, what: str) -> Iterator[None]:
    """One `clinfuse run` or `clinfuse ingest` (`what`) per home at a time. A second fails at once, naming
    the first: queueing behind a run that may take hours is the user's call, not ours. The kernel drops the
    lock with its process, so a killed run never leaves the home locked. Only the CLI's own process takes
    it: the run's step processes and the runs the UI launches do not (a step would wait on its own parent);
    their staging folders are still safe from each other (recover_dir)."""
    fd = os.open(home.root / RUN_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ClinfuseError(f"another {_lock_holder(fd)} is using {home.root}; wait for it to end "
                                f"or use another --home") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{what} (pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S %Z')})".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)


def _lock_holder(fd: int) -> str:
    """What the holder of the run lock wrote about itself (it writes just after locking: give it a moment)."""
    deadline = time.monotonic() + 2.0
    while not (text := os.pread(fd, 200, 0).decode(errors="replace").strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return text or "clinfuse process"


def connect(database: str | Path = ":memory:", *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Every DuckDB connection of the project: the session time zone is pinned to UTC. Lake times are naive
    and read as UTC; DuckDB casts a time-zone-aware value (TIMESTAMPTZ, a string with an offset) to a naive
    TIMESTAMP through the session zone, which otherwise is the machine's local zone."""
    con = duckdb.connect(str(database), read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    return con


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    if read_only:
        return connect(path, read_only=True)
    con = connect(path)
    for schema in SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    return con


def engine(home: Home, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for heavy work (COPY, joins): it spills to the home's tmp, never to the catalog."""
    con = connect()
    con.execute(f"SET temp_directory = {sql_str(home.tmp)}")
    con.execute(f"SET memory_limit = {sql_str(os.environ.get('CLINFUSE_MEMORY_LIMIT', '2GB'))}")
    con.execute("SET preserve_insertion_order = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    define_time_macros(con)  # study_datetime, note_available_time: one definition for every query
    return con


def create_view(con: duckdb.DuckDBPyConnection, schema: str, name: str, table_dir: Path) -> None:
    """(Re)point `schema.name` at the Parquet files of `table_dir`."""
    hive = "true" if any(p.name.startswith("shard=") for p in table_dir.iterdir()) else "false"
    con.execute(
        f"CREATE OR REPLACE VIEW {schema}.{name} AS SELECT * FROM "
        f"read_parquet({sql_str(parquet_glob(table_dir))}, hive_partitioning = {hive}, union_by_name = true)"
    )


def publish(home: Home, schema: str, name: str) -> None:
    """Create or refresh the catalog view of a lake table."""
    with catalog(home) as con:
        create_view(con, schema, name, home.table_dir(schema, name))


def write_arrow(home: Home, schema: str, name: str, table, *, partition_by_shard: bool = False) -> int:
    """Write an in-memory Arrow table (or anything DuckDB can scan) through the one Parquet writer."""
    con = engine(home)
    try:
        con.register("frame", table)
        return write_parquet(con, "SELECT * FROM frame", home.table_dir(schema, name),
                             partition_by_shard=partition_by_shard)
    finally:
        con.close()


def write_frame(con: duckdb.DuckDBPyConnection, frame, target: Path, *, order_by: str | None = None) -> int:
    """Write a Polars/Arrow frame to `target` (one table, or one `shard=k` folder) through `write_parquet`."""
    name = f"_frame_{uuid.uuid4().hex[:8]}"
    con.register(name, frame.to_arrow() if hasattr(frame, "to_arrow") else frame)
    try:
        return write_parquet(con, f"SELECT * FROM {name}", target, order_by=order_by)
    finally:
        con.unregister(name)


def lake_views(con: duckdb.DuckDBPyConnection, home: Home,
               schemas: tuple[str, ...] = ("raw", "cohorts", "features", "embeddings")) -> None:
    """Create `schema.table` views on `con` over every lake table of `schemas` (no catalog lock needed)."""
    for schema in schemas:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        base = home.lake / schema
        if not base.is_dir():
            continue
        for table_dir in sorted(base.iterdir()):
            if table_dir.is_dir() and not table_dir.name.startswith((".", "_")) \
                    and next(table_dir.rglob("*.parquet"), None) is not None:
                create_view(con, schema, table_dir.name, table_dir)


def open_lake(home: Home, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An engine connection with `schema.table` views over the whole lake (the catalog stays unlocked)."""
    con = engine(home, threads=threads)
    lake_views(con, home)
    return con


def shard_filter(shard: int | None, shards: int, column: str = "subject_id") -> str:
    """SQL predicate selecting one subject shard (`subject_id % shards = shard`); TRUE for every shard."""
    if shard is None:
        return "TRUE"
    if not 0 <= int(shard) < int(shards):
        raise ValueError(f"shard must be in [0, {shards}), got {shard}")
    return f"{column} % {int(shards)} = {int(shard)}"


# ---------------------------------------------------------------- subject shards


def shard_count() -> int:
    """The subject-shard count of this process: $CLINFUSE_SHARDS, else 8. The Dagster partitions, `clinfuse
    run` and `clinfuse ingest` all take it from here."""
    text = os.environ.get(SHARDS_ENV, "").strip()
    if not text:
        return DEFAULT_SHARDS
    try:
        shards = int(text)
    except ValueError:
        raise ClinfuseError(f"{SHARDS_ENV}={text!r}: expected a whole number of subject shards (default "
                            f"{DEFAULT_SHARDS})") from None
    if not 1 <= shards <= 4096:
        raise ClinfuseError(f"{SHARDS_ENV}={shards}: must be between 1 and 4096")
    return shards


def _shard_index(path: Path) -> int | None:
    name = path.name
    if not name.startswith("shard="):
        return None
    try:
        return int(name[len("shard="):])
    except ValueError:
        return None


def home_shards(home: Home) -> int | None:
    """The shard count recorded in the home's lake (lake/SHARDS), None for a lake not built yet."""
    path = home.lake / SHARDS_FILE
    if not path.is_file():
        return None
    try:
        return int(path.read_text().strip())
    except ValueError:
        raise ClinfuseError(f"{path}: not a shard count; remove the file to record the current one") from None


def reshard_hint(home: Home, shards: int) -> str:
    return (f"to re-shard, remove {home.lake} and {home.catalog_path} (both are rebuilt from the sources) and "
            f"run again with {SHARDS_ENV}={shards}; to keep this lake, set {SHARDS_ENV}={home_shards(home)}")


def claim_shards(home: Home, shards: int) -> None:
    """Refuse to write `shards` subject shards into a lake built with another count (its tables would mix
    two `subject_id % n` layouts); record the count in a lake that has none yet. A lake built before the
    count was recorded is checked against its `shard=k` folders: one at k >= shards is a larger count."""
    shards = int(shards)
    recorded = home_shards(home)
    if recorded is None:
        found = [k for schema in SCHEMAS if (home.lake / schema).is_dir()
                 for table in (home.lake / schema).iterdir() if table.is_dir()
                 for k in map(_shard_index, table.iterdir()) if k is not None]
        if found and max(found) >= shards:
            recorded = max(found) + 1
    if recorded is not None and recorded != shards:
        raise ClinfuseError(f"{home.root} was built with {recorded} subject shards, this run uses {shards} "
                            f"(${SHARDS_ENV}); {reshard_hint(home, shards)}")
    if home_shards(home) is None:
        home.lake.mkdir(parents=True, exist_ok=True)
        tmp = home.lake / f".{SHARDS_FILE}.tmp-{os.getpid()}"
        tmp.write_text(f"{shards}\n")
        os.replace(tmp, home.lake / SHARDS_FILE)


def remove_stale_shards(table_dir: Path, shards: int) -> list[str]:
    """Remove what a per-shard table must not hold beside its `shard=0..shards-1` folders: folders of a
    larger count and files of a whole-table write (either would add duplicate rows to every glob)."""
    removed = []
    if not table_dir.is_dir():
        return removed
    for path in sorted(table_dir.iterdir()):
        k = _shard_index(path)
        if k is not None and 0 <= k < shards:
            continue
        if path.is_dir() and (k is not None or path.name.startswith("shard=")):
            shutil.rmtree(path)
        elif path.is_file() and path.suffix == ".parquet":
            path.unlink()
        else:
            continue
        removed.append(path.name)
    return removed


@dataclass(frozen=True)
class ShardedTable:
    """A lake table written one `shard=k` folder at a time; `order_by` sorts each shard (reproducible bytes)."""

    schema: str
    name: str
    order_by: str


@dataclass
class ShardsWritten:
    """What `write_shards` wrote: rows per table name, the build's stats per shard, the shards written."""

    rows: dict[str, int]
    stats: list[dict] = field(default_factory=list)
    shards: list[int] = field(default_factory=list)

    def total(self, key: str) -> float:
        """The sum of one stats field over the shards."""
        return sum(s.get(key) or 0 for s in self.stats)


def write_shards(
    home: Home,
    tables: Sequence[ShardedTable],
    shard_ids: Iterable[int],
    shards: int,
    build: Callable[[duckdb.DuckDBPyConnection, int], tuple[Mapping[str, object], dict]],
    *,
    threads: int | None = None,
) -> ShardsWritten:
    """The one shard loop of the per-patient assets: open the lake, and for each shard id call
    `build(con, shard)` -> ({table name: frame}, stats), write each frame (without its `shard` column, the
    folder carries it) to `<table>/shard=<k>` atomically; then drop stale shard folders and publish the views.
    A lake built with another shard count is refused (claim_shards)."""
    claim_shards(home, shards)
    for table in tables:  # first: a stale folder or file can make the table unreadable (hive mismatch)
        remove_stale_shards(home.table_dir(table.schema, table.name), shards)
    done = ShardsWritten(rows=dict.fromkeys((t.name for t in tables), 0))
    con = open_lake(home, threads=threads)
    try:
        for shard in shard_ids:
            if not 0 <= int(shard) < shards:
                raise ClinfuseError(f"shard {shard} is outside 0..{shards - 1}")
            frames, stats = build(con, int(shard))
            for table in tables:
                frame = frames[table.name]
                if "shard" in _column_names(frame):
                    frame = frame.drop(["shard"])
                target = home.table_dir(table.schema, table.name) / f"shard={int(shard)}"
                done.rows[table.name] += write_frame(con, frame, target, order_by=table.order_by)
            done.stats.append(stats)
            done.shards.append(int(shard))
    finally:
        con.close()
    for table in tables:
        publish(home, table.schema, table.name)
    return done


def _column_names(frame) -> list[str]:
    return list(frame.column_names if hasattr(frame, "column_names") else frame.columns)
