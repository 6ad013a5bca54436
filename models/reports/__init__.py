"""Evaluation reports: metrics.json, PNG plots, report.md and one self-contained report.html per run.

`write_report(out_dir, doc, run)` writes the files of one model x task run from the document that
`models.metrics.evaluate_run(run)` built (the raw predictions in `run` are only needed for the ROC/PR curves).
HTML and Markdown come from the Jinja2 templates in `templates/`; the HTML embeds every plot as a base64 data
URI and uses inline CSS only, so the file opens anywhere without network access.
"""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from pathlib import Path

import jinja2

from models.metrics import METRICS, EvalRun, primary_subset
from models.reports import plots

TEMPLATE_DIR = Path(__file__).parent / "templates"
PLOT_FILES: dict[str, str] = {
    "roc": "roc.png", "pr": "pr.png", "calibration": "calibration.png", "confusion": "confusion.png",
    "robustness": "robustness.png", "training": "training.png",
}
PLOT_TITLES: dict[str, str] = {
    "roc": "ROC curves", "pr": "Precision-recall curves", "calibration": "Reliability (calibration) curves",
    "confusion": "Confusion matrices at the 0.5 threshold", "robustness": "Robustness to test-time noise",
    "training": "Training history",
}
SUBSET_TITLES: dict[str, str] = {
    "test_partial": "PARTIAL test set: every test ICU stay, with or without a chest X-ray",
    "test_paired": "PAIRED test set: the test stays that have a chest X-ray",
    "test_images": "test set: every test chest X-ray image (one row per image; the images of one patient are "
                   "not independent, so the intervals are somewhat too narrow)",
    "val_partial": "PARTIAL validation set",
    "val_paired": "PAIRED validation set",
}
METRIC_TITLES: dict[str, str] = {
    "auroc": "AUROC", "auprc": "AUPRC", "f1_macro": "Macro F1", "f1_binary": "Binary F1",
    "accuracy": "Accuracy", "precision": "Precision", "recall": "Recall",
}
MODE_TEXT: dict[str, str] = {
    "fixed": "the project's corrected defaults: units read from valueuom, outlier ranges applied, "
             "a normaliser fitted on this run's training split, images and notes strictly before the "
             "prediction time, subject-level splits and the missing-image token masked",
    "faithful": "reproduces the reference code's behaviour, documented bugs included, so that results can be "
                "compared with the published ones; not the recommended setting for new work",
}
PROVENANCE_KEYS: tuple[str, ...] = (
    "data_source", "synthetic", "split_sizes", "seed", "code_version", "build_settings", "weights_sources",
    "mode", "mode_description", "checkpoint_fingerprint",
)


# ----------------------------------------------------------------------------------------------------------
# rendering helpers


