"""The leaderboard over every kind: multi-head documents with mixed kinds, the report each row came from,
metrics in the documented order, and the M3T-LM / M3H published figures matched on (model, task, metric)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from models import metrics as M
from models.leaderboard import SCHEMA, leaderboard_rows, write_leaderboard
from models.published import M3H_TASK_NAMES, PUBLISHED, published_for
from models.reports import write_multihead_report
from models.runner import build_leaderboard
from tests.unit.test_models_metrics import make_run
from tests.unit.test_models_metrics_kinds import multiclass_run, regression_run
from warehouse.lake import ClinfuseError, Home


@pytest.fixture(scope="module")
def docs():
    """m3tlm's multi-head document (los regression + mortality binary), an M3H-frame baseline multi-head
    document with the same task name, and today's single binary doc."""
    los = regression_run(n=60, n_bootstrap=20)
    mortality = make_run(n_labels=1, n=60, n_bootstrap=20, subgroup_n_bootstrap=0)
    mortality.model, mortality.task = "m3tlm", "mortality"
    mortality.subsets = {"test": mortality.subsets["test_partial"]}
    thorax = multiclass_run(n=60, n_bootstrap=20)
    m3tlm = {"model": "m3tlm", "kind": "multihead", "provenance": {"data_source": "synthetic-x", "synthetic": True},
             "heads": [M.evaluate_run(los), M.evaluate_run(mortality)], "sections": []}
    baseline_los = regression_run(n=40, n_bootstrap=20)
    baseline_los.model = "baseline_xgboost"
    baseline_thorax = multiclass_run(n=40, n_bootstrap=20)
    baseline_thorax.model = "baseline_xgboost"
    baselines_m3h = {"model": "baselines_m3h", "kind": "multihead", "provenance": {},
                     "heads": [M.evaluate_run(baseline_los), M.evaluate_run(baseline_thorax)], "sections": []}
    baselines_m3tlm = {**baselines_m3h, "model": "baselines_m3tlm", "heads": [M.evaluate_run(baseline_los)]}
    ihm = make_run(n_labels=1, n=60, n_bootstrap=20, subgroup_n_bootstrap=0)
    ihm.model, ihm.task = "medfuse", "ihm"
    return {"m3tlm": m3tlm, "baselines_m3h": baselines_m3h, "baselines_m3tlm": baselines_m3tlm,
            "ihm": M.evaluate_run(ihm), "m3h_thorax": M.evaluate_run(thorax)}


def test_rows_from_multihead_documents_of_mixed_kinds(docs):
    rows = leaderboard_rows([docs["m3tlm"], docs["baselines_m3h"], docs["ihm"]], [None, None, "medfuse_ihm"])
    by_head = {}
    for row in rows:
        by_head.setdefault((row["report"], row["model"], row["task"]), []).append(row)
    assert set(by_head) == {("m3tlm", "m3tlm", "los"), ("m3tlm", "m3tlm", "mortality"),
                            ("baselines_m3h", "baseline_xgboost", "los"),
                            ("baselines_m3h", "baseline_xgboost", "thorax8"), ("medfuse_ihm", "medfuse", "ihm")}
    assert {r["metric"] for r in by_head["m3tlm", "m3tlm", "los"]} == set(M.REGRESSION_METRICS)
    assert {r["kind"] for r in by_head["m3tlm", "m3tlm", "los"]} == {"regression"}
    assert {r["kind"] for r in by_head["baselines_m3h", "baseline_xgboost", "thorax8"]} == {"multiclass"}
    assert {r["metric"] for r in by_head["baselines_m3h", "baseline_xgboost", "thorax8"]} == set(M.MULTICLASS_METRICS)
    assert len(by_head["m3tlm", "m3tlm", "mortality"]) == len(M.METRICS)
    los_mae = next(r for r in by_head["m3tlm", "m3tlm", "los"] if r["metric"] == "mae")
    assert los_mae["value"] == docs["m3tlm"]["heads"][0]["subsets"]["test"]["metrics"]["mae"]["value"]
    assert los_mae["synthetic"] is True and los_mae["data_source"] == "synthetic-test"
    keys = [tuple(r[k] for k in ("model", "task", "subset", "metric", "report")) for r in rows]
    assert keys == sorted(keys)
    assert rows == leaderboard_rows([docs["ihm"], docs["baselines_m3h"], docs["m3tlm"]], ["medfuse_ihm", None, None])


def test_metrics_of_a_subset_come_in_the_documented_order(docs):
    rows = leaderboard_rows([docs["m3tlm"]])
    mortality = [r["metric"] for r in rows if r["task"] == "mortality"]
    # sorted by metric name for the table; within a head the document order is METRIC_ORDER
    assert M.ordered_metrics(mortality) == list(M.METRICS)
    assert M.ordered_metrics(M.REGRESSION_METRICS + M.MULTICLASS_METRICS) == [
        "auroc", "f1_macro", "accuracy", "nll", "mae", "rmse", "r2", "explained_variance"]


