"""Progress of long work (embeddings, image tensors, training): items done of a total, the rate and the time
left. On a terminal a tqdm bar on stderr; otherwise (a log file, the Dagster UI, a pipe) a log line through
the given logger every `every_s` seconds and one at the end, so a run is never silent for minutes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

Log = Callable[[str], object]


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def on_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


class Progress:
    """`with Progress("DenseNet embeddings", total=623, unit="images", log=context.log.info) as bar:
    bar.update(64)`. `total` may grow later (`add_total`) when it is only known shard by shard.
    `bar=None` chooses by the terminal; `clock` is for tests."""

    def __init__(self, label: str, total: int | None = None, *, unit: str = "items", log: Log | None = None,
                 every_s: float = 10.0, bar: bool | None = None, clock: Callable[[], float] = time.monotonic):
        self.label, self.total, self.unit, self.log, self.every_s = label, total, unit, log, every_s
        self.done = 0
        self._clock = clock
        self._start = self._last = clock()
        self._tqdm = None
        if bar if bar is not None else on_terminal():
            from tqdm import tqdm

            self._tqdm = tqdm(total=total, desc=label, unit=f" {unit}", file=sys.stderr, dynamic_ncols=True,
                              leave=True, mininterval=0.5)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close(finished=exc[0] is None)

    def add_total(self, n: int) -> None:
        self.total = (self.total or 0) + int(n)
        if self._tqdm is not None:
            self._tqdm.total = self.total
            self._tqdm.refresh()

    def update(self, n: int = 1) -> None:
        self.done += int(n)
        if self._tqdm is not None:
            self._tqdm.update(int(n))
            return
        now = self._clock()
        finished = self.total is not None and self.done >= self.total  # the closing line says it
        if self.log is not None and now - self._last >= self.every_s and not finished:
            self._last = now
            self.log(self.line())

    def line(self) -> str:
        """`label: 120/623 images (19%), 2.1 images/s, about 4m 00s left`."""
        elapsed = max(self._clock() - self._start, 1e-9)
        rate = self.done / elapsed
        if self.total:
            text = f"{self.label}: {self.done:,}/{self.total:,} {self.unit} ({100 * self.done / self.total:.0f}%)"
        else:
            text = f"{self.label}: {self.done:,} {self.unit}"
        text += f", {rate:.1f} {self.unit}/s"
        if self.total and rate > 0 and self.done < self.total:
            text += f", about {duration((self.total - self.done) / rate)} left"
        return text

    def close(self, finished: bool = True) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
            self._tqdm = None
        elif self.log is not None and finished and self.done:
            elapsed = self._clock() - self._start
            self.log(f"{self.label}: {self.done:,} {self.unit} in {duration(elapsed)} "
                     f"({self.done / max(elapsed, 1e-9):.1f} {self.unit}/s)")


def count_rows(home, schema: str, table: str, where: str = "TRUE") -> int:
    """Rows of a lake table (0 when it is not materialised): the total of a progress bar."""
    import duckdb

    from warehouse.lake import parquet_glob, sql_str

    table_dir = Path(home.table_dir(schema, table))
    if not table_dir.is_dir() or next(table_dir.rglob("*.parquet"), None) is None:
        return 0
    con = duckdb.connect()
    try:
        return con.execute(f"SELECT count(*) FROM read_parquet({sql_str(parquet_glob(table_dir))}, "
                           f"hive_partitioning = false, union_by_name = true) WHERE {where}").fetchone()[0]
    finally:
        con.close()
