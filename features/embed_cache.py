"""A persistent cache of derived items in the home's lake: each item is embedded (or an image decoded) once per
identity of what derives it.

Layout: `lake/cache/<name>/<identity hash>/shard=<k>/part-<id>.parquet` (plus `identity.json`, the readable
identity the folder's name hashes). An identity is everything the vectors depend on besides the item
itself: the model, its weights' content digest, the input variant, library and embedding-code versions. A
changed identity is a new folder, so an old entry can never be returned for another model. Rows hold the
item's key columns (e.g. dicom_id + the sha256 of the exact input tensor, or the sha256 of a chunk's text)
and its vector columns.

Writes are append-only: a shard's new entries go to a new file written under a hidden temporary name and
renamed into place, so a killed or failed write leaves no partial file that a reader could see (a leftover
temporary name is never read, and removed by a later write once it is an hour old). Past COMPACT_AT files a
shard's files are merged into one. Lookups are one Polars join per shard, never a loop over rows; if
a key is present twice (two runs appended it at once), the first file in name order wins.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

import polars as pl

from warehouse.lake import Home, connect

CACHE_DIR = "cache"
COMPACT_AT = 32  # files per shard folder before they are merged into one
STALE_TMP_S = 3600.0  # a temporary file this old belongs to a writer that died


@lru_cache(maxsize=64)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_digest(paths: Iterable[str | os.PathLike]) -> str:
    """sha256 over the named files' names and contents (symlinks followed); once per process per file version,
    so a run hashes a weights file once however many shards it embeds."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        real = path.resolve()
        info = real.stat()
        digest.update(f"{path.name}\0{_file_sha256(str(real), info.st_size, info.st_mtime_ns)}\0".encode())
    return digest.hexdigest()


def content_sha256(frame: pl.DataFrame, column: str) -> pl.Series:
    """sha256 (hex) of every value of a String or Binary column, in row order (DuckDB; no Python row loop)."""
    con = connect()  # a fresh connection keeps insertion order
    try:
        con.register("frame", frame.select(column).to_arrow())
        return con.sql(f"SELECT sha256({column}) AS sha FROM frame").pl()["sha"]
    finally:
        con.close()


class EmbeddingCache:
    """The entries of one model identity; `key` names the columns that identify an item."""

    def __init__(self, home: Home, name: str, identity: dict, key: list[str], vectors: list[str]):
        text = json.dumps(identity, sort_keys=True, default=str)
        self.identity = identity
        self.key, self.vectors = list(key), list(vectors)
        self.root = home.lake / CACHE_DIR / name / hashlib.sha256(text.encode()).hexdigest()[:16]
        self.root.mkdir(parents=True, exist_ok=True)
        label = self.root / "identity.json"
        if not label.is_file():
            _atomic_write(label, lambda tmp: tmp.write_text(text + "\n"))

    def shard_dir(self, shard: int) -> Path:
        return self.root / f"shard={int(shard)}"

    def files(self, shard: int) -> list[Path]:
        folder = self.shard_dir(shard)
        return sorted(folder.glob("*.parquet")) if folder.is_dir() else []

    def lookup(self, shard: int, keys: pl.DataFrame) -> pl.DataFrame | None:
        """`keys` (the key columns) with the vector columns joined on, null where the item is not cached;
        row order kept. None when the shard has no entry at all."""
        files = self.files(shard)
        if not files:
            return None
        wanted = keys.lazy().select(self.key).unique()
        found = (pl.scan_parquet(files, include_file_paths="_file")
                 .join(wanted, on=self.key, how="semi")
                 .sort("_file").unique(subset=self.key, keep="first", maintain_order=True)
                 .select(*self.key, *self.vectors).collect())
        return keys.join(found, on=self.key, how="left", maintain_order="left")

    def append(self, shard: int, entries: pl.DataFrame) -> None:
        """Add `entries` (key and vector columns) as one new file of the shard; merge the files past COMPACT_AT."""
        if entries.height == 0:
            return
        folder = self.shard_dir(shard)
        folder.mkdir(parents=True, exist_ok=True)
        frame = entries.select(*self.key, *self.vectors)
        _atomic_write(folder / f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet",
                      lambda tmp: frame.write_parquet(tmp, compression="zstd"))
        _remove_stale_tmp(folder)
        files = self.files(shard)
        if len(files) > COMPACT_AT:
            self.compact(shard, files)

    def compact(self, shard: int, files: list[Path]) -> None:
        """Merge `files` into one (first entry per key kept), then remove them: a reader sees the old files, or
        the merged file beside them (duplicate keys, resolved by lookup), never a partial file."""
        merged = (pl.scan_parquet(files, include_file_paths="_file").sort("_file")
                  .unique(subset=self.key, keep="first", maintain_order=True)
                  .select(*self.key, *self.vectors).collect())
        # the merged file sorts before every later append: its entries stay the first of their key
        _atomic_write(files[-1].with_name(files[-1].stem + "-merged.parquet"),
                      lambda tmp: merged.write_parquet(tmp, compression="zstd"))
        for path in files:
            path.unlink(missing_ok=True)


