"""Evaluation reports: metrics.json, PNG plots, report.md and one self-contained report.html per run.

`write_report(out_dir, doc, run)` writes the files of one model x task run from the document that
`models.metrics.evaluate_run(run)` built (the raw predictions in `run` are only needed for the ROC/PR curves).
HTML and Markdown come from the Jinja2 templates in `templates/`; the HTML embeds every plot as a base64 data
URI and uses inline CSS only, so the file opens anywhere without network access.

Multiclass and regression docs (`doc["kind"]`) get a report of the same shape from `write_head_report`;
`write_multihead_report(out_dir, model, docs, runs, sections, provenance)` writes one report for a model
with several heads of any kinds, followed by free `Section`s (Markdown, PNGs, JSON data).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jinja2
import markupsafe

from models.metrics import (
    LOWER_IS_BETTER,
    METRICS,
    PRIMARY_METRIC,
    EvalRun,
    clean,
    ordered_metrics,
    primary_subset,
    scrub_paths,
)
from models.reports import plots
from warehouse.lake import ClinfuseError

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
    training} -> path. A multiclass or regression doc gets `write_head_report`'s files instead."""
    if doc.get("kind", "binary") != "binary":
        return write_head_report(out_dir, doc, run)
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


# ----------------------------------------------------------------------------------------------------------
# every kind of head, and the multi-head report

KIND_TITLES: dict[str, str] = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}
METRIC_TITLES.update({
    "nll": "NLL (log loss)", "mae": "MAE", "rmse": "RMSE", "r2": "R²", "explained_variance": "Explained variance",
    "silhouette": "Silhouette",
})
HEAD_PLOT_TITLES: dict[str, str] = {
    "roc": "ROC curve", "pr": "Precision-recall curve", "calibration": "Reliability (calibration) curve",
    "confusion": "Confusion matrix", "scatter": "Predicted against observed", "residuals": "Residuals",
    "training": "Training history",
}
HEAD_PLOT_CAPTIONS: dict[str, str] = {
    "roc": "one curve per label (macro average for several labels) or per class (one-vs-rest)",
    "pr": "the dotted line is the prevalence (chance level)",
    "calibration": "points on the diagonal are well calibrated",
    "confusion": "rows are the true class, columns the most probable class; shading = share of the true class",
    "scatter": "the dotted line is a perfect prediction",
    "residuals": "residual = prediction - observed; left against the prediction, right their histogram",
    "training": "loss per epoch (top) and validation metrics (bottom)",
}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
# above this many binary heads a multi-head report shows them in one forest plot, not a ROC each
MAX_BINARY_HEAD_PLOTS = 12


@dataclass
class Section:
    """A part of a multi-head report after the heads: Markdown text (also rendered into the HTML), PNGs
    (embedded in the HTML and written beside report.md) and JSON-able data (stored in metrics.json)."""

    title: str
    markdown: str = ""
    images: dict[str, bytes] = field(default_factory=dict)
    data: dict = field(default_factory=dict)


@lru_cache(maxsize=1)
def _markdown_parser():
    from markdown_it import MarkdownIt

    # raw HTML in a section's text is escaped, never passed through
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def markdown_html(text: str) -> markupsafe.Markup:
    """A section's Markdown as HTML (CommonMark + tables; raw HTML escaped)."""
    return markupsafe.Markup(_markdown_parser().render(text or ""))


def _safe(name: str) -> str:
    return _SAFE_NAME.sub("_", str(name)).strip("_") or "x"


def _primary_values(doc: dict) -> dict:
    return doc["subsets"][primary_subset(doc)]


