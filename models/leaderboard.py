"""One table of every evaluated model x task x subset x metric, with the published figures beside it.

Rows come from metrics documents: a single `models.metrics.evaluate_run` doc (any kind), or a multi-head
document (`models.reports.write_multihead_report`'s metrics.json, `"kind": "multihead"`) whose every head
becomes rows. Each row names its `kind` (binary | multiclass | regression) and its `report` (the report it
came from: the multi-head document's model, e.g. `baselines_m3tlm`, else the caller's report name, else the
doc's model), so the same model x task from two frames stays apart. A subset's metrics are listed in
`models.metrics.METRIC_ORDER` (auroc, auprc, f1_macro, f1_binary, accuracy, precision, recall, nll, mae,
rmse, r2, explained_variance, silhouette), any other metric after them by name.

Published figures (`models.published`) sit in their own `published_*` columns, matched on (model, task,
metric) to the primary published variant of that model (and, for a figure bound to a report, only on rows
of that report), null where the papers have none. Published models this project does not run, and the
non-primary variants, are listed only in the "published figures" section of the HTML / Markdown.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from models.metrics import METRICS, ordered_metrics
from models.published import NOT_COMPARABLE, PUBLISHED, paper_of, published_for
from models.reports import METRIC_TITLES, is_synthetic, ordered_subsets, render

SCHEMA = pa.schema([
    ("model", pa.string()),
    ("task", pa.string()),
    ("subset", pa.string()),
    ("metric", pa.string()),
    ("kind", pa.string()),
    ("report", pa.string()),
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
SORT_KEY = ("model", "task", "subset", "metric", "report")
PUBLISHED_METRICS = ("auroc", "auprc", "f1_macro", "f1_binary")  # the binary table's columns, in display order
KIND_ORDER = ("binary", "multiclass", "regression")


def heads_of(doc: dict, report: str | None = None) -> list[tuple[dict, str, dict]]:
    """[(head doc, report name, fallback provenance)] of a single doc or a multi-head document."""
    if doc.get("kind") == "multihead":
        return [(head, doc["model"], doc.get("provenance") or {}) for head in doc.get("heads", [])]
    return [(doc, report or doc["model"], {})]


def leaderboard_rows(docs: list[dict], reports: list[str | None] | None = None) -> list[dict]:
    """One dict per (head, subset, metric), sorted by model, task, subset, metric, report (stable for ties).
    `reports`: the report name of each doc (default: a multi-head doc's model, else the doc's model)."""
    rows = []
    for doc, report in zip(docs, reports or [None] * len(docs), strict=True):
        for head, report_name, parent_provenance in heads_of(doc, report):
            provenance = head.get("provenance") or parent_provenance
            synthetic = is_synthetic(head) or is_synthetic({"provenance": parent_provenance})
            kind = head.get("kind", "binary")
            for subset in ordered_subsets(head):
                body = head["subsets"][subset]
                for metric in ordered_metrics(body["metrics"]):
                    entry = body["metrics"][metric]
                    figure = published_for(head["model"], head["task"], metric, report_name)
                    rows.append({
                        "model": head["model"], "task": head["task"], "subset": subset, "metric": metric,
                        "kind": kind, "report": report_name,
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


def leaderboard_table(docs: list[dict], reports: list[str | None] | None = None) -> pa.Table:
    """The leaderboard as an Arrow table (schema `SCHEMA`), deterministic row order."""
    return pa.Table.from_pylist(leaderboard_rows(docs, reports), schema=SCHEMA)


def _summary_rows(rows: list[dict]) -> list[dict]:
    """One row per (model, task, subset) with every metric's entry, for the compact HTML/MD table."""
    out: dict[tuple, dict] = {}
    for row in rows:
        key = (row["model"], row["task"], row["subset"], row["report"])
        summary = out.setdefault(key, {"model": row["model"], "task": row["task"], "subset": row["subset"],
                                       "kind": row["kind"], "report": row["report"],
                                       # shown only where it says more than model and task (a multi-head report)
                                       "report_label": None if row["report"] in (row["model"],
                                                                                 f"{row['model']}_{row['task']}")
                                       else row["report"],
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


def _kind_tables(summary: list[dict]) -> list[dict]:
    """Our runs as one table per kind: {kind, rows, metrics (columns), published (metrics with a figure)}.
    Binary columns are PUBLISHED_METRICS plus any other metric a matched paper reports (e.g. M3T-LM's
    accuracy / precision / recall); the other kinds show every metric they have."""
    tables = []
    for kind in [*KIND_ORDER, *sorted({row["kind"] for row in summary} - set(KIND_ORDER))]:
        rows = [row for row in summary if row["kind"] == kind]
        if not rows:
            continue
        published = ordered_metrics({m for row in rows for m in row["published"]})
        present = ordered_metrics({m for row in rows for m in row["metrics"]})
        metrics = ordered_metrics(set(PUBLISHED_METRICS) | set(published)) if kind == "binary" else present
        tables.append({"kind": kind, "rows": rows, "metrics": [m for m in metrics if m in present],
                       "published": published})
    return tables


def _published_tables() -> list[dict]:
    """The papers' figures, one table per paper with that paper's metrics."""
    rows = _published_rows()
    tables: dict[str, dict] = {}
    for row in rows:
        table = tables.setdefault(row["paper"], {"paper": row["paper"], "rows": [], "metrics": set()})
        table["rows"].append(row)
        table["metrics"] |= set(row["metrics"])
    out = []
    for table in tables.values():
        notes = Counter(row["note"] for row in table["rows"])  # ties: the first seen
        out.append({**table, "metrics": ordered_metrics(table["metrics"]), "note": notes.most_common(1)[0][0]})
    return out


def _published_rows() -> list[dict]:
    """The papers' figures pivoted to one row per (model, variant, task), in the papers' order."""
    out: dict[tuple, dict] = {}
    for figure in PUBLISHED:
        key = (figure.model, figure.variant, figure.task)
        row = out.setdefault(key, {"model": figure.model, "variant": figure.variant, "task": figure.task,
                                   "subset": figure.subset, "source": figure.source, "ours": figure.ours,
                                   "primary": figure.primary, "note": figure.note, "metrics": {},
                                   "paper": paper_of(figure), "report": figure.report})
        row["metrics"][figure.metric] = {"value": figure.value, "ci_low": figure.ci_low,
                                         "ci_high": figure.ci_high}
    return list(out.values())


def write_leaderboard(out_dir: Path, docs: list[dict], reports: list[str | None] | None = None) -> dict[str, Path]:
    """leaderboard.parquet, leaderboard.md and a self-contained leaderboard.html."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = leaderboard_rows(docs, reports)
    summary = _summary_rows(rows)
    heads = [head for doc in docs for head, _, _ in heads_of(doc)]
    parquet_path = out_dir / "leaderboard.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), parquet_path)
    context = {
        "title": "clinfuse leaderboard",
        "summary": summary,
        "kind_tables": _kind_tables(summary),
        "published": _published_rows(),
        "published_tables": _published_tables(),
        "any_synthetic": any(row["synthetic"] for row in rows),
        "not_comparable": NOT_COMPARABLE,
        "not_comparable_sentence": NOT_COMPARABLE[0].upper() + NOT_COMPARABLE[1:],
        "metric_names": list(METRICS),
        "metric_titles": METRIC_TITLES,
        "published_metrics": list(PUBLISHED_METRICS),
        "n_bootstrap": sorted({head.get("n_bootstrap") for head in heads if head.get("n_bootstrap")}),
    }
    html_path = out_dir / "leaderboard.html"
    html_path.write_text(render("leaderboard.html.j2", **context), encoding="utf-8")
    md_path = out_dir / "leaderboard.md"
    md_path.write_text(render("leaderboard.md.j2", **context), encoding="utf-8")
    return {"html": html_path, "md": md_path, "parquet": parquet_path}