def test_published_m3tlm_figures_are_matched_on_model_task_metric(docs):
    rows = leaderboard_rows([docs["m3tlm"], docs["baselines_m3h"], docs["baselines_m3tlm"]])
    find = {(r["report"], r["model"], r["task"], r["metric"]): r for r in rows}
    los_mae = find["m3tlm", "m3tlm", "los", "mae"]
    assert los_mae["published_value"] == 5.54 and los_mae["published_variant"] == "M3T-LM"
    assert los_mae["published_source"] == "Chen et al. 2024 (M3T-LM), Table III (test)"
    assert find["m3tlm", "m3tlm", "los", "r2"]["published_value"] == 0.62
    assert find["m3tlm", "m3tlm", "mortality", "f1_binary"]["published_value"] == 0.8758
    assert find["m3tlm", "m3tlm", "mortality", "auroc"]["published_value"] is None  # the paper has no AUROC
    # the paper's XGBoost sits beside the M3T-LM frame's baseline only, not the M3H frame's of the same task
    assert find["baselines_m3tlm", "baseline_xgboost", "los", "mae"]["published_value"] == 5.01
    assert find["baselines_m3h", "baseline_xgboost", "los", "mae"]["published_value"] is None


def test_published_m3h_figures_single_and_multi_task():
    assert len(M3H_TASK_NAMES) == 44 and {"heart_failure", "thorax8", "los", "mortality_48h", "hai"} <= set(
        M3H_TASK_NAMES)
    multi, single = published_for("m3h", "heart_failure", "auroc"), published_for("m3h_single", "heart_failure", "auroc")
    assert (multi.value, multi.ci_low, multi.ci_high) == (0.91, 0.90, 0.91)
    assert (single.value, single.ci_low, single.ci_high) == (0.89, 0.89, 0.90)
    assert "real MIMIC-IV; point ± 1 SD" in multi.note
    assert published_for("m3h", "los", "r2").value == 0.58 and published_for("m3h", "los", "mae") is None
    assert published_for("m3h", "thorax8", "auroc").value == 0.79
    for task in M3H_TASK_NAMES:
        assert published_for("m3h", task, "silhouette" if task == "phenotype_clusters" else
                             "r2" if task == "los" else "auroc") is not None, task
    primaries = [(f.model, f.task, f.metric, f.report) for f in PUBLISHED if f.primary]
    assert len(primaries) == len(set(primaries))  # one matched figure per (model, task, metric[, report])


def test_write_leaderboard_with_every_kind(docs, tmp_path):
    paths = write_leaderboard(tmp_path, [docs["m3tlm"], docs["ihm"], docs["m3h_thorax"], docs["baselines_m3h"]],
                              [None, "medfuse_ihm", None, None])
    table = pq.read_table(paths["parquet"])
    assert table.schema == SCHEMA and {"binary", "multiclass", "regression"} == set(table.column("kind").to_pylist())
    html, md = paths["html"].read_text(), paths["md"].read_text()
    for text in ("regression tasks", "multiclass tasks", "binary tasks", "Chen et al. 2024 (M3T-LM)",
                 "Bertsimas &amp; Ma 2024 (M3H)", "published MAE", "5.540", "Explained variance", "NLL"):
        assert text in html, text
    assert "Bertsimas & Ma 2024 (M3H)" in md and "published MAE" in md and "| m3tlm | los | test |" in md
    # the report a row came from is shown where it says more than model and task
    assert "| baseline_xgboost (baselines_m3h) | los |" in md and "(medfuse_ihm)" not in md


def test_build_leaderboard_reads_single_and_multihead_reports_and_skips_missing(docs, tmp_path):
    home = Home.open(tmp_path / "home")
    run = regression_run(n=40, n_bootstrap=10)
    head = M.evaluate_run(run)
    written = write_multihead_report(home.root / "reports" / "m3tlm", "m3tlm", [head], [run], [], {})
    single = home.root / "reports" / "medfuse_ihm" / "metrics.json"
    single.parent.mkdir(parents=True)
    single.write_text(json.dumps(docs["ihm"]))
    records = [{"model": "m3tlm", "metrics": "reports/m3tlm/metrics.json"}, None,
               {"model": "medfuse_ihm", "metrics": "reports/medfuse_ihm/metrics.json"}]
    summary = build_leaderboard(home, records)
    assert summary["models"] == 2
    assert summary["rows"] == len(M.REGRESSION_METRICS) + 2 * len(M.METRICS)
    assert written["json"].is_file() and "m3tlm" in summary["markdown"]
    with pytest.raises(ClinfuseError, match="no report is materialised yet"):
        build_leaderboard(home, [None, None])
    with pytest.raises(ClinfuseError, match="materialise reports/gone again"):
        build_leaderboard(home, [{"model": "gone", "metrics": "reports/gone/metrics.json"}])


def test_a_metrics_json_written_before_kinds_existed_is_binary(docs):
    old = {k: v for k, v in docs["ihm"].items() if k != "kind"}
    rows = leaderboard_rows([old], ["medfuse_ihm"])
    assert {r["kind"] for r in rows} == {"binary"} and len(rows) == 2 * len(M.METRICS)
    assert M.headline(old) == M.headline(docs["ihm"])
