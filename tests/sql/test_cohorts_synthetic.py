"""Cohorts and time series on a small synthetic source: sharding, determinism, keys."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest
from polars.testing import assert_frame_equal

SHARDS = 4
TABLES = ("ihm_48h", "phenotyping", "timeseries_ihm", "timeseries_pheno")
SORT = {"ihm_48h": ["stay_id"], "phenotyping": ["stay_id"],
        "timeseries_ihm": ["stay_id", "step"], "timeseries_pheno": ["stay_id", "step"]}


@pytest.fixture(scope="module")
def synth_home(tmp_path_factory):
    from warehouse.cohorts import build_cohorts
    from warehouse.ingest import ingest
    from warehouse.lake import Home
    from warehouse.sources import Sources
    from warehouse.synth import generate

    root = tmp_path_factory.mktemp("synth-cohorts")
    generate(root / "src", patients=60, seed=3, images=False, notes=False)
    home = Home.open(root / "home")
    ingest(home, Sources(mimic_iv=root / "src" / "mimic-iv"), shards=SHARDS)
    counts = build_cohorts(home, shards=SHARDS)
    return home, counts, Sources(mimic_iv=root / "src" / "mimic-iv")


def materialise_task_tables(home, sources, **kwargs) -> dict:
    """The four tables through the Dagster asset (one ranged run over the shards): rows per table, plus
    `unseen_warning` (the no_unseen_categories check failed)."""
    from tests.graph import materialise

    result = materialise(home, sources, "key:features/timeseries_events or key:features/timeseries_ihm", shards=SHARDS, **kwargs)
    rows = {t: result["metadata"][f"{_schema(t)}/{t}"]["rows"] for t in TABLES}
    return {**rows, "unseen_warning": "features/timeseries_pheno:no_unseen_categories" in result["check_warnings"]}


@pytest.fixture(scope="module")
def built(synth_home):
    home, _, sources = synth_home
    first = materialise_task_tables(home, sources)
    files_first = _lake_digests(home)
    frames_first = {t: _read(home, t) for t in TABLES}
    second = materialise_task_tables(home, sources)
    return home, first, second, files_first, frames_first


def _schema(table):
    return "cohorts" if table in ("ihm_48h", "phenotyping") else "features"


def _read(home, table) -> pl.DataFrame:
    from warehouse.lake import catalog

    with catalog(home, write=False) as con:
        return con.sql(f"SELECT * FROM {_schema(table)}.{table}").pl().sort(SORT[table])


def _icu_stays(home) -> pl.DataFrame:
    from warehouse.lake import catalog

    with catalog(home, write=False) as con:
        return con.sql("SELECT subject_id, hadm_id, stay_id FROM cohorts.icu_stays").pl()


def _lake_digests(home) -> dict[str, str]:
    out = {}
    for table in TABLES:
        for path in sorted(home.table_dir(_schema(table), table).rglob("*.parquet")):
            out[str(path.relative_to(home.lake))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def test_cohorts_are_not_empty(synth_home, built):
    counts = synth_home[1]
    _, first, _, _, _ = built
    assert counts["icu_stays"] >= 20 and counts["los"] == counts["icu_stays"]
    assert 5 <= first["ihm_48h"] <= first["phenotyping"] <= counts["icu_stays"]
    assert first["timeseries_ihm"] == 24 * first["ihm_48h"]
    assert not first["unseen_warning"]  # the generator writes MIMIC-IV's own GCS strings


def test_union_of_shards_equals_the_all_at_once_build(synth_home):
    from features.timeseries.build import build_task_frames
    from warehouse.lake import open_lake

    home = synth_home[0]
    con = open_lake(home)
    try:
        whole = build_task_frames(home, None, SHARDS, mode="faithful", timestep=2.0, con=con)
        parts = [build_task_frames(home, k, SHARDS, mode="faithful", timestep=2.0, con=con) for k in range(SHARDS)]
    finally:
        con.close()
    assert sum(p.stats["stays"] for p in parts) == whole.stats["stays"]
    for table in TABLES:
        union = pl.concat([p.table(table) for p in parts]).sort(SORT[table])
        assert_frame_equal(union, whole.table(table).sort(SORT[table]))
        for k, part in enumerate(parts):
            frame = part.table(table)
            assert frame.filter((pl.col("subject_id") % SHARDS != k) | (pl.col("shard") != k)).height == 0


def test_two_builds_are_identical(built):
    home, first, second, files_first, frames_first = built
    for table in TABLES:
        assert_frame_equal(_read(home, table), frames_first[table])
        assert first[table] == second[table]
    assert _lake_digests(home) == files_first  # same bytes, not only the same rows


def test_lake_layout_is_sharded(built):
    home = built[0]
    for table in TABLES:
        names = {p.name for p in home.table_dir(_schema(table), table).iterdir()}
        assert names == {f"shard={k}" for k in range(SHARDS)}
        frame = _read(home, table)
        assert frame.filter(pl.col("shard") != pl.col("subject_id") % SHARDS).height == 0


@pytest.mark.parametrize("table", ["timeseries_ihm", "timeseries_pheno"])
def test_every_feature_row_carries_its_keys(built, table):
    from features.timeseries.layout import COLUMNS

    home, _, _, _, frames = built
    frame = frames[table]
    assert frame.columns[:5] == ["subject_id", "hadm_id", "stay_id", "step", "asof_time"]
    assert list(frame.columns[5:81]) == list(COLUMNS)
    assert sum(frame.drop("asof_time").null_count().row(0)) == 0  # keys, step and the 76 values
    assert frame["asof_time"].null_count() < frame.height
    assert frame.select("stay_id", "step").is_duplicated().sum() == 0


@pytest.mark.parametrize("cohort,table", [("ihm_48h", "timeseries_ihm"), ("phenotyping", "timeseries_pheno")])
def test_task_cohorts_have_one_row_per_sample_and_match_their_time_series(built, cohort, table):
    home, _, _, _, frames = built
    c, t = frames[cohort], frames[table]
    assert {"subject_id", "hadm_id", "stay_id", "intime", "prediction_time"} <= set(c.columns)
    assert c["stay_id"].is_unique().all() and sum(c.select("subject_id", "hadm_id", "stay_id").null_count().row(0)) == 0
    assert sorted(c["stay_id"]) == sorted(t["stay_id"].unique())
    icu = _icu_stays(home)
    assert c.join(icu, on=["subject_id", "hadm_id", "stay_id"], how="anti").height == 0
    late = t.join(c.select("stay_id", "prediction_time"), on="stay_id").filter(pl.col("asof_time") > pl.col("prediction_time"))
    assert late.height == 0
    if cohort == "ihm_48h":
        assert set(c["y_true"].unique()) <= {0, 1}
    else:
        from features.mimic3_benchmarks import phenotype_names

        assert set(phenotype_names()) <= set(c.columns)


def test_ihm_cohort_agrees_with_the_library_rule(synth_home, built):
    """The cohort is derived from the discretised frame; the library's own ihm/pheno stay rules agree."""
    from features.timeseries.build import cleaned_events, load_stays
    from features.timeseries.discretize import ihm_stay_ids, pheno_stay_ids
    from warehouse.lake import open_lake

    home, _, _, _, frames = built
    con = open_lake(home)
    try:
        stays = load_stays(con)
        events = cleaned_events(con, stays, "fixed")
    finally:
        con.close()
    assert sorted(ihm_stay_ids(events, stays)["stay_id"]) == sorted(frames["ihm_48h"]["stay_id"])
    assert sorted(pheno_stay_ids(events, stays)["stay_id"]) == sorted(frames["phenotyping"]["stay_id"])