def _head_plots(out_dir: Path, doc: dict, run: EvalRun | None, stem: str, *, curves: bool = True,
                histories: dict | None = None) -> dict[str, Path]:
    """The PNGs of one head (for its kind) of the primary subset: {plot: path}; plots without data are left
    out (a multi-head report has no placeholders). `curves=False` skips a binary head's ROC / calibration
    (the forest plot shows it); `histories` (history JSON -> path) reuses the training plot of an earlier
    head with the same history (a multi-task model's heads share one)."""
    kind = doc.get("kind", "binary")
    subset_name = primary_subset(doc)
    body = doc["subsets"][subset_name]
    subset = run.subsets.get(subset_name) if run is not None else None
    label = f"{doc['model']} · {doc['task']} · {subset_name}"
    paths: dict[str, Path] = {}

    def path(plot: str) -> Path:
        return out_dir / f"{stem}_{plot}.png"

    if kind == "binary" and not curves:
        pass
    elif kind == "binary":
        if subset is not None:
            points = plots.roc_points(subset.y_true, subset.y_prob)
            if points is not None:
                paths["roc"] = plots.plot_roc({subset_name: points}, path("roc"), f"ROC: {label}",
                                              {subset_name: body["metrics"]["auroc"]["value"]})
        if body.get("calibration", {}).get("prob_pred"):
            paths["calibration"] = plots.plot_calibration({subset_name: body["calibration"]}, path("calibration"),
                                                          f"Calibration: {label}")
    elif kind == "multiclass":
        if subset is not None:
            aurocs = {name: values.get("auroc") for name, values in body["per_label"].items()}
            paths["roc"] = plots.plot_multiclass_roc(subset.y_true, subset.y_prob, doc["label_names"], path("roc"),
                                                     f"ROC one-vs-rest: {label}", aurocs)
        paths["confusion"] = plots.plot_confusion_matrix(body["confusion"], doc["label_names"], path("confusion"),
                                                         f"Confusion: {label}")
    elif subset is not None:  # regression
        target = doc["label_names"][0] if doc["label_names"] else doc["task"]
        paths["scatter"] = plots.plot_regression(subset.y_true, subset.y_prob, path("scatter"),
                                                 f"{target}: {label}")
        paths["residuals"] = plots.plot_residuals(subset.y_true, subset.y_prob, path("residuals"),
                                                  f"Residuals: {label}")
    history = doc.get("training", {}).get("history") or []
    if history:
        seen = json.dumps([doc["model"], history], sort_keys=True)
        if histories is not None and seen in histories:
            paths["training"] = histories[seen]
        else:
            keys = sorted({k for row in history for k, v in row.items()
                           if k.startswith("val_") and k != "val_loss" and isinstance(v, int | float)})
            paths["training"] = plots.plot_training(history, path("training"), f"Training: {doc['model']}",
                                                    val_metrics=keys[:4])
            if histories is not None:
                histories[seen] = paths["training"]
    return paths


def _forest_plots(out_dir: Path, docs: list[dict], model: str) -> dict[str, Path]:
    """One forest plot per kind over the heads: binary / multiclass AUROC, regression MAE, with CIs."""
    paths: dict[str, Path] = {}
    for kind, metric, reference in (("binary", "auroc", 0.5), ("multiclass", "auroc", 0.5),
                                    ("regression", "mae", None)):
        entries = []
        for doc in docs:
            if doc.get("kind", "binary") != kind:
                continue
            entry = _primary_values(doc)["metrics"].get(metric) or {}
            entries.append({"task": doc["task"], "model": doc["model"], "value": entry.get("value"),
                            "ci_low": entry.get("ci_low"), "ci_high": entry.get("ci_high")})
        if len(entries) < 2:
            continue
        stem = _safe(f"{model}_{kind}_{metric}")
        paths[stem] = plots.plot_forest(entries, out_dir / f"{stem}.png",
                                        f"{model}: {METRIC_TITLES.get(metric, metric)} per {kind} head (95% CI)",
                                        METRIC_TITLES.get(metric, metric), reference)
    return paths


def head_context(doc: dict, images: dict[str, str]) -> dict:
    """What the templates show of one head (any kind): ordered subsets and metrics, per-label / per-class
    rows, subgroups, and its images {plot: src}."""
    kind = doc.get("kind", "binary")
    subsets = []
    for name in ordered_subsets(doc):
        body = doc["subsets"][name]
        per_label = [{"label": label, **values} for label, values in (body.get("per_label") or {}).items()]
        subgroups = []
        for attribute in sorted(body.get("subgroups") or {}):
            for group, entry in sorted(body["subgroups"][attribute].items()):
                subgroups.append({"attribute": attribute, "group": group, **entry})
        subsets.append({"name": name, "title": SUBSET_TITLES.get(name, name), "body": body,
                        "per_label": per_label, "subgroups": subgroups})
    metric_names = ordered_metrics({m for s in subsets for m in s["body"]["metrics"]})
    return {
        "doc": doc, "kind": kind, "anchor": _safe(f"{doc['model']}-{doc['task']}"),
        "title": f"{doc['model']} · {doc['task']}", "subsets": subsets, "metric_names": metric_names,
        "multi": len(doc["label_names"]) > 1, "primary": primary_subset(doc),
        "images": [{"key": key, "title": HEAD_PLOT_TITLES.get(key, key), "src": src,
                    "caption": HEAD_PLOT_CAPTIONS.get(key, "")} for key, src in images.items()],
        "lower_is_better": sorted(LOWER_IS_BETTER & set(metric_names)),
    }


