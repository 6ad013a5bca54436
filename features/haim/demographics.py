"""HAIM's 6 demographic features (reference-pipelines.md §4.4): de_0 = anchor_age (raw, not age at admission),
de_1..de_5 = integer codes of gender, race (v1.0 `ethnicity`), marital_status, language, insurance.

Codes are pandas categorical codes as HAIM computes them over its whole core table: the position of the value in
the sorted list of distinct observed strings (code-point order), NULL -> −1. The vocabularies are taken over the
WHOLE raw.hosp_patients (gender) and raw.hosp_admissions (the others) tables, never over a shard or a cohort, so
a code means the same thing in every shard and run on the same source. Both modes compute them the same way.
"""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl

from features.haim.layout import DEMOGRAPHIC_CODES

Vocabularies = dict[str, list[str]]


def demographic_vocabularies(con: duckdb.DuckDBPyConnection) -> Vocabularies:
    """column -> sorted distinct non-null strings of its whole raw table."""
    vocab = {}
    for table, column in DEMOGRAPHIC_CODES:
        values = con.execute(f"SELECT DISTINCT {column} FROM raw.{table} WHERE {column} IS NOT NULL").fetchall()
        vocab[column] = sorted(str(v[0]) for v in values)
    return vocab


def demographic_codes(frame: pl.DataFrame, vocab: Vocabularies) -> np.ndarray:
    """(n, 6) float64: anchor_age, then the code of each DEMOGRAPHIC_CODES column (−1 for NULL or unseen)."""
    exprs = [pl.col("anchor_age").cast(pl.Float64)]
    for _, column in DEMOGRAPHIC_CODES:
        mapping = {v: i for i, v in enumerate(vocab[column])}
        exprs.append(
            pl.col(column).cast(pl.String).replace_strict(mapping, default=-1, return_dtype=pl.Int64)
            .fill_null(-1).cast(pl.Float64)
        )
    # a missing anchor_age stays NaN (HAIM keeps it; its models drop such rows)
    return frame.select(exprs).to_numpy().astype(np.float64).reshape(frame.height, len(exprs))


def load_demographics(con: duckdb.DuckDBPyConnection, samples_view: str = "_haim_samples") -> pl.DataFrame:
    """sample_id, anchor_age and the five coded strings of each sample (patient row; the sample's admission)."""
    cols = ", ".join(f"a.{c}" if t == "hosp_admissions" else f"p.{c}" for t, c in DEMOGRAPHIC_CODES)
    return con.sql(
        f"SELECT s.sample_id, p.anchor_age, {cols} FROM {samples_view} AS s "
        "LEFT JOIN (SELECT * FROM raw.hosp_patients QUALIFY row_number() OVER (PARTITION BY subject_id "
        "ORDER BY anchor_year NULLS LAST) = 1) AS p ON p.subject_id = s.subject_id "
        "LEFT JOIN raw.hosp_admissions AS a ON a.subject_id = s.subject_id AND a.hadm_id = s.hadm_id"
    ).pl()
