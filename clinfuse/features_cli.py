"""`clinfuse features get|latest`: point-in-time training frames and online lookup from the command line.

Thin: both actions call `features.store`. Errors are ClinfuseError, which `clinfuse.cli.main` prints as one
line (exit 1). `add_features_parser(sub)` adds the command to the main parser.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import sys
import time

from clinfuse.output import print_aligned
from warehouse.lake import ClinfuseError


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _home(args):
    from clinfuse.config import existing_home

    return existing_home(args.home)  # reading never creates a home


# Entity columns per cohort: the keys the task views join on, subject_id (for --split) and the prediction time.
COHORT_ENTITY_COLUMNS = {
    "ihm_48h": ("stay_id", "subject_id", "hadm_id", "prediction_time"),
    "phenotyping": ("stay_id", "subject_id", "hadm_id", "prediction_time"),
    "haim_samples": ("sample_id", "subject_id", "hadm_id", "stay_id", "prediction_time"),
}


def cmd_features_entities(args) -> int:
    from features.store import cohort_entities, save_training_frame

    home = _home(args)
    table = cohort_entities(home, f"cohorts/{args.cohort}", columns=COHORT_ENTITY_COLUMNS[args.cohort])
    out = save_training_frame(table, args.out)
    print(f"wrote {table.num_rows:,} entities ({', '.join(table.column_names)}) of cohorts.{args.cohort} to {out}")
    return 0


def cmd_features_get(args) -> int:
    from features.store import frame_report, get_training_frame, save_training_frame

    home = _home(args)
    start = time.monotonic()
    frame = get_training_frame(args.entities, args.views, home=home, ttl=args.ttl, split=args.split,
                               include_labels=not args.no_labels)
    out = save_training_frame(frame, args.out)
    report = frame_report(frame)
    guards = report["guards"]
    filled = []
    for view in report["views"]:
        probe = view["asof_column"] or (view["columns"][0] if view["columns"] else None)
        if probe:
            filled.append(f"{view['name']} {frame.num_rows - frame[probe].null_count}/{frame.num_rows}")
    print(f"wrote {frame.num_rows:,} rows x {frame.num_columns} columns to {out} in {time.monotonic() - start:.2f}s"
          f" (rows with values: {', '.join(filled)}; leakage rows {guards['leakage_rows']}, "
          f"subjects crossing splits {guards['crossing_subjects']})")
    return 0


def _jsonable(value):
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "__str__") and not isinstance(value, int | float | str | bool | type(None)):
        return str(value)
    return value


def rows_as_json(table) -> list[dict]:
    """The rows of an Arrow table as JSON-ready dicts (times ISO 8601, bytes base64, NaN null)."""
    return [_jsonable(row) for row in table.to_pylist()]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return f"<{len(value):,} bytes>"
    if isinstance(value, list):
        if len(value) <= 4 and not any(isinstance(v, list | bytes) for v in value):
            return "[" + ", ".join(_cell(v) for v in value) + "]"
        inner = f" x {len(value[0])}" if value and isinstance(value[0], list) else ""
        return f"[{len(value)}{inner} values]"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def print_table(table, max_columns: int = 12) -> None:
    """Rows as aligned text: wide rows are shown transposed (one line per column)."""
    rows = table.to_pylist()
    names = table.column_names
    if len(names) > max_columns:
        for i, row in enumerate(rows):
            if i:
                print()
            width = max(len(n) for n in names)
            for n in names:
                print(f"{n.ljust(width)}  {_cell(row[n])}")
        print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    else:
        print_aligned(names, [[_cell(r[n]) for n in names] for r in rows])


def cmd_features_latest(args) -> int:
    from features.store import latest_features

    keys = [k.strip() for k in args.keys.split(",") if k.strip()]
    if not keys:
        raise ClinfuseError("--keys: give at least one key, e.g. --keys 30000153,30001234")
    table = latest_features(args.view, keys, home=_home(args))
    found = _found_rows(args.view, table)
    if any(found):
        shown = table.filter(found)
        if args.format == "json":
            print(json.dumps(rows_as_json(shown), indent=1))
        else:
            print_table(shown)
    missing = [key for key, hit in zip(keys, found, strict=True) if not hit]
    for key in missing:
        _log(f"{args.view}: key {key} not found")
    if missing:
        raise ClinfuseError(f"{len(missing)} of {len(keys)} keys not found in {args.view}: {', '.join(missing)}")
    return 0


def _found_rows(view_name: str, table) -> list[bool]:
    """Which looked-up rows exist: a feature view's row has its as-of time; a label view's row a label."""
    import pyarrow.compute as pc

    from features.store import get_view

    view = get_view(view_name)
    if view.asof and view.asof in table.column_names:
        return table[view.asof].is_valid().to_pylist()
    others = [c for c in table.column_names if c not in view.entity_keys]
    if not others:
        return [True] * table.num_rows
    valid = table[others[0]].is_valid()
    for column in others[1:]:
        valid = pc.or_(valid, table[column].is_valid())
    return valid.to_pylist()


def add_features_parser(subparsers) -> argparse.ArgumentParser:
    """Add `features get|latest` to the `clinfuse` sub-command parsers."""
    p = subparsers.add_parser(
        "features", help="point-in-time training frames and the latest feature vector per entity",
        description="The feature store: `get` builds a point-in-time training frame (features as of each "
                    "entity's prediction time, never later); `latest` looks up the latest feature vector of "
                    "entities. Views: SELECT DISTINCT view, kind, status FROM store.registry.")
    actions = p.add_subparsers(dest="features_command", metavar="ACTION", required=True)

    g = actions.add_parser(
        "get", help="point-in-time training frame -> Parquet",
        description="For each entity row (entity keys + prediction_time) join the latest feature values with "
                    "as-of <= prediction_time (sequences: every step up to it; label views by key), run the "
                    "leakage and split guards, and write the frame as Parquet.")
    g.add_argument("--home", help="home directory (default: $CLINFUSE_HOME or ./.clinfuse)")
    g.add_argument("--entities", required=True, metavar="FILE",
                   help="Parquet or CSV with the views' entity keys and prediction_time")
    g.add_argument("--views", required=True, metavar="A,B", help="feature and label views, comma-separated")
    g.add_argument("--out", required=True, metavar="FILE", help="output .parquet (or .arrow)")
    g.add_argument("--ttl", metavar="AGE", help="maximum feature age, e.g. 24h, 90m, 7d (older values become null)")
    g.add_argument("--split", choices=["train", "val", "test"], help="keep only this split (features.splits)")
    g.add_argument("--no-labels", action="store_true", help="drop label views (an inference frame)")
    g.set_defaults(func=cmd_features_get)

    e = actions.add_parser(
        "entities", help="a cohort's entity rows (keys, subject_id, prediction_time) -> Parquet",
        description="Write the entity file that `features get --entities` reads: one row per sample of a "
                    "materialised cohort with its entity keys, subject_id (so --split works) and prediction_time.")
    e.add_argument("--home", help="home directory (default: $CLINFUSE_HOME or ./.clinfuse)")
    e.add_argument("--cohort", required=True, choices=sorted(COHORT_ENTITY_COLUMNS), help="the cohort")
    e.add_argument("--out", required=True, metavar="FILE", help="output .parquet (or .arrow)")
    e.set_defaults(func=cmd_features_entities)

    s = actions.add_parser(
        "latest", help="latest feature vector of entities",
        description="The latest row of a feature view per entity key (a sequence view: its last step; a label "
                    "view: the key's labels). Keys the view does not hold are reported as not found (exit 1).")
    s.add_argument("--home", help="home directory (default: $CLINFUSE_HOME or ./.clinfuse)")
    s.add_argument("--view", required=True, help="feature view name, e.g. timeseries_ihm")
    s.add_argument("--keys", required=True, metavar="K1,K2", help="entity key values, comma-separated")
    s.add_argument("--format", choices=["table", "json"], default="table")
    s.set_defaults(func=cmd_features_latest)
    return p


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (`python -m clinfuse.features_cli features get ...`), same behaviour as `clinfuse`."""
    parser = argparse.ArgumentParser(prog="clinfuse")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_features_parser(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ClinfuseError as exc:
        print(f"clinfuse: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