def _provenance_context(provenance: dict) -> dict:
    mode = provenance.get("mode")
    return {
        "provenance": provenance,
        "split_sizes": _flatten(provenance.get("split_sizes") or {}),
        "build_settings": _flatten(provenance.get("build_settings") or {}),
        "weights_sources": _flatten(provenance.get("weights_sources") or {}),
        "mode": mode,
        "mode_text": provenance.get("mode_description"),
        "other_provenance": _flatten({k: v for k, v in provenance.items() if k not in PROVENANCE_KEYS}),
    }


def _summary_row(doc: dict) -> dict:
    kind = doc.get("kind", "binary")
    body = _primary_values(doc)
    primary = PRIMARY_METRIC.get(kind, "auroc")
    return {"model": doc["model"], "task": doc["task"], "kind": kind, "subset": primary_subset(doc),
            "n": body["n"], "primary": primary, "value": body["metrics"].get(primary),
            "others": [(m, body["metrics"][m]) for m in ordered_metrics(body["metrics"]) if m != primary],
            "anchor": _safe(f"{doc['model']}-{doc['task']}")}


def _write_heads(out_dir: Path, docs: list[dict], runs: list[EvalRun | None],
                 provenance: dict, sections: list[dict], title: str, model: str,
                 section_images: list[dict[str, Path]], head_plots: str = "auto") -> tuple[Path, Path, dict[str, Path]]:
    """report.html and report.md of any list of heads plus sections; returns (html, md, plot paths)."""
    if head_plots not in ("auto", "all", "summary"):
        raise ClinfuseError(f"{model}: head_plots must be auto, all or summary, got {head_plots!r}")
    seen: set[tuple[str, str]] = set()
    for doc in docs:
        key = (doc["model"], doc["task"])
        if key in seen:
            raise ClinfuseError(f"{model}: two heads are both model {key[0]!r}, task {key[1]!r}")
        seen.add(key)
    n_binary = sum(doc.get("kind", "binary") == "binary" for doc in docs)
    curves = head_plots == "all" or (head_plots == "auto" and n_binary <= MAX_BINARY_HEAD_PLOTS)
    histories: dict[str, Path] = {}
    head_paths = [_head_plots(out_dir, doc, run, _safe(f"{doc['model']}_{doc['task']}"), curves=curves,
                              histories=histories) for doc, run in zip(docs, runs, strict=True)]
    forest = _forest_plots(out_dir, docs, model) if len(docs) > 1 else {}
    pngs = {path.stem: path for paths in head_paths for path in paths.values()}
    pngs.update(forest)
    for images in section_images:
        pngs.update({path.stem: path for path in images.values()})

    def context(embed: bool) -> dict:
        def src(path: Path) -> str:
            return data_uri(path) if embed else path.name

        heads, shown = [], {}
        for doc, paths in zip(docs, head_paths, strict=True):
            # a plot shared with an earlier head (one training history) is shown once, then referred to
            own = {k: p for k, p in paths.items() if p not in shown}
            head = head_context(doc, {k: src(p) for k, p in own.items()})
            head["shared"] = [{"title": HEAD_PLOT_TITLES.get(k, k), "head": shown[p]}
                              for k, p in paths.items() if p in shown]
            shown.update({p: head["title"] for p in own.values()})
            heads.append(head)
        rendered = [{**section, "html": markdown_html(section["markdown"]),
                     "images": [{"name": path.stem, "src": src(path)} for path in images.values()]}
                    for section, images in zip(sections, section_images, strict=True)]
        synthetic = bool(provenance.get("synthetic")) or any(is_synthetic(doc) for doc in docs) \
            or "synth" in str(provenance.get("data_source", "")).lower()
        n_bootstrap = sorted({doc.get("n_bootstrap") for doc in docs if doc.get("n_bootstrap")})
        overview = [{"name": stem, "src": src(path)} for stem, path in forest.items()]
        return {"title": title, "model": model, "heads": heads, "sections": rendered, "synthetic": synthetic,
                "overview": overview,
                "summary": [_summary_row(doc) for doc in docs], "metric_titles": METRIC_TITLES,
                "kind_titles": KIND_TITLES, "n_bootstrap": n_bootstrap,
                "seeds": sorted({doc.get("seed") for doc in docs if doc.get("seed") is not None}),
                **_provenance_context(scrub_paths(provenance))}

    html_path = out_dir / "report.html"
    html_path.write_text(render("multihead.html.j2", **context(True)), encoding="utf-8")
    md_path = out_dir / "report.md"
    md_path.write_text(render("multihead.md.j2", **context(False)), encoding="utf-8")
    return html_path, md_path, pngs