def _num(value, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ci(entry, digits: int = 3) -> str:
    """'0.857 (0.842–0.871)' from {value, ci_low, ci_high}; '—' when undefined."""
    if not entry or entry.get("value") is None:
        return "—"
    text = _num(entry["value"], digits)
    if entry.get("ci_low") is not None and entry.get("ci_high") is not None:
        text += f" ({_num(entry['ci_low'], digits)}–{_num(entry['ci_high'], digits)})"
    return text


def _md(value) -> str:
    """Text safe inside a Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(num=_num, ci=_ci, md=_md)
    return env


def render(template: str, **context) -> str:
    """Render one of the package's templates (HTML ones autoescaped)."""
    return environment().get_template(template).render(**context)


def data_uri(png: bytes | Path) -> str:
    raw = Path(png).read_bytes() if isinstance(png, Path) else png
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def metrics_json(doc: dict) -> str:
    """The metrics document as written to metrics.json (sorted keys, 2-space indent)."""
    return json.dumps(doc, sort_keys=True, indent=2, allow_nan=False) + "\n"


def ordered_subsets(doc: dict) -> list[str]:
    """test_partial, test_paired, then the others by name."""
    known = [name for name in SUBSET_TITLES if name in doc["subsets"]]
    return known + sorted(set(doc["subsets"]) - set(known))


def _flatten(value, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        rows: list[tuple[str, str]] = []
        for key in sorted(value):
            rows += _flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(value, list):
        return [(prefix, ", ".join(_plain(v) for v in value))]
    return [(prefix, _plain(value))]


def _plain(value) -> str:
    """A provenance value as recorded (floats without forced decimals)."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def is_synthetic(doc: dict) -> bool:
    provenance = doc.get("provenance") or {}
    if provenance.get("synthetic") is not None:
        return bool(provenance["synthetic"])
    return "synth" in str(provenance.get("data_source", "")).lower()


# ----------------------------------------------------------------------------------------------------------
# plots


def write_plots(out_dir: Path, doc: dict, run: EvalRun | None) -> dict[str, Path]:
    """The six PNGs of a report; a plot without data gets a placeholder with the reason."""
    out_dir = Path(out_dir)
    names = ordered_subsets(doc)
    subsets = doc["subsets"]
    multi = len(doc["label_names"]) > 1
    kind = " (macro average over labels)" if multi else ""
    paths: dict[str, Path] = {}

    roc_series, pr_series = {}, {}
    for name in names:
        subset = run.subsets.get(name) if run is not None else None
        roc_series[name] = plots.roc_points(subset.y_true, subset.y_prob) if subset is not None else None
        pr_series[name] = plots.pr_points(subset.y_true, subset.y_prob) if subset is not None else None
    if any(v is not None for v in roc_series.values()):
        paths["roc"] = plots.plot_roc(roc_series, out_dir / PLOT_FILES["roc"], f"ROC{kind}",
                                      {n: subsets[n]["metrics"]["auroc"]["value"] for n in names})
    else:
        paths["roc"] = plots.placeholder(out_dir / PLOT_FILES["roc"], "ROC", "no subset has both classes")
    if any(v is not None for v in pr_series.values()):
        prevalences = {}
        for n in names:
            total = subsets[n]["positives"]
            total = sum(total.values()) if isinstance(total, dict) else total
            prevalences[n] = total / (subsets[n]["n"] * len(doc["label_names"])) if subsets[n]["n"] else None
        paths["pr"] = plots.plot_pr(pr_series, out_dir / PLOT_FILES["pr"], f"Precision-recall{kind}",
                                    {n: subsets[n]["metrics"]["auprc"]["value"] for n in names}, prevalences)
    else:
        paths["pr"] = plots.placeholder(out_dir / PLOT_FILES["pr"], "Precision-recall",
                                        "no subset has both classes")
    pooled = " (labels pooled)" if multi else ""
    paths["calibration"] = plots.plot_calibration({n: subsets[n]["calibration"] for n in names},
                                                  out_dir / PLOT_FILES["calibration"], f"Calibration{pooled}")
    summed = f" (summed over {len(doc['label_names'])} labels)" if multi else ""
    paths["confusion"] = plots.plot_confusion({n: subsets[n]["confusion"] for n in names},
                                              out_dir / PLOT_FILES["confusion"], f"Confusion matrix{summed}")
    if doc.get("robustness"):
        baseline = {n: subsets[n]["metrics"]["auroc"]["value"] for n in names}
        paths["robustness"] = plots.plot_robustness(doc["robustness"], out_dir / PLOT_FILES["robustness"],
                                                    "auroc", baseline)
    else:
        paths["robustness"] = plots.placeholder(out_dir / PLOT_FILES["robustness"], "Robustness",
                                                "no robustness runs in this report")
    history = doc.get("training", {}).get("history") or []
    if history:
        paths["training"] = plots.plot_training(history, out_dir / PLOT_FILES["training"])
    else:
        paths["training"] = plots.placeholder(out_dir / PLOT_FILES["training"], "Training",
                                              "no training history recorded")
    return paths


# ----------------------------------------------------------------------------------------------------------
# report


def report_context(doc: dict, images: dict[str, str]) -> dict:
    """What the report templates see: the document plus ordered, labelled views of it."""
    provenance = doc.get("provenance") or {}
    mode = provenance.get("mode")
    multi = len(doc["label_names"]) > 1
    subsets = []
    for name in ordered_subsets(doc):
        body = doc["subsets"][name]
        per_label = [{"label": label, "group": (doc.get("label_groups") or {}).get(label), **values}
                     for label, values in body["per_label"].items()]
        subgroups = []
        for attribute in sorted(body.get("subgroups", {})):
            for group, entry in sorted(body["subgroups"][attribute].items()):
                subgroups.append({"attribute": attribute, "group": group, **entry})
        subsets.append({"name": name, "title": SUBSET_TITLES.get(name, name), "body": body,
                        "per_label": per_label, "subgroups": subgroups})
    return {
        "doc": doc,
        "title": f"Evaluation report: {doc['model']} · {doc['task']}",
        "multi": multi,
        "synthetic": is_synthetic(doc),
        "subsets": subsets,
        "metric_names": list(METRICS),
        "metric_titles": METRIC_TITLES,
        "primary": primary_subset(doc),
        "provenance": provenance,
        "split_sizes": _flatten(provenance.get("split_sizes") or {}),
        "build_settings": _flatten(provenance.get("build_settings") or {}),
        "weights_sources": _flatten(provenance.get("weights_sources") or {}),
        "mode": mode,
        "mode_text": provenance.get("mode_description") or MODE_TEXT.get(str(mode), None),
        "other_provenance": _flatten({k: v for k, v in provenance.items() if k not in PROVENANCE_KEYS}),
        "images": images,
        "plot_titles": PLOT_TITLES,
        "plot_order": list(PLOT_FILES),
    }


def write_report(out_dir: Path, doc: dict, run: EvalRun | None = None) -> dict[str, Path]:
    """report.html (self-contained), report.md (plots beside it), metrics.json and the PNGs.

    Returns {"html", "md", "json", and one key per plot: roc, pr, calibration, confusion, robustness,
    training} -> path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = write_plots(out_dir, doc, run)
    json_path = out_dir / "metrics.json"
    json_path.write_text(metrics_json(doc), encoding="utf-8")
    embedded = {key: data_uri(path) for key, path in paths.items()}
    beside = {key: path.name for key, path in paths.items()}
    html_path = out_dir / "report.html"
    html_path.write_text(render("report.html.j2", **report_context(doc, embedded)), encoding="utf-8")
    md_path = out_dir / "report.md"
    md_path.write_text(render("report.md.j2", **report_context(doc, beside)), encoding="utf-8")
    return {"html": html_path, "md": md_path, "json": json_path, **paths}


def roc_markdown(doc: dict, png_path: Path) -> str:
    """Markdown for Dagster metadata: the AUROC of each subset with its CI and the ROC PNG as a data URI."""
    lines = [f"**{doc['model']} · {doc['task']}**", ""]
    for name in ordered_subsets(doc):
        auroc = doc["subsets"][name]["metrics"]["auroc"]
        lines.append(f"- {name}: AUROC {_ci(auroc)}, n = {doc['subsets'][name]['n']:,}")
    lines += ["", f"![ROC]({data_uri(Path(png_path))})"]
    return "\n".join(lines)
