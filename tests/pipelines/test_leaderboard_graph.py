"""reports/leaderboard in the graph: an allow_missing input for every report asset (fusion, multitask,
baselines), built over the report assets the graph has, and it materialises with some records missing."""

from __future__ import annotations

import json

import dagster as dg

from models import metrics as M
from models.reports import write_multihead_report
from pipelines.assets.models import LEADERBOARD_REPORTS, build_leaderboard_asset
from pipelines.io import RecordIOManager
from pipelines.resources import ClinfuseResource
from tests.unit.test_models_metrics import make_run
from tests.unit.test_models_metrics_kinds import regression_run
from warehouse.lake import catalog


def test_the_leaderboard_lists_every_report_asset_as_an_optional_input():
    for key in ("reports/m3tlm", "reports/m3h", *(f"reports/baselines_{f}" for f in ("ihm", "pheno", "cxr", "m3tlm",
                                                                                       "m3h")), "reports/medfuse_ihm"):
        assert key in LEADERBOARD_REPORTS, key
    full = build_leaderboard_asset()
    assert sorted(k.to_user_string() for k in full.keys_by_input_name.values()) == sorted(LEADERBOARD_REPORTS)
    assert all(d.metadata.get("allow_missing") for d in full.node_def.input_defs)
    # a graph without some family still loads: its keys are left out
    partial = build_leaderboard_asset([dg.AssetKey(["reports", "m3tlm"]), dg.AssetKey(["reports", "medfuse_ihm"])])
    assert sorted(d.name for d in partial.node_def.input_defs) == ["r_m3tlm", "r_medfuse_ihm"]


def test_the_leaderboard_materialises_with_some_reports_missing(tmp_path):
    clinfuse = ClinfuseResource(home=str(tmp_path / "home"))
    home = clinfuse.open_home()
    record_io = RecordIOManager(clinfuse=clinfuse)
    # two reports exist (a multi-head one and a single-doc one); every other record was never written
    run = regression_run(n=40, n_bootstrap=10)
    write_multihead_report(home.root / "reports" / "m3tlm", "m3tlm", [M.evaluate_run(run)], [run], [], {})
    ihm = make_run(n_labels=1, n=60, n_bootstrap=10, subgroup_n_bootstrap=0)
    ihm.model, ihm.task = "medfuse", "ihm"
    single = home.root / "reports" / "medfuse_ihm" / "metrics.json"
    single.parent.mkdir(parents=True)
    single.write_text(json.dumps(M.evaluate_run(ihm)))
    records = home.root / "artifacts" / "records" / "reports"
    records.mkdir(parents=True)
    for name in ("m3tlm", "medfuse_ihm"):
        (records / f"{name}.json").write_text(json.dumps({"model": name, "metrics": f"reports/{name}/metrics.json"}))

    leaderboard = build_leaderboard_asset()
    upstream = [dg.AssetSpec(key.split("/")).with_io_manager_key("record_io") for key in LEADERBOARD_REPORTS]
    result = dg.materialize([leaderboard, *upstream], selection=[leaderboard.key],
                            resources={"clinfuse": clinfuse, "record_io": record_io})
    assert result.success
    metadata = result.asset_materializations_for_node(leaderboard.node_def.name)[0].metadata
    assert metadata["models"].value == 2
    assert metadata["rows"].value == len(M.REGRESSION_METRICS) + 2 * len(M.METRICS)
    not_materialised = metadata["not_materialised"].value.split(", ")
    assert "m3h" in not_materialised and "baselines_m3tlm" in not_materialised and "m3tlm" not in not_materialised
    with catalog(home, write=False) as con:
        rows = con.execute("SELECT report, model, task, kind, count(*) FROM reports.leaderboard "
                           "GROUP BY ALL ORDER BY ALL").fetchall()
    assert rows == [("m3tlm", "m3tlm", "los", "regression", 4), ("medfuse_ihm", "medfuse", "ihm", "binary", 14)]
