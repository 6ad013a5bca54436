"""models.reports for every kind: single-head multiclass / regression reports and the multi-head report
(HTML self-contained with every PNG embedded, Markdown with the PNGs beside it, metrics.json)."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from matplotlib.figure import Figure

from models import metrics as M
from models.reports import Section, write_multihead_report, write_report
from tests.unit.test_models_metrics import make_run
from tests.unit.test_models_metrics_kinds import multiclass_run, regression_run
from warehouse.lake import ClinfuseError, atomic_dir

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_bytes() -> bytes:
    fig = Figure(figsize=(2, 2), dpi=50)
    fig.subplots().plot([0, 1], [1, 0])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


@pytest.fixture(scope="module")
def heads():
    """A binary, a multiclass and a regression head, as one model's heads."""
    binary = make_run(n_labels=1, n=80, n_bootstrap=20, subgroup_n_bootstrap=5)
    binary.model, binary.task, binary.robustness, binary.ablation = "m3h", "heart_failure", [], {}
    binary.subsets = {"test": binary.subsets["test_partial"]}
    multiclass = multiclass_run(n=60, n_bootstrap=20)
    regression = regression_run(n=60, n_bootstrap=20)
    regression.model = "m3h"
    regression.history = [{"epoch": e, "train_loss": 2 / e, "val_loss": 2.2 / e, "val_mae": 3 / e} for e in (1, 2, 3)]
    runs = [binary, multiclass, regression]
    return runs, [M.evaluate_run(run) for run in runs]


def test_multihead_report_files_sections_and_json(heads, tmp_path):
    runs, docs = heads
    image = png_bytes()
    sections = [
        Section("Single- vs multi-task", "Multi-task **helps** on 2 of 3 tasks.\n\n| task | gain |\n|---|---|\n"
                "| los | 0.03 |\n\n<script>alert(1)</script>", {"tim_heatmap": image}, {"gain": {"los": 0.03}}),
        Section("Clustering", "Silhouette on the latent.", {"clusters.png": image}, {"silhouette": np.float64(0.41)}),
    ]
    provenance = {"data_source": "synthetic-mimic-iv", "synthetic": True, "mode": "fixed",
                  "mode_description": "clean prediction time; faithful reads notes to discharge (leaks)",
                  "checkpoint_path": "/home/someone/artifacts/m3h/best.pt"}
    out = tmp_path / "reports" / "m3h"
    with atomic_dir(out) as tmp:
        written = write_multihead_report(tmp, "m3h", docs, runs, sections, provenance)
    paths = {k: out / v.name for k, v in written.items()}
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert sorted(k for k in paths if k not in ("html", "md", "json")) == sorted(n[:-4] for n in pngs)
    for expected in ("m3h_heart_failure_roc.png", "m3h_heart_failure_calibration.png", "m3h_thorax8_roc.png",
                     "m3h_thorax8_confusion.png", "m3h_los_scatter.png", "m3h_los_residuals.png",
                     "m3h_los_training.png", "tim_heatmap.png", "clusters.png"):
        assert expected in pngs, expected
        assert (out / expected).read_bytes().startswith(PNG_SIGNATURE)

    document = json.loads(paths["json"].read_text())
    assert document["model"] == "m3h" and document["kind"] == "multihead"
    assert [h["task"] for h in document["heads"]] == ["heart_failure", "thorax8", "los"]
    assert [h["kind"] for h in document["heads"]] == ["binary", "multiclass", "regression"]
    assert document["heads"] == json.loads(json.dumps(docs))
    assert document["sections"][1] == {"title": "Clustering", "markdown": "Silhouette on the latent.",
                                       "data": {"silhouette": 0.41}}
    assert document["provenance"]["checkpoint_path"] == "best.pt"  # no machine path

    html = paths["html"].read_text()
    assert html.count("data:image/png;base64,") == len(pngs)
    assert not re.search(r'(src|href)="(?!data:|#)', html) and ".png\"" not in html and "<script>" not in html
    assert "&lt;script&gt;" in html  # raw HTML in a section is escaped
    assert "<strong>helps</strong>" in html and "<table>" in html  # Markdown rendered
    for fact in ("Evaluation report: m3h (multi-head)", "Single- vs multi-task", "Clustering", "heart_failure",
                 "thorax8", "cardiomegaly", "MAE", "R²", "NLL", "faithful reads notes", "Synthetic data",
                 "lower is better", "true \\ predicted"):
        assert fact in html, fact
    assert html.index("heart_failure") < html.index("Single- vs multi-task")  # heads first, then sections

    md = paths["md"].read_text()
    referenced = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert sorted(referenced) == pngs and "data:image" not in md
    assert "## Clustering" in md and "| los | 0.03 |" in md