def _write_section_images(out_dir: Path, sections: list[Section], taken: set[str]) -> list[dict[str, Path]]:
    out: list[dict[str, Path]] = []
    for section in sections:
        written: dict[str, Path] = {}
        for name, png in section.images.items():
            file_name = _safe(name if str(name).endswith(".png") else f"{name}.png")
            if not bytes(png).startswith(b"\x89PNG\r\n\x1a\n"):
                raise ClinfuseError(f"section {section.title!r}: image {name!r} is not PNG bytes")
            if file_name in taken:
                raise ClinfuseError(f"section {section.title!r}: image name {file_name!r} is used twice")
            taken.add(file_name)
            path = out_dir / file_name
            path.write_bytes(bytes(png))
            written[name] = path
        out.append(written)
    return out


def write_multihead_report(out_dir: Path, model: str, docs: list[dict], runs: list[EvalRun | None],
                           sections: list[Section], provenance: dict, *, head_plots: str = "auto") -> dict[str, Path]:
    """One report for a model with several heads / tasks (any mix of kinds).

    Writes report.html (self-contained: a summary table, one part per head, then the sections, every PNG
    embedded), report.md (PNGs beside it), metrics.json = {"model", "kind": "multihead", "provenance",
    "heads": [doc, ...], "sections": [{title, markdown, data}]} and the PNGs: per head
    `<model>_<task>_<plot>.png` (plot: roc, calibration for binary; roc, confusion for multiclass; scatter,
    residuals for regression; training when the doc has a history, one file per distinct history; roc/scatter
    need the head's run), with two or more heads of a kind a forest plot `<model>_<kind>_<auroc|mae>.png`
    of every head's primary metric and CI, and each section's images under their own names (".png" added).
    `head_plots`: "auto" (default) drops the binary heads' ROC / calibration plots when there are more than
    MAX_BINARY_HEAD_PLOTS binary heads (the forest plot shows them), "all" keeps them, "summary" drops them.
    Wrap the call in `warehouse.lake.atomic_dir` to replace a previous report atomically.

    Returns {"html", "md", "json", and one key per PNG (its file name without .png)} -> path."""
    if not docs:
        raise ClinfuseError(f"{model}: a multi-head report needs at least one head")
    if len(runs) != len(docs):
        raise ClinfuseError(f"{model}: {len(docs)} head documents but {len(runs)} runs (use None for a head "
                            "without predictions)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    taken = {_safe(f"{doc['model']}_{doc['task']}") for doc in docs}
    taken = {f"{stem}_{plot}.png" for stem in taken for plot in HEAD_PLOT_TITLES}
    taken |= {f"{_safe(f'{model}_{kind}_{metric}')}.png" for kind, metric in
              (("binary", "auroc"), ("multiclass", "auroc"), ("regression", "mae"))}
    section_images = _write_section_images(out_dir, sections, taken)
    section_docs = [{"title": s.title, "markdown": s.markdown, "data": clean(s.data)} for s in sections]
    html_path, md_path, pngs = _write_heads(
        out_dir, docs, runs, provenance, section_docs, f"Evaluation report: {model} (multi-head)", model,
        section_images, head_plots)
    document = {"model": model, "kind": "multihead", "provenance": clean(scrub_paths(provenance)),
                "heads": list(docs), "sections": section_docs}
    json_path = out_dir / "metrics.json"
    json_path.write_text(metrics_json(document), encoding="utf-8")
    return {"html": html_path, "md": md_path, "json": json_path, **pngs}


def write_head_report(out_dir: Path, doc: dict, run: EvalRun | None = None) -> dict[str, Path]:
    """The single-head report of a multiclass or regression doc: report.html, report.md, metrics.json (the doc
    itself) and the head's PNGs (keys as `write_multihead_report`)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, md_path, pngs = _write_heads(
        out_dir, [doc], [run], doc.get("provenance") or {}, [], f"Evaluation report: {doc['model']} · {doc['task']}",
        doc["model"], [])
    json_path = out_dir / "metrics.json"
    json_path.write_text(metrics_json(doc), encoding="utf-8")
    return {"html": html_path, "md": md_path, "json": json_path, **pngs}
