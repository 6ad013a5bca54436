"""`clinfuse features get|latest` on the materialised synthetic store: the same frames and vectors as the
Python API, help everywhere, one-line errors with exit code 1."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from clinfuse.features_cli import rows_as_json
from features.store import cohort_entities, frame_report, get_training_frame, latest_features


def _wired() -> bool:
    from clinfuse.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return "features" in sub.choices


def run_cli(argv: list[str]) -> int:
    """Through `clinfuse.cli.main` once `features` is wired into it; until then through the same parser
    attached to a bare `clinfuse` parser (clinfuse.features_cli.main)."""
    if _wired():
        from clinfuse.cli import main
    else:
        from clinfuse.features_cli import main
    return main(argv)


def _one_line_error(capsys) -> str:
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("clinfuse: error: ")]
    assert len(errors) == 1, errors
    return errors[0]


@pytest.fixture(scope="module")
def store(materialised, tmp_path_factory):
    """(home, entity Parquet file, entity CSV file) from cohorts.ihm_48h."""
    home, _ = materialised
    folder = tmp_path_factory.mktemp("features-cli")
    entities = cohort_entities(home, "cohorts/ihm_48h", ["subject_id", "hadm_id", "stay_id", "prediction_time"])
    pq.write_table(entities, folder / "entities.parquet")
    pacsv.write_csv(entities, folder / "entities.csv")
    return home, folder / "entities.parquet", folder / "entities.csv"


@pytest.mark.parametrize("command", [["features"], ["features", "get"], ["features", "latest"]], ids=" ".join)
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_cli([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: clinfuse features" in capsys.readouterr().out


@pytest.mark.parametrize("extra", [[], ["--ttl", "24h", "--split", "train"]], ids=["plain", "ttl-split"])
def test_get_writes_the_frame_of_the_python_api(store, tmp_path, capsys, extra):
    home, entities, _ = store
    out = tmp_path / "frame.parquet"
    argv = ["features", "get", "--home", str(home.root), "--entities", str(entities),
            "--views", "timeseries_ihm,labels_ihm", "--out", str(out), *extra]
    assert run_cli(argv) == 0
    assert "leakage rows 0" in capsys.readouterr().out
    cli = pq.read_table(out)
    kwargs = {"ttl": "24h", "split": "train"} if extra else {}
    api = get_training_frame(entities, ["timeseries_ihm", "labels_ihm"], home=home, **kwargs)
    assert cli.num_rows > 0 and cli.schema.equals(api.schema, check_metadata=False)
    assert cli.equals(api)
    assert frame_report(cli) == frame_report(api)  # lineage and guard report travel in the file
    if extra:
        assert set(cli["split"].to_pylist()) == {"train"}


def test_get_from_csv_equals_parquet(store, tmp_path):
    home, parquet_entities, csv_entities = store
    out = tmp_path / "frame.parquet"
    assert run_cli(["features", "get", "--home", str(home.root), "--entities", str(csv_entities),
                    "--views", "timeseries_ihm,labels_ihm", "--out", str(out)]) == 0
    api = get_training_frame(parquet_entities, "timeseries_ihm,labels_ihm", home=home)
    assert pq.read_table(out).equals(api)


@pytest.mark.parametrize("view", ["timeseries_ihm", "labels_ihm"])
def test_latest_json_equals_latest_features(store, capsys, view):
    home, entities, _ = store
    stays = pq.read_table(entities)["stay_id"].to_pylist()[:3] + [1]
    assert run_cli(["features", "latest", "--home", str(home.root), "--view", view,
                    "--keys", ",".join(map(str, stays)), "--format", "json"]) == 1  # stay 1 does not exist
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    assert printed == rows_as_json(latest_features(view, stays[:3], home=home))
    assert [r["stay_id"] for r in printed] == stays[:3]
    assert f"{view}: key 1 not found" in captured.err
    assert captured.err.splitlines()[-1] == f"clinfuse: error: 1 of 4 keys not found in {view}: 1"
    # the Python API keeps one row per key, nulls for an unknown one
    api = rows_as_json(latest_features(view, stays, home=home))
    assert all(v is None for k, v in api[-1].items() if k != "stay_id")


def test_latest_table_format(store, capsys):
    home, entities, _ = store
    stay = pq.read_table(entities)["stay_id"][0].as_py()
    assert run_cli(["features", "latest", "--home", str(home.root), "--view", "timeseries_ihm", "--keys", str(stay)]) == 0
    out = capsys.readouterr().out
    assert str(stay) in out and "[76 values]" in out and out.rstrip().endswith("(1 row)")


@pytest.mark.parametrize(("args", "needle"), [
    (["get", "--views", "timeseries_ihmx", "--out", "{tmp}/o.parquet"], "unknown feature view 'timeseries_ihmx'"),
    (["get", "--views", "timeseries_ihm", "--out", "{tmp}/o.parquet", "--entities", "{tmp}/no_stay.parquet"],
     "no column 'stay_id'"),
    (["get", "--views", "timeseries_ihm", "--out", "{tmp}/o.parquet", "--ttl", "soon"], "ttl"),
    (["get", "--views", "timeseries_ihm", "--out", "{tmp}/o.csv"], ".parquet"),
    (["get", "--views", "timeseries_ihm", "--out", "{tmp}/o.parquet", "--entities", "{tmp}/missing.parquet"],
     "not found"),
    (["latest", "--view", "nope", "--keys", "1"], "unknown feature view 'nope'"),
    (["latest", "--view", "timeseries_ihm", "--keys", "x7"], "not an integer"),
])
def test_errors_are_one_line_and_exit_1(store, tmp_path, capsys, args, needle):
    home, entities, _ = store
    no_stay = pq.read_table(entities).drop(["stay_id"])
    pq.write_table(no_stay, tmp_path / "no_stay.parquet")
    argv = [a.format(tmp=tmp_path) for a in args]
    if argv[0] == "get" and "--entities" not in argv:
        argv += ["--entities", str(entities)]
    assert run_cli(["features", argv[0], "--home", str(home.root), *argv[1:]]) == 1
    assert needle in _one_line_error(capsys)
    assert not (tmp_path / "o.parquet").exists()


def test_console_script(store):
    if not _wired():
        pytest.skip("`features` is not wired into clinfuse.cli yet")
    home, entities, _ = store
    stay = pq.read_table(entities)["stay_id"][0].as_py()
    out = subprocess.run([sys.executable, "-m", "clinfuse.cli", "features", "latest", "--home", str(home.root),
                          "--view", "labels_ihm", "--keys", str(stay), "--format", "json"], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert [row["stay_id"] for row in json.loads(out.stdout)] == [stay]
