"""Writing MIMIC-style CSV files: polars formats, gzip (mtime 0) compresses, temp name then os.replace.

Compression runs on one background thread (zlib releases the GIL), so formatting the next chunk and
compressing the previous one overlap. Output bytes do not depend on the thread timing: each file's
chunks are compressed in order by the one worker.
"""

from __future__ import annotations

import gzip
import io
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import polars as pl

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"
GZIP_LEVEL = 2
_MAX_PENDING = 3  # chunks queued per file before the producer waits


def csv_bytes(df: pl.DataFrame, header: bool = True) -> bytes:
    buf = io.BytesIO()
    df.write_csv(
        buf, include_header=header, datetime_format=DATETIME_FORMAT, date_format=DATE_FORMAT,
        null_value="",
    )
    return buf.getvalue()


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


class CsvOut:
    """One output table, written in chunks (all with the same columns)."""

    def __init__(self, path: Path, columns: list[str], compress: bool, pool: ThreadPoolExecutor):
        self.path = path
        self.columns = list(columns)
        self.rows = 0
        self._pool = pool
        self._pending: list[Future] = []
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = _tmp_name(path)
        self._raw = open(self._tmp, "wb")
        self._out = (
            gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0, compresslevel=GZIP_LEVEL)
            if compress else self._raw
        )
        self._submit(",".join(_quote(c) for c in self.columns).encode() + b"\n")

    def _submit(self, data: bytes) -> None:
        while len(self._pending) >= _MAX_PENDING:
            self._pending.pop(0).result()
        self._pending.append(self._pool.submit(self._out.write, data))

    def write(self, df: pl.DataFrame) -> None:
        if df.height == 0:
            return
        if df.columns != self.columns:
            raise ValueError(f"{self.path.name}: columns {df.columns} != {self.columns}")
        self.rows += df.height
        self._submit(csv_bytes(df, header=False))

    def close(self) -> int:
        for f in self._pending:
            f.result()
        self._pending = []
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()
        os.replace(self._tmp, self.path)
        return self.rows

    def abort(self) -> None:
        try:
            for f in self._pending:
                f.cancel()
            self._raw.close()
        finally:
            self._tmp.unlink(missing_ok=True)


def _quote(name: str) -> str:
    return f'"{name}"' if ("," in name or '"' in name) else name


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