def test_multihead_report_is_deterministic(heads, tmp_path):
    runs, docs = heads
    first = write_multihead_report(tmp_path / "a", "m3h", docs, runs, [], {"mode": "fixed"})
    second = write_multihead_report(tmp_path / "b", "m3h", docs, runs, [], {"mode": "fixed"})
    for key, path in first.items():
        assert second[key].read_bytes() == path.read_bytes(), key


def test_multihead_report_without_runs_has_the_plots_that_need_none(heads, tmp_path):
    _, docs = heads
    paths = write_multihead_report(tmp_path, "m3h", docs, [None, None, None], [], {})
    assert "m3h_thorax8_confusion" in paths and "m3h_los_scatter" not in paths and "m3h_heart_failure_roc" not in paths
    assert "not recorded" in paths["html"].read_text()


def test_bad_multihead_inputs_are_one_line_errors(heads, tmp_path):
    runs, docs = heads
    with pytest.raises(ClinfuseError, match="3 head documents but 2 runs"):
        write_multihead_report(tmp_path, "m3h", docs, runs[:2], [], {})
    with pytest.raises(ClinfuseError, match="two heads are both model 'm3h', task 'los'"):
        write_multihead_report(tmp_path, "m3h", [docs[2], docs[2]], [None, None], [], {})
    with pytest.raises(ClinfuseError, match="not PNG bytes"):
        write_multihead_report(tmp_path, "m3h", docs, runs, [Section("x", images={"a": b"GIF89a"})], {})
    with pytest.raises(ClinfuseError, match="used twice"):
        write_multihead_report(tmp_path, "m3h", docs, runs, [Section("x", images={"m3h_los_scatter": png_bytes()})],
                               {})


@pytest.mark.parametrize("make, plots", [(multiclass_run, {"roc", "confusion"}),
                                         (regression_run, {"scatter", "residuals"})])
def test_single_head_reports_of_the_new_kinds(make, plots, tmp_path):
    run = make(n_bootstrap=20)
    doc = M.evaluate_run(run)
    paths = write_report(tmp_path, doc, run)
    assert json.loads(paths["json"].read_text()) == json.loads(json.dumps(doc))  # the doc itself
    assert {key.rsplit("_", 1)[-1] for key in paths if key not in ("html", "md", "json")} == plots
    html = paths["html"].read_text()
    assert html.count("data:image/png;base64,") == len(plots)
    assert f"Evaluation report: {doc['model']} · {doc['task']}" in html


def test_many_binary_heads_get_one_forest_plot_and_one_training_plot(tmp_path):
    """A multi-task model with many binary heads: a forest plot of every head's AUROC and CI instead of a ROC
    each, and the shared training history drawn once."""
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_mean_auroc": 0.6 + 0.01 * e}
               for e in (1, 2, 3)]
    runs = []
    for j in range(14):
        run = make_run(n_labels=1, n=40, n_bootstrap=10, subgroup_n_bootstrap=0, seed=j)
        run.model, run.task, run.robustness, run.ablation, run.history = "m3h", f"task_{j}", [], {}, history
        run.subsets = {"test": run.subsets["test_partial"]}
        runs.append(run)
    docs = [M.evaluate_run(run) for run in runs]
    paths = write_multihead_report(tmp_path, "m3h", docs, runs, [], {"mode": "fixed"})
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == ["m3h_binary_auroc.png", "m3h_task_0_training.png"]
    html = paths["html"].read_text()
    assert html.count("data:image/png;base64,") == 2 and html.count("Training history: as shown for m3h · task_0") == 13
    every = write_multihead_report(tmp_path / "all", "m3h", docs, runs, [], {}, head_plots="all")
    assert "m3h_task_13_roc" in every and "m3h_task_13_calibration" in every
    with pytest.raises(ClinfuseError, match="head_plots must be"):
        write_multihead_report(tmp_path / "x", "m3h", docs, runs, [], {}, head_plots="some")


def test_multihead_report_opens_in_headless_chromium(heads, tmp_path):
    from tests.browser import chromium_path, dump_dom

    chromium = chromium_path()
    runs, docs = heads
    paths = write_multihead_report(tmp_path / "r", "m3h", docs, runs, [Section("TIM", "text", {"tim": png_bytes()})],
                                   {"mode": "fixed"})
    probe = ("<script>window.addEventListener('load', () => { document.body.dataset.imagesDecoded = "
             "[...document.images].filter(i => i.complete && i.naturalWidth > 0).length; });</script></body>")
    page = tmp_path / "probe.html"
    page.write_text(paths["html"].read_text().replace("</body>", probe))
    dom = dump_dom(chromium, page, tmp_path / "profile")
    n_png = len(list((tmp_path / "r").glob("*.png")))
    assert "<h1>Evaluation report: m3h (multi-head)</h1>" in dom
    assert f'data-images-decoded="{n_png}"' in dom
