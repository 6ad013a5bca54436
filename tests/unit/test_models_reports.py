"""models.reports / models.leaderboard: files, self-contained HTML (opened in headless Chromium),
deterministic output, published figures in their own columns."""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow.parquet as pq
import pytest

from features.mimic3_benchmarks import phenotype_names
from models import metrics as M
from models.leaderboard import SCHEMA, leaderboard_table, write_leaderboard
from models.published import NOT_COMPARABLE, PUBLISHED
from models.reports import PLOT_FILES, metrics_json, plots, roc_markdown, write_report
from tests.browser import chromium_path, dump_dom, screenshot
from tests.unit.test_models_metrics import make_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPORT_TITLE = "Evaluation report: tsfusion · pheno"


@pytest.fixture(scope="module")
def pheno(tmp_path_factory):
    """A 25-phenotype run, its document and its report files."""
    run = make_run(n_labels=25, n=120, n_bootstrap=20, subgroup_n_bootstrap=5,
                   label_names=list(phenotype_names()))
    doc = M.evaluate_run(run)
    out = tmp_path_factory.mktemp("report")
    return run, doc, write_report(out, doc, run)


@pytest.fixture(scope="module")
def ihm():
    run = make_run(n_labels=1, n=120, n_bootstrap=20, subgroup_n_bootstrap=5)
    run.model, run.task = "medfuse", "ihm"
    return run, M.evaluate_run(run)


def test_report_writes_every_file(pheno):
    _, doc, paths = pheno
    assert set(paths) == {"html", "md", "json", *PLOT_FILES}
    for key, name in PLOT_FILES.items():
        assert paths[key].name == name and paths[key].read_bytes().startswith(PNG_SIGNATURE)
    text = paths["json"].read_text()
    assert text == metrics_json(doc) == json.dumps(doc, sort_keys=True, indent=2) + "\n"
    assert json.loads(text) == doc


def test_html_is_self_contained_with_every_plot_embedded(pheno):
    _, doc, paths = pheno
    html = paths["html"].read_text()
    pngs = list(paths["html"].parent.glob("*.png"))
    assert html.count("data:image/png;base64,") == len(pngs) == len(PLOT_FILES)
    assert 'src="http' not in html and "http://" not in html and "https://" not in html
    assert not re.search(r'(src|href)="(?!data:)', html)  # no file or URL reference at all
    assert ".png" not in html and "<link" not in html and "<script" not in html
    for fact in (REPORT_TITLE, "synthetic MIMIC-IV v2.2", "train: 560", "0.1.0+test", "f00dfeed",
                 "random-init", "stage-1 checkpoint", "<strong>fixed</strong>", "timestep = 2",
                 "PARTIAL test set", "PAIRED test set", "ECE", "Brier", "acute", "chronic", "mixed",
                 "Septicemia (except in labor)", "age_band", "80+", "OTHER/UNKNOWN", "no_cxr",
                 "not clinical evidence", "How to read this report", "20-resample bootstrap", "micro F1"):
        assert fact in html, fact
    assert "/tmp/run" not in html  # the checkpoint path was reduced to its name


def test_markdown_references_the_pngs_beside_it(pheno):
    _, _, paths = pheno
    md = paths["md"].read_text()
    referenced = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert sorted(referenced) == sorted(PLOT_FILES.values())
    assert all((paths["md"].parent / name).is_file() for name in referenced)
    assert "data:image" not in md
    assert "| test_partial | test_paired |" in md


def test_report_output_is_deterministic(pheno, tmp_path):
    run, doc, paths = pheno
    again = write_report(tmp_path / "again", M.evaluate_run(run), run)
    for key, path in paths.items():
        assert again[key].read_bytes() == path.read_bytes(), key


def test_binary_report_and_dagster_markdown(ihm, tmp_path):
    run, doc = ihm
    paths = write_report(tmp_path, doc, run)
    html = paths["html"].read_text()
    assert "Evaluation report: medfuse · ihm" in html
    assert html.count("data:image/png;base64,") == len(PLOT_FILES)
    assert "F1 of the positive class" in html and "Per label" not in html
    md = roc_markdown(doc, paths["roc"])
    assert md.count("data:image/png;base64,") == 1
    assert "test_partial: AUROC" in md and "test_paired: AUROC" in md


def test_report_without_robustness_or_history_gets_placeholders(tmp_path):
    run = make_run(n_labels=2, n=60, n_bootstrap=10, subgroup_n_bootstrap=0)
    run.robustness, run.ablation, run.history = [], {}, []
    paths = write_report(tmp_path, M.evaluate_run(run), run)
    html = paths["html"].read_text()
    assert html.count("data:image/png;base64,") == len(PLOT_FILES)
    assert "no robustness runs" in html and "no ablation runs" in html


