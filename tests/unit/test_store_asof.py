"""Point-in-time semantics of the feature store on hand-made tables: equal times in, later times out, TTL,
missing entities, several entities per subject, null as-of rows, sequences, labels by key, online lookup."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.store import FeatureGroup, FeatureView, Registry, get_training_frame, latest_features, parse_ttl
from features.store.guards import frame_report
from warehouse.lake import ClinfuseError, write_arrow

T0 = datetime(2150, 1, 1)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


TOY_VIEWS = [
    FeatureView(name="toy_latest", kind="latest", source="features/toy_latest", entity_keys=("stay_id",),
                id_columns=("subject_id",), row_ids=("seq",), asof="obs_time", order_by=("seq",),
                groups=(FeatureGroup("x", "a value", "DOUBLE", columns=("x",)),
                        FeatureGroup("tag", "a string", "VARCHAR", columns=("tag",)),
                        FeatureGroup("ab", "two floats", "FLOAT", columns=("a", "b"), stack=True)),
                description="toy latest view"),
    FeatureView(name="toy_seq", kind="sequence", source="features/toy_seq", entity_keys=("stay_id",),
                id_columns=("subject_id",), row_ids=("step",), asof="asof_time", order_by=("step",),
                groups=(FeatureGroup("values", "two floats per step", "FLOAT", columns=("v1", "v2"), stack=True),),
                description="toy sequence view"),
    FeatureView(name="toy_img", kind="latest", source="embeddings/toy_img", entity_keys=("subject_id",),
                row_ids=("dicom_id",), asof="img_time", order_by=("dicom_id",), weights_column="weights_source",
                groups=(FeatureGroup("emb", "an embedding", "FLOAT[]", columns=("emb",), shape=(3,)),),
                description="toy subject-keyed view"),
    FeatureView(name="toy_y", kind="label", source="cohorts/toy_cohort", entity_keys=("stay_id",), asof=None,
                id_columns=("subject_id",), ignore=("prediction_time",),
                groups=(FeatureGroup("y", "an outcome", "TINYINT", columns=("y",)),), description="toy labels"),
    FeatureView(name="toy_absent", kind="latest", source="features/toy_absent", entity_keys=("stay_id",),
                asof="t", groups=(FeatureGroup("z", "never written", "DOUBLE", columns=("z",)),),
                description="a view whose table is not materialised"),
]
REG = Registry(TOY_VIEWS)


def write_toy_tables(home) -> None:
    latest = pa.table({
        "subject_id": pa.array([10, 10, 10, 10, 10, 11], pa.int64()),
        "stay_id": pa.array([1, 1, 1, 1, 2, 3], pa.int64()),
        "obs_time": pa.array([h(0), h(2), h(2), None, h(1), None], pa.timestamp("us")),
        "seq": pa.array([0, 0, 1, 2, 0, 0], pa.int32()),
        "x": [1.0, 2.0, 2.5, 99.0, 3.0, 77.0],
        "tag": ["a", "b", "c", "late", "d", "e"],
        "a": pa.array([1, 2, 3, 4, 5, 6], pa.float32()),
        "b": pa.array([-1, -2, -3, -4, -5, -6], pa.float32()),
    })
    latest = latest.append_column("shard", pa.compute.cast(pa.compute.bit_wise_and(latest["stay_id"], 1), pa.int32()))
    write_arrow(home, "features", "toy_latest", latest, partition_by_shard=True)
    seq = pa.table({
        "stay_id": pa.array([1, 1, 1, 1, 1, 2], pa.int64()),
        "subject_id": pa.array([10, 10, 10, 10, 10, 10], pa.int64()),
        "step": pa.array([0, 1, 2, 3, 4, 0], pa.int32()),
        "asof_time": pa.array([None, None, h(2), h(2), h(5), h(0.5)], pa.timestamp("us")),
        "v1": pa.array([0, 0, 1, 1, 2, 7], pa.float32()),
        "v2": pa.array([10, 11, 12, 13, 14, 15], pa.float32()),
    })
    write_arrow(home, "features", "toy_seq", seq)
    img = pa.table({
        "subject_id": pa.array([10, 10, 11], pa.int64()),
        "dicom_id": ["d1", "d2", "d3"],
        "img_time": pa.array([h(0), h(3), h(1)], pa.timestamp("us")),
        "emb": pa.array([[1, 1, 1], [2, 2, 2], [3, 3, 3]], pa.list_(pa.float32(), 3)),
        "weights_source": ["random-init"] * 3,
    })
    write_arrow(home, "embeddings", "toy_img", img)
    labels = pa.table({"stay_id": pa.array([1, 2, 3], pa.int64()), "subject_id": pa.array([10, 10, 11], pa.int64()),
                       "y": pa.array([1, 0, 1], pa.int8()),
                       "prediction_time": pa.array([h(48)] * 3, pa.timestamp("us"))})
    write_arrow(home, "cohorts", "toy_cohort", labels)


@pytest.fixture
def toy(home):
    write_toy_tables(home)
    return home


def entities(rows, columns=("stay_id", "prediction_time")) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in columns]
    types = {"stay_id": pa.int64(), "subject_id": pa.int64(), "prediction_time": pa.timestamp("us")}
    return pa.table({c: pa.array(list(v), types.get(c)) for c, v in zip(columns, cols, strict=True)})


def frame(home, rows, views, columns=("stay_id", "prediction_time"), **kw) -> pa.Table:
    return get_training_frame(entities(rows, columns), views, home=home, registry=REG, **kw)


def col(table: pa.Table, name: str) -> list:
    return table[name].to_pylist()


# ---------------------------------------------------------------- latest views


def test_equal_time_is_included_and_later_rows_are_excluded(toy):
    f = frame(toy, [(1, h(2)), (1, h(2) - timedelta(microseconds=1)), (1, h(0)), (1, h(0) - timedelta(minutes=1))],
              "toy_latest")
    assert col(f, "toy_latest__asof_time") == [h(2), h(0), h(0), None]
    assert col(f, "toy_latest__x") == [2.5, 1.0, 1.0, None]  # at 2h two rows tie: the larger seq wins
    assert col(f, "toy_latest__seq") == [1, 0, 0, None]
    assert col(f, "toy_latest__tag") == ["c", "a", "a", None]
    assert f.schema.field("toy_latest__ab").type == pa.list_(pa.float32(), 2)
    assert col(f, "toy_latest__ab") == [[3.0, -3.0], [1.0, -1.0], [1.0, -1.0], None]


def test_null_asof_rows_never_win_a_point_in_time_join(toy):
    f = frame(toy, [(1, h(1000)), (3, h(1000))], "toy_latest")
    assert col(f, "toy_latest__x") == [2.5, None]  # the x=99 / x=77 rows have no as-of: never provably earlier


def test_ttl_is_a_maximum_age_inclusive(toy):
    f = frame(toy, [(1, h(3)), (1, h(3) + timedelta(seconds=1)), (2, h(1))], "toy_latest", ttl="1h")
    assert col(f, "toy_latest__x") == [2.5, None, 3.0]
    assert frame(toy, [(1, h(3))], "toy_latest", ttl=timedelta(minutes=59))["toy_latest__x"].to_pylist() == [None]
    assert frame_report(f)["ttl_seconds"] == 3600


def test_missing_entities_give_nulls_and_the_input_order_is_kept(toy):
    rows = [(999, h(5)), (2, h(5)), (1, h(5)), (999, None), (1, None)]
    f = frame(toy, rows, "toy_latest,toy_seq")
    assert f.num_rows == 5
    assert col(f, "stay_id") == [999, 2, 1, 999, 1]
    assert col(f, "toy_latest__x") == [None, 3.0, 2.5, None, None]  # a null prediction time gets nothing
    assert col(f, "toy_seq__length") == [0, 1, 5, 0, 0]
    assert col(f, "toy_seq__values")[0] is None


def test_several_entities_per_subject_each_get_their_own_time(toy):
    rows = [(1, 10, h(1)), (2, 10, h(4)), (1, 10, h(3)), (3, 11, h(0.5)), (3, 11, h(2))]
    f = frame(toy, rows, ["toy_img", "toy_latest"], columns=("stay_id", "subject_id", "prediction_time"))
    assert col(f, "toy_img__dicom_id") == ["d1", "d2", "d2", None, "d3"]
    assert col(f, "toy_img__emb") == [[1, 1, 1], [2, 2, 2], [2, 2, 2], None, [3, 3, 3]]
    assert col(f, "toy_latest__x") == [1.0, 3.0, 2.5, None, None]
    meta = frame_report(f)
    assert {v["name"]: v["weights_source"] for v in meta["views"]}["toy_img"] == "random-init"


# ---------------------------------------------------------------- sequences and null as-of


def test_sequence_is_the_prefix_of_steps_up_to_the_prediction_time(toy):
    f = frame(toy, [(1, h(1)), (1, h(2)), (1, h(4.99)), (1, h(6)), (2, h(0.5))], "toy_seq")
    assert col(f, "toy_seq__length") == [0, 4, 4, 5, 1]
    assert col(f, "toy_seq__step") == [None, [0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 3, 4], [0]]
    assert col(f, "toy_seq__asof_time") == [None, h(2), h(2), h(5), h(0.5)]
    assert col(f, "toy_seq__values")[1] == [[0, 10], [0, 11], [1, 12], [1, 13]]
    assert f.schema.field("toy_seq__values").type.value_type == pa.list_(pa.float32(), 2)


def test_null_asof_steps_come_with_the_first_step_that_has_an_event(toy):
    # steps 0 and 1 hold no event (null as-of): before the first event at 2h nothing is returned ...
    assert col(frame(toy, [(1, h(1.99))], "toy_seq"), "toy_seq__step") == [None]
    # ... from 2h on they lead the sequence; with a TTL they go with the step that carries their time
    assert col(frame(toy, [(1, h(2.5))], "toy_seq", ttl="1h"), "toy_seq__step") == [[0, 1, 2, 3]]
    assert col(frame(toy, [(1, h(6))], "toy_seq", ttl="2h"), "toy_seq__step") == [[4]]


# ---------------------------------------------------------------- labels


def test_labels_join_by_key_whatever_the_prediction_time(toy):
    f = frame(toy, [(1, h(-100)), (2, None), (999, h(0))], "toy_latest,toy_y")
    assert col(f, "toy_y__y") == [1, 0, None]
    assert frame_report(f)["labels"] == ["toy_y__y"]
    assert frame_report(f)["guards"]["asof_columns"] == ["toy_latest__asof_time"]  # labels are not guarded
    assert "toy_y__y" not in frame(toy, [(1, h(0))], "toy_latest,toy_y", include_labels=False).column_names
    assert col(frame(toy, [(1, h(0))], "toy_latest", include_labels="toy_y"), "toy_y__y") == [1]
    # label-only frames need no prediction time
    only = get_training_frame(pa.table({"stay_id": [3, 1]}), ["toy_y"], home=toy, registry=REG)
    assert col(only, "toy_y__y") == [1, 1]


def test_duplicate_label_keys_are_an_error(toy):
    dup = pa.table({"stay_id": pa.array([1, 1], pa.int64()), "subject_id": pa.array([10, 10], pa.int64()),
                    "y": pa.array([0, 1], pa.int8())})
    write_arrow(toy, "cohorts", "toy_cohort", dup)
    with pytest.raises(ClinfuseError, match="several"):
        frame(toy, [(1, h(0))], "toy_y")


# ---------------------------------------------------------------- inputs, split and errors


def test_entity_files_and_frames_give_the_same_frame(toy, tmp_path):
    rows = [(1, h(2)), (2, h(0.5)), (999, h(1))]
    arrow = frame(toy, rows, "toy_latest,toy_seq,toy_y")
    pq.write_table(entities(rows), tmp_path / "e.parquet")
    with open(tmp_path / "e.csv", "w") as fh:
        fh.write("stay_id,prediction_time\n" + "".join(f"{s},{t:%Y-%m-%d %H:%M:%S}\n" for s, t in rows))
    import polars as pl

    for source in (tmp_path / "e.parquet", str(tmp_path / "e.csv"), pl.from_arrow(entities(rows))):
        other = get_training_frame(source, ["toy_latest", "toy_seq", "toy_y"], home=toy, registry=REG)
        assert other.equals(arrow), source


def test_prediction_column_may_have_another_name(toy):
    e = entities([(1, h(2))]).rename_columns(["stay_id", "t_pred"])
    f = get_training_frame(e, "toy_latest", home=toy, registry=REG, prediction_col="t_pred")
    assert col(f, "toy_latest__x") == [2.5] and "prediction_time" in f.column_names


def test_split_joins_features_splits_by_subject(toy):
    write_arrow(toy, "features", "splits", pa.table({"subject_id": pa.array([10, 11], pa.int64()),
                                                     "split": ["train", "test"]}))
    rows = [(1, 10, h(3)), (3, 11, h(3)), (2, 10, h(3))]
    cols = ("stay_id", "subject_id", "prediction_time")
    everything = frame(toy, rows, "toy_latest", columns=cols)
    assert col(everything, "split") == ["train", "test", "train"]
    train = frame(toy, rows, "toy_latest", columns=cols, split="train")
    assert col(train, "stay_id") == [1, 2] and frame_report(train)["rows_before_split"] == 3
    assert frame(toy, rows, "toy_latest", columns=cols, split="val").num_rows == 0


@pytest.mark.parametrize(("views", "columns", "kw", "message"), [
    ("nope", ("stay_id", "prediction_time"), {}, "unknown feature view 'nope'"),
    ("toy_img", ("stay_id", "prediction_time"), {}, "no column 'subject_id'"),
    ("toy_latest", ("stay_id",), {}, "prediction_time"),
    ("toy_latest", ("stay_id", "prediction_time"), {"ttl": "soon"}, "ttl"),
    ("toy_latest", ("stay_id", "prediction_time"), {"split": "dev"}, "split"),
    ("toy_latest", ("stay_id", "prediction_time"), {"split": "train"}, "subject_id"),
    ("toy_absent", ("stay_id", "prediction_time"), {}, "not materialised"),
    ("toy_latest,toy_latest", ("stay_id", "prediction_time"), {}, "twice"),
    ("", ("stay_id", "prediction_time"), {}, "no feature views"),
])
def test_bad_requests_are_one_clear_error(toy, views, columns, kw, message):
    rows = [tuple([1, h(1)][: len(columns)])]
    with pytest.raises(ClinfuseError, match=message):
        get_training_frame(entities(rows, columns), views, home=toy, registry=REG, **kw)


def test_parse_ttl():
    assert parse_ttl("24h") == timedelta(hours=24)
    assert parse_ttl("1d12h") == timedelta(hours=36)
    assert parse_ttl("90m") == parse_ttl(5400) == timedelta(minutes=90)
    assert parse_ttl("2w") == timedelta(days=14) and parse_ttl(None) is None
    for bad in ("0h", "-1h", "tomorrow", "5 parsecs", "12"):
        with pytest.raises(ClinfuseError):
            parse_ttl(bad)


# ---------------------------------------------------------------- against a brute-force reference


def test_matches_a_brute_force_point_in_time_join(home):
    rng = random.Random(5)
    rows = []
    for stay in range(1, 40):
        for i in range(rng.randint(0, 6)):
            t = None if rng.random() < 0.1 else h(rng.choice(range(0, 30, 3)))  # ties and nulls on purpose
            rows.append((stay, t, i, float(stay * 100 + i)))
    table = pa.table({"stay_id": pa.array([r[0] for r in rows], pa.int64()),
                      "subject_id": pa.array([r[0] // 3 for r in rows], pa.int64()),
                      "obs_time": pa.array([r[1] for r in rows], pa.timestamp("us")),
                      "seq": pa.array([r[2] for r in rows], pa.int32()), "x": [r[3] for r in rows],
                      "tag": ["t"] * len(rows), "a": pa.array([0.0] * len(rows), pa.float32()),
                      "b": pa.array([0.0] * len(rows), pa.float32())})
    write_arrow(home, "features", "toy_latest", table)
    ents = [(rng.randint(0, 41), h(rng.uniform(-2, 32))) for _ in range(300)]
    for ttl in (None, timedelta(hours=5)):
        f = frame(home, ents, "toy_latest", ttl=ttl)
        for (stay, t), got_x, got_t in zip(ents, col(f, "toy_latest__x"), col(f, "toy_latest__asof_time"),
                                           strict=True):
            ok = [r for r in rows if r[0] == stay and r[1] is not None and r[1] <= t
                  and (ttl is None or r[1] >= t - ttl)]
            best = max(ok, key=lambda r: (r[1], r[2])) if ok else None
            assert got_x == (best[3] if best else None)
            assert got_t == (best[1] if best else None)
            assert got_t is None or got_t <= t
        assert frame_report(f)["guards"]["leakage_rows"] == 0


# ---------------------------------------------------------------- online lookup


def test_latest_features_returns_the_latest_row_per_key_in_request_order(toy):
    out = latest_features("toy_latest", [3, 999, 1, 1], home=toy, registry=REG)
    assert out.column_names[:3] == ["stay_id", "asof_time", "seq"]
    assert col(out, "stay_id") == [3, 999, 1, 1]
    assert col(out, "x") == [77.0, None, 2.5, 2.5]  # stay 3 has only a row without as-of: it is still its latest
    assert col(out, "ab")[2] == [3.0, -3.0]
    seq = latest_features("toy_seq", ["1", "2"], home=toy, registry=REG)  # strings become integer keys
    assert col(seq, "step") == [4, 0] and col(seq, "values") == [[2.0, 14.0], [7.0, 15.0]]
    assert col(latest_features("toy_y", [{"stay_id": 2}], home=toy, registry=REG), "y") == [0]
    assert col(latest_features("toy_img", pa.table({"subject_id": [11]}), home=toy, registry=REG), "dicom_id") == ["d3"]


def test_latest_features_sees_a_rematerialised_table(toy):
    assert col(latest_features("toy_img", [10], home=toy, registry=REG), "dicom_id") == ["d2"]
    newer = pa.table({"subject_id": pa.array([10], pa.int64()), "dicom_id": ["d9"],
                      "img_time": pa.array([h(9)], pa.timestamp("us")),
                      "emb": pa.array([[9, 9, 9]], pa.list_(pa.float32(), 3)), "weights_source": ["x"]})
    write_arrow(toy, "embeddings", "toy_img", newer)
    assert col(latest_features("toy_img", [10], home=toy, registry=REG), "dicom_id") == ["d9"]


def test_latest_features_errors(toy):
    with pytest.raises(ClinfuseError, match="unknown feature view"):
        latest_features("nope", [1], home=toy, registry=REG)
    with pytest.raises(ClinfuseError, match="not an integer"):
        latest_features("toy_latest", ["x1"], home=toy, registry=REG)
    with pytest.raises(ClinfuseError, match="not materialised"):
        latest_features("toy_absent", [1], home=toy, registry=REG)
    with pytest.raises(ClinfuseError, match="no keys"):
        latest_features("toy_latest", [], home=toy, registry=REG)


# ---------------------------------------------------------------- time zones


@pytest.fixture
def tokyo(monkeypatch):
    """The machine's local zone east of UTC (+09:00): DuckDB's default session zone is the local one."""
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_an_aware_prediction_time_is_taken_in_utc_whatever_the_local_zone(toy, tokyo):
    from datetime import timezone

    from features.store import leakage_rows

    plus2 = timezone(timedelta(hours=2))
    at = (h(1) + timedelta(hours=2)).replace(tzinfo=plus2)  # 03:00+02:00 = 01:00 UTC: only the h(0) row is known
    aware = pa.table({"stay_id": pa.array([1], pa.int64()), "prediction_time": pa.array([at], pa.timestamp("us", "+02:00"))})
    f = get_training_frame(aware, "toy_latest", home=toy, registry=REG)
    assert col(f, "toy_latest__asof_time") == [h(0)] and col(f, "toy_latest__x") == [1.0]
    assert col(f, "prediction_time") == [h(1)]
    text = pa.table({"stay_id": pa.array([1], pa.int64()), "prediction_time": [at.isoformat()]})
    assert col(get_training_frame(text, "toy_latest", home=toy, registry=REG), "toy_latest__x") == [1.0]
    # the guard converts too: a feature at 02:00 (naive UTC) is after 03:00+02:00
    late = pa.table({"prediction_time": pa.array([at], pa.timestamp("us", "+02:00")),
                     "v__asof_time": pa.array([h(2)], pa.timestamp("us"))})
    assert leakage_rows(late) == 1
    assert leakage_rows(late.set_column(0, "prediction_time", pa.array([at.isoformat()]))) == 1