# ---------------------------------------------------------------- one shard count per home


def test_a_home_built_with_4_shards_refuses_an_8_shard_run(built, monkeypatch, capsys):
    from clinfuse.cli import main
    from tests.graph import materialise
    from warehouse.ingest import ingest
    from warehouse.lake import ClinfuseError

    home = built[0]
    before = _lake_digests(home)
    with pytest.raises(ClinfuseError, match="built with 4 subject shards, this run uses 8"):
        materialise(home, _sources(home), "key:features/timeseries_events or key:features/timeseries_ihm", shards=8)
    with pytest.raises(ClinfuseError, match="built with 4 subject shards"):
        ingest(home, _sources(home), shards=8)
    monkeypatch.setenv("CLINFUSE_SHARDS", "8")  # what `clinfuse run` and the definitions read
    assert main(["run", "--home", str(home.root), "--select", "features/timeseries_ihm"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "re-shard" in err and "CLINFUSE_SHARDS=4" in err
    assert _lake_digests(home) == before  # nothing was written


def test_a_rewrite_removes_stale_shard_folders_so_no_row_is_read_twice(built):
    import shutil

    from tests.graph import materialise

    home, first = built[0], built[1]
    table_dir = home.table_dir("features", "timeseries_ihm")
    shutil.copytree(table_dir / "shard=1", table_dir / "shard=5")  # left by a larger shard count
    assert _read(home, "timeseries_ihm").height > first["timeseries_ihm"]  # the duplicates a glob would read
    shutil.copy(table_dir / "shard=0" / "data.parquet", table_dir / "data.parquet")  # by a whole-table write
    materialise(home, _sources(home), "features/timeseries_ihm", shards=SHARDS)  # the events are built
    assert sorted(p.name for p in table_dir.iterdir()) == [f"shard={k}" for k in range(SHARDS)]
    frame = _read(home, "timeseries_ihm")
    assert frame.height == first["timeseries_ihm"] and frame.select("stay_id", "step").is_duplicated().sum() == 0


def _sources(home):
    from warehouse.sources import resolve_sources

    return resolve_sources(home)
