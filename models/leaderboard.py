"""One table of every evaluated model x task x subset x metric, with the published figures beside it.

Rows come from metrics documents (`models.metrics.evaluate_run`); published figures (`models.published`)
sit in their own `published_*` columns, matched on (model, task, metric) to the primary published variant
of that model, null where the papers have none. Published models this project does not run, and the
non-primary variants, are listed only in the "published figures" section of the HTML / Markdown.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from models.metrics import METRICS
from models.published import NOT_COMPARABLE, PUBLISHED, published_for
from models.reports import METRIC_TITLES, is_synthetic, ordered_subsets, render

SCHEMA = pa.schema([
    ("model", pa.string()),
    ("task", pa.string()),
    ("subset", pa.string()),
    ("metric", pa.string()),
    ("value", pa.float64()),
    ("ci_low", pa.float64()),
    ("ci_high", pa.float64()),
    ("n", pa.int64()),
    ("data_source", pa.string()),
    ("synthetic", pa.bool_()),
    ("published_value", pa.float64()),
    ("published_ci_low", pa.float64()),
    ("published_ci_high", pa.float64()),
    ("published_variant", pa.string()),
    ("published_source", pa.string()),
    ("published_note", pa.string()),
])
SORT_KEY = ("model", "task", "subset", "metric")
PUBLISHED_METRICS = ("auroc", "auprc", "f1_macro", "f1_binary")  # the papers' metrics, in display order


def leaderboard_rows(docs: list[dict]) -> list[dict]:
    """One dict per (doc, subset, metric), sorted by model, task, subset, metric (stable for ties)."""
    rows = []
    for doc in docs:
        provenance = doc.get("provenance") or {}
        synthetic = is_synthetic(doc)
        for subset in ordered_subsets(doc):
            body = doc["subsets"][subset]
            for metric in METRICS:
                entry = body["metrics"].get(metric)
                if entry is None:
                    continue
                figure = published_for(doc["model"], doc["task"], metric)
                rows.append({
                    "model": doc["model"], "task": doc["task"], "subset": subset, "metric": metric,
                    "value": entry["value"], "ci_low": entry["ci_low"], "ci_high": entry["ci_high"],
                    "n": body["n"], "data_source": provenance.get("data_source"), "synthetic": synthetic,
                    "published_value": figure.value if figure else None,
                    "published_ci_low": figure.ci_low if figure else None,
                    "published_ci_high": figure.ci_high if figure else None,
                    "published_variant": figure.variant if figure else None,
                    "published_source": figure.source if figure else None,
                    "published_note": figure.note if figure else None,
                })
    return sorted(rows, key=lambda row: tuple(row[k] for k in SORT_KEY))


def leaderboard_table(docs: list[dict]) -> pa.Table:
    """The leaderboard as an Arrow table (schema `SCHEMA`), deterministic row order."""
    return pa.Table.from_pylist(leaderboard_rows(docs), schema=SCHEMA)


def _summary_rows(rows: list[dict]) -> list[dict]:
    """One row per (model, task, subset) with every metric's entry, for the compact HTML/MD table."""
    out: dict[tuple, dict] = {}
    for row in rows:
        key = (row["model"], row["task"], row["subset"])
        summary = out.setdefault(key, {"model": row["model"], "task": row["task"], "subset": row["subset"],
                                       "n": row["n"], "data_source": row["data_source"],
                                       "synthetic": row["synthetic"], "metrics": {}, "published": {},
                                       "published_from": None})
        if row["published_variant"] is not None:
            summary["published_from"] = f"{row['published_variant']}; {row['published_source']}"
        summary["metrics"][row["metric"]] = {"value": row["value"], "ci_low": row["ci_low"],
                                             "ci_high": row["ci_high"]}
        if row["published_value"] is not None:
            summary["published"][row["metric"]] = {
                "value": row["published_value"], "ci_low": row["published_ci_low"],
                "ci_high": row["published_ci_high"], "variant": row["published_variant"],
                "source": row["published_source"]}
    return list(out.values())


def _published_rows() -> list[dict]:
    """The papers' figures pivoted to one row per (model, variant, task), in the papers' order."""
    out: dict[tuple, dict] = {}
    for figure in PUBLISHED:
        key = (figure.model, figure.variant, figure.task)
        row = out.setdefault(key, {"model": figure.model, "variant": figure.variant, "task": figure.task,
                                   "subset": figure.subset, "source": figure.source, "ours": figure.ours,
                                   "primary": figure.primary, "note": figure.note, "metrics": {}})
        row["metrics"][figure.metric] = {"value": figure.value, "ci_low": figure.ci_low,
                                         "ci_high": figure.ci_high}
    return list(out.values())


def write_leaderboard(out_dir: Path, docs: list[dict]) -> dict[str, Path]:
    """leaderboard.parquet, leaderboard.md and a self-contained leaderboard.html."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = leaderboard_rows(docs)
    parquet_path = out_dir / "leaderboard.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), parquet_path)
    context = {
        "title": "clinfuse leaderboard",
        "summary": _summary_rows(rows),
        "published": _published_rows(),
        "any_synthetic": any(row["synthetic"] for row in rows),
        "not_comparable": NOT_COMPARABLE,
        "not_comparable_sentence": NOT_COMPARABLE[0].upper() + NOT_COMPARABLE[1:],
        "metric_names": list(METRICS),
        "metric_titles": METRIC_TITLES,
        "published_metrics": list(PUBLISHED_METRICS),
        "n_bootstrap": sorted({doc.get("n_bootstrap") for doc in docs if doc.get("n_bootstrap")}),
    }
    html_path = out_dir / "leaderboard.html"
    html_path.write_text(render("leaderboard.html.j2", **context), encoding="utf-8")
    md_path = out_dir / "leaderboard.md"
    md_path.write_text(render("leaderboard.md.j2", **context), encoding="utf-8")
    return {"html": html_path, "md": md_path, "parquet": parquet_path}
