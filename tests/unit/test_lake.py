"""The lake's write discipline: atomic swaps, recovery after a kill, owner-only home, the catalog lock."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import stat

import duckdb
import pytest

from warehouse.lake import (
    ClinfuseError,
    Home,
    atomic_dir,
    catalog,
    engine,
    home_lock,
    publish,
    recover_dir,
    write_parquet,
)


def test_home_is_owner_only(tmp_path):
    os.umask(0o022)
    home = Home.open(tmp_path / "h")
    for path in (home.root, home.lake, home.dagster, home.tmp):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_failed_write_keeps_the_old_table(home):
    target = home.table_dir("features", "t")
    con = engine(home)
    write_parquet(con, "SELECT 1 AS x", target)
    with pytest.raises(duckdb.ConversionException):
        write_parquet(con, "SELECT CAST('not a number' AS INTEGER) AS x", target)
    assert con.execute(f"SELECT x FROM read_parquet('{target}/*.parquet')").fetchall() == [(1,)]
    assert [p.name for p in target.parent.iterdir()] == ["t"], "no temporary directory may be left behind"


def test_exception_inside_atomic_dir_leaves_nothing(tmp_path):
    target = tmp_path / "table"
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "half.parquet").write_bytes(b"partial")
        raise RuntimeError("killed")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_recovery_after_a_kill_between_the_two_renames(tmp_path):
    # The swap renames target -> .old, then tmp -> target; a kill in between leaves only .old.
    old = tmp_path / ".table.old-1234abcd"
    old.mkdir()
    (old / "data.parquet").write_bytes(b"old")
    (tmp_path / ".table.tmp-99999999").mkdir()
    recover_dir(tmp_path / "table")
    assert (tmp_path / "table" / "data.parquet").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table"]


def test_recovery_leaves_the_staging_of_a_live_writer_alone(tmp_path):
    """Two processes writing one table: the second's recovery must not delete the first's work in progress
    (two `clinfuse run`s on a fresh home both failed with FileNotFoundError on a vanished staging folder)."""
    import socket
    import subprocess
    import sys

    host = socket.gethostname()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {f".table.tmp-{host}-{live.pid}-aaaaaaaa", f".table.old-{host}-{live.pid}-bbbbbbbb",
                 f".table.tmp-{host}-{dead.pid}-cccccccc", f".table.tmp-elsewhere-{dead.pid}-dddddddd"}
        for name in names:
            (tmp_path / name).mkdir()
        recover_dir(tmp_path / "table")
        # the live writer's folders stay, and so does one of another host (its process cannot be checked);
        # a live writer's old copy is not put back as the table either: it is between its two renames
        assert {p.name for p in tmp_path.iterdir()} == names - {f".table.tmp-{host}-{dead.pid}-cccccccc"}
    finally:
        live.kill()
        live.wait()
    recover_dir(tmp_path / "table")  # its writer is gone now: its old copy is the table again
    assert {p.name for p in tmp_path.iterdir()} == {"table", f".table.tmp-elsewhere-{dead.pid}-dddddddd"}


def test_staging_names_carry_their_writer(tmp_path):
    import socket

    target = tmp_path / "table"
    with atomic_dir(target) as tmp:
        assert tmp.name.startswith(f".table.tmp-{socket.gethostname()}-{os.getpid()}-")


def test_sharded_write_is_sorted_and_reproducible(home):
    con = engine(home)
    sql = "SELECT (i * 7919) % 1000 AS subject_id, i AS v, (((i * 7919) % 1000) % 4)::INTEGER AS shard FROM range(5000) t(i)"
    target = home.table_dir("raw", "t")
    write_parquet(con, sql, target, partition_by_shard=True, order_by="subject_id, v")
    first = {p.relative_to(target): p.read_bytes() for p in target.rglob("*.parquet")}
    write_parquet(con, sql, target, partition_by_shard=True, order_by="subject_id, v")
    assert first == {p.relative_to(target): p.read_bytes() for p in target.rglob("*.parquet")}
    assert sorted(str(k) for k in first) == [f"shard={i}/data.parquet" for i in range(4)]
    rows = con.execute(f"SELECT subject_id FROM read_parquet('{target}/shard=2/data.parquet')").fetchall()
    assert rows == sorted(rows) and {r[0] % 4 for r in rows} == {2}


def test_view_reads_the_lake(home):
    con = engine(home)
    write_parquet(con, "SELECT 42 AS answer", home.table_dir("features", "answer"))
    publish(home, "features", "answer")
    with catalog(home, write=False) as cat:
        assert cat.execute("SELECT answer FROM features.answer").fetchall() == [(42,)]


def _hold(lock, root, started, release):
    with lock(Home(root)):
        started.set()
        release.wait(10)


@contextlib.contextmanager
def _held_elsewhere(lock, home):
    """`lock(home)` held by another process while the block runs; yields that process."""
    ctx = mp.get_context("fork")
    started, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(lock, home.root, started, release))
    holder.start()
    try:
        assert started.wait(10)
        yield holder
    finally:
        release.set()
        holder.join(10)


def test_second_writer_waits_for_the_catalog_lock_then_times_out(home):
    with _held_elsewhere(catalog, home):
        with pytest.raises(ClinfuseError, match="catalog lock"), catalog(home, timeout_s=0.3):
            pass
    with catalog(home, timeout_s=5) as con:  # free again
        assert con.execute("SELECT 1").fetchone() == (1,)


def test_a_second_run_on_a_home_fails_at_once_naming_the_first(home):
    with _held_elsewhere(lambda h: home_lock(h, "clinfuse run"), home) as holder:
        with pytest.raises(ClinfuseError) as refused, home_lock(home, "clinfuse ingest"):
            pass
        assert str(refused.value).startswith(f"another clinfuse run (pid {holder.pid}, started ")
        assert f"is using {home.root}" in str(refused.value)
    with home_lock(home, "clinfuse run"):  # free again once its holder ended
        assert f"pid {os.getpid()}" in (home.root / "run.lock").read_text()
    assert stat.S_IMODE((home.root / "run.lock").stat().st_mode) == 0o600


def test_shard_staging_stays_outside_the_table_folder(home):
    """A killed shard write must not leave a hidden folder inside the table: readers glob it (hive mismatch)."""
    table = home.table_dir("features", "t")
    con = engine(home)
    write_parquet(con, "SELECT 1 AS x", table / "shard=0")
    publish(home, "features", "t")
    with pytest.raises(RuntimeError), atomic_dir(table / "shard=1") as tmp:
        assert tmp.parent == table.parent  # staged beside the table, not inside it
        (tmp / "data.parquet").write_bytes(b"half")
        raise RuntimeError("killed")
    assert [p.name for p in table.iterdir()] == ["shard=0"]
    with catalog(home, write=False) as cat:
        assert cat.execute("SELECT x FROM features.t").fetchall() == [(1,)]


# ---------------------------------------------------------------- subject shards


def test_a_home_keeps_the_shard_count_it_was_built_with(tmp_path, monkeypatch):
    from warehouse.lake import claim_shards, home_shards, shard_count

    home = Home.open(tmp_path / "home")
    assert home_shards(home) is None
    claim_shards(home, 8)
    claim_shards(home, 8)  # the same count again: fine
    assert home_shards(home) == 8
    with pytest.raises(ClinfuseError, match=r"built with 8 subject shards, this run uses 16 .*re-shard, remove"):
        claim_shards(home, 16)
    # a lake from before the count was recorded: a shard=k folder at k >= n is a larger count
    legacy = Home.open(tmp_path / "legacy")
    (legacy.table_dir("raw", "hosp_admissions") / "shard=11").mkdir(parents=True)
    with pytest.raises(ClinfuseError, match="built with 12 subject shards"):
        claim_shards(legacy, 8)
    monkeypatch.setenv("CLINFUSE_SHARDS", "16")
    assert shard_count() == 16
    monkeypatch.setenv("CLINFUSE_SHARDS", "sixteen")
    with pytest.raises(ClinfuseError, match="CLINFUSE_SHARDS='sixteen'"):
        shard_count()


def test_stale_shard_folders_and_whole_table_files_are_removed(tmp_path):
    from warehouse.lake import remove_stale_shards

    table = tmp_path / "t"
    for name in ("shard=0", "shard=1", "shard=2", "shard=10"):
        (table / name).mkdir(parents=True)
        (table / name / "data.parquet").write_bytes(b"x")
    (table / "data.parquet").write_bytes(b"x")
    assert remove_stale_shards(table, 2) == ["data.parquet", "shard=10", "shard=2"]
    assert sorted(p.name for p in table.iterdir()) == ["shard=0", "shard=1"]