def test_regression_scatter(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.gamma(2.0, 2.0, 200)
    path = plots.plot_regression(y, y + rng.normal(0, 1, 200), tmp_path / "scatter.png", unit="days")
    assert path.read_bytes().startswith(PNG_SIGNATURE)


# ---------------------------------------------------------------------------------------------- leaderboard


def test_leaderboard_has_published_figures_in_their_own_columns(pheno, ihm):
    _, pheno_doc, _ = pheno
    _, ihm_doc = ihm
    table = leaderboard_table([pheno_doc, ihm_doc])
    assert table.schema == SCHEMA
    rows = table.to_pylist()
    assert rows == leaderboard_table([ihm_doc, pheno_doc]).to_pylist()  # order does not depend on the input
    keys = [(r["model"], r["task"], r["subset"], r["metric"]) for r in rows]
    assert keys == sorted(keys) and len(rows) == 2 * 2 * len(M.METRICS)
    by_key = {(r["model"], r["subset"], r["metric"]): r for r in rows}
    medfuse_auroc = by_key["medfuse", "test_partial", "auroc"]
    published = (medfuse_auroc["published_value"], medfuse_auroc["published_ci_low"],
                 medfuse_auroc["published_ci_high"])
    assert published == (0.857, 0.842, 0.871)
    assert medfuse_auroc["published_source"] == "Rasekh et al. 2024, Table 2"
    assert medfuse_auroc["value"] == ihm_doc["subsets"]["test_partial"]["metrics"]["auroc"]["value"]
    tsf_auprc = by_key["tsfusion", "test_paired", "auprc"]
    assert tsf_auprc["published_variant"] == "Attention + uncertainty + CLAHE"
    assert tsf_auprc["published_value"] == 0.466
    accuracy = next(r for r in rows if r["metric"] == "accuracy")
    assert accuracy["published_value"] is None and accuracy["published_source"] is None
    assert {r["model"] for r in rows} == {"medfuse", "tsfusion"}  # published-only models are not our rows


def test_write_leaderboard(pheno, ihm, tmp_path):
    _, pheno_doc, _ = pheno
    _, ihm_doc = ihm
    paths = write_leaderboard(tmp_path, [ihm_doc, pheno_doc])
    assert pq.read_table(paths["parquet"]).to_pylist() == leaderboard_table([pheno_doc, ihm_doc]).to_pylist()
    html = paths["html"].read_text()
    assert "http://" not in html and "https://" not in html and "<script" not in html
    for text in (NOT_COMPARABLE, "Published figures", "CARD (multimodal)", "Contrastive + ViT",
                 "not run here", "0.857 (0.842–0.871)", "Synthetic data"):
        assert text in html and text in paths["md"].read_text(), text
    again = write_leaderboard(tmp_path / "again", [pheno_doc, ihm_doc])
    for key in paths:
        assert again[key].read_bytes() == paths[key].read_bytes(), key
    assert all(f.note.startswith(NOT_COMPARABLE) for f in PUBLISHED)


# ---------------------------------------------------------------------------------------------- browser


def test_report_opens_in_headless_chromium(pheno, tmp_path):
    chromium = chromium_path()
    _, _, paths = pheno
    html = paths["html"].read_text()
    # a copy with a probe that counts the images the browser actually decoded
    probe = ("<script>window.addEventListener('load', () => { document.body.dataset.imagesDecoded = "
             "[...document.images].filter(i => i.complete && i.naturalWidth > 0).length; });</script></body>")
    page = tmp_path / "report_probe.html"
    page.write_text(html.replace("</body>", probe))
    dom = dump_dom(chromium, page, tmp_path / "profile")
    assert f"<title>{REPORT_TITLE}</title>" in dom and f"<h1>{REPORT_TITLE}</h1>" in dom
    images = re.findall(r"<img\b[^>]*>", dom)
    assert len(images) == len(PLOT_FILES)
    assert all('src="data:image/png;base64,' in tag for tag in images)
    assert f'data-images-decoded="{len(PLOT_FILES)}"' in dom
    shot = screenshot(chromium, paths["html"], tmp_path / "report.png", tmp_path / "profile2")
    assert shot.read_bytes().startswith(PNG_SIGNATURE)


def test_leaderboard_opens_in_headless_chromium(pheno, ihm, tmp_path):
    chromium = chromium_path()
    paths = write_leaderboard(tmp_path / "lb", [pheno[1], ihm[1]])
    dom = dump_dom(chromium, paths["html"], tmp_path / "profile")
    assert "<h1>clinfuse leaderboard</h1>" in dom and "Rasekh et al. 2024, Table 2" in dom