def embed_cached(
    cache: EmbeddingCache | None,
    shard: int,
    keys: pl.DataFrame,
    embed: Callable[[pl.Series], pl.DataFrame],
) -> tuple[pl.DataFrame, dict]:
    """The vector columns for every row of `keys`, in row order, and {cache_hits, cache_misses}.

    `embed(mask)` returns the vector columns of the rows where `mask` is true (in order); it runs once, on the
    first row of each key the cache does not hold (of each key, without a cache), and not when the cache holds
    every row. For empty
    `keys` it gets an empty mask and must return empty columns without loading a model."""
    found = cache.lookup(shard, keys) if cache is not None else None
    miss = pl.Series([True] * keys.height, dtype=pl.Boolean) if found is None else found[cache.vectors[0]].is_null()
    misses = int(miss.sum())
    if misses == 0 and found is not None:
        return found.select(cache.vectors), {"cache_hits": keys.height, "cache_misses": 0}
    # a key held by several missed rows (one chunk text in two notes) is embedded once and every copy gets that
    # vector, the one the cache returns later: otherwise batch-dependent CPU kernels would make the copies
    # differ in the last float bits, and a cached rebuild would not equal this build (nor one without cache)
    first = miss & keys.select(pl.struct(keys.columns).is_first_distinct()).to_series()
    unique = embed(first)
    if cache is not None:
        cache.append(shard, pl.concat([keys.filter(first), unique], how="horizontal"))
    copies = keys.filter(miss).with_row_index("_m").join(
        keys.filter(first).with_row_index("_u"), on=keys.columns, how="left").sort("_m")["_u"]
    new = unique[copies]
    if misses == keys.height:
        return new, {"cache_hits": 0, "cache_misses": misses}
    rows = pl.Series("_row", range(keys.height), pl.UInt32)
    hits = found.filter(~miss).select(cache.vectors).with_columns(rows.filter(~miss))
    vectors = pl.concat([hits, new.with_columns(rows.filter(miss))]).sort("_row").drop("_row")
    return vectors, {"cache_hits": keys.height - misses, "cache_misses": misses}


def cache_metadata(written, use_cache: bool, model_loaded: bool | None = None) -> dict:
    """A cached asset's metadata on the cache, from its shards' stats (a warehouse.lake.ShardsWritten);
    `model_loaded` for the assets that load a model."""
    meta = {"cache_hits": int(written.total("cache_hits")), "cache_misses": int(written.total("cache_misses")),
            "use_cache": use_cache}
    return meta if model_loaded is None else meta | {"model_loaded": model_loaded}


def _atomic_write(target: Path, write: Callable[[Path], object]) -> None:
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")  # hidden: no reader's glob matches it
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove_stale_tmp(folder: Path) -> None:
    cutoff = time.time() - STALE_TMP_S
    for path in folder.glob(".*.tmp-*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass
