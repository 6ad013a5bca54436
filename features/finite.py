"""No feature table may hold NaN or ±inf: missing values are NULL (non-finite source numbers become NULL at
ingest, `warehouse.ingest.null_non_finite`), so a non-finite value in a feature is a bug upstream."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from warehouse.lake import Home

FEATURE_SCHEMAS = ("features", "embeddings")


def _floats(array: pa.Array) -> pa.Array | None:
    """The float values inside a column (lists and fixed-size arrays flattened), or None if it has none."""
    kind = array.type
    while pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        array = array.flatten()
        kind = array.type
    return array if pa.types.is_floating(kind) else None


def count_non_finite(table: pa.Table | pa.RecordBatch) -> int:
    """NaN and ±inf values in the float columns of an Arrow table (nulls are not counted)."""
    total = 0
    for column in table.columns:
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        for chunk in chunks:
            values = _floats(chunk)
            if values is not None and len(values) > values.null_count:
                finite = pc.sum(pc.is_finite(values)).as_py() or 0  # nulls are neither
                total += len(values) - values.null_count - finite
    return total


def non_finite_counts(home: Home, schemas: tuple[str, ...] = FEATURE_SCHEMAS) -> dict[str, int]:
    """`schema.table` -> number of NaN/±inf values in its float columns (lists and arrays included), for
    every materialised lake table of `schemas`. Reads one row group at a time."""
    out = {}
    for schema in schemas:
        base = home.lake / schema
        if not base.is_dir():
            continue
        for table_dir in sorted(base.iterdir()):
            if not table_dir.is_dir() or table_dir.name.startswith((".", "_")):
                continue
            files = sorted(p for p in table_dir.rglob("*.parquet") if not any(
                part.startswith(".") for part in p.relative_to(table_dir).parts))
            if not files:
                continue
            total = 0
            for path in files:
                reader = pq.ParquetFile(path)
                for group in range(reader.num_row_groups):
                    total += count_non_finite(reader.read_row_group(group))
            out[f"{schema}.{table_dir.name}"] = total
    return out
