"""`clinfuse` command line. Thin: every command calls the library packages.

Exit code 0 on success; on failure one line `clinfuse: error: <reason>` on stderr and exit 1
(2 for usage errors, as argparse does).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

from clinfuse.output import print_aligned
from warehouse.lake import ClinfuseError

# -------------------------------------------------------------------------- helpers


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _add_home(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", help="home directory for the lake, catalog and runs (default: $CLINFUSE_HOME or ./.clinfuse)")


def _add_sources(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mimic-iv", metavar="DIR", help="MIMIC-IV folder (hosp/, icu/; core/ for v1.0); $CLINFUSE_MIMIC_IV")
    p.add_argument("--mimic-cxr", metavar="DIR", help="MIMIC-CXR-JPG folder (metadata CSVs, files/); $CLINFUSE_MIMIC_CXR")
    p.add_argument("--mimic-note", metavar="DIR", help="MIMIC-IV-Note folder (note/discharge, note/radiology); $CLINFUSE_MIMIC_NOTE")


def _sources(args, home):
    from warehouse.sources import resolve_sources

    return resolve_sources(home, progress=_log, mimic_iv=args.mimic_iv, mimic_cxr=args.mimic_cxr,
                           mimic_note=args.mimic_note)


# -------------------------------------------------------------------------- commands


def cmd_synth(args) -> int:
    from warehouse.sources import synthetic_sources
    from warehouse.synth import generate

    out = Path(args.out)
    _log(f"generating {args.patients} synthetic patients (seed {args.seed}, layout {args.layout}) into {out}")
    summary = generate(out, patients=args.patients, seed=args.seed, layout=args.layout,
                       images=not args.no_images, notes=not args.no_notes, compress=not args.csv)
    print(f"patients {summary['patients']:,}  admissions {summary['admissions']:,}  "
          f"icu stays {summary['icustays']:,}  images {summary['images']:,}  ({summary['seconds']:.1f}s)")
    flags = " ".join(f"--{kind.replace('_', '-')} {path}" for kind, path in synthetic_sources(out).as_dict().items() if path)
    print(f"ingest with: clinfuse ingest {flags}")
    return 0


def cmd_ingest(args) -> int:
    from clinfuse.config import resolve_home
    from warehouse.ingest import ingest
    from warehouse.lake import home_lock, shard_count

    home = resolve_home(args.home)
    sources = _sources(args, home)
    start = time.monotonic()
    with home_lock(home, "clinfuse ingest"):
        report = ingest(home, sources, shards=args.shards or shard_count(), force=args.force, progress=_log)
    present = [r for r in report.results if r.status != "absent"]
    print(f"ingested {len(present)} tables, {sum(r.rows for r in present):,} rows in "
          f"{time.monotonic() - start:.1f}s into {home.catalog_path}")
    sums = [r for r in report.results if r.checksum]
    if sums:
        bad = report.checksum_mismatches
        print(f"checksums: {len(sums) - len(bad)} ok, {len(bad)} mismatch"
              + "".join(f"\n  MISMATCH {r.path}" for r in bad))
    for r in report.manifest_mismatches:
        print(f"warning: raw.{r.table} has {r.rows:,} rows; the {r.release} manifest says {r.expected_rows:,}")
    for r in report.results:
        if r.nonfinite_values:
            print(f"note: raw.{r.table}: {r.nonfinite_values:,} non-finite numbers (NaN, inf) stored as NULL")
    for path in report.unknown_files:
        print(f"warning: {path}: not a known MIMIC table, not ingested")
    return 0


def cmd_run(args) -> int:
    from clinfuse.config import home_root, resolve_home
    from pipelines.run import check_selection, materialize_selection

    sets = tuple(args.set or ())
    keys = check_selection(home_root(args.home), args.select, args.config, sets)  # a typo creates nothing
    if args.dry_run:
        print(f"would materialise {len(keys)} assets: {', '.join(keys)}")
        return 0
    home = resolve_home(args.home)
    sources = _sources(args, home)
    result = materialize_selection(home, sources, args.select, progress=_log, config_file=args.config,
                                   sets=sets, verbose=args.verbose, workers=args.workers)
    print(f"materialised {result['assets']} assets in {result['seconds']:.1f}s (run {result['run_id']})")
    if result["check_warnings"]:
        print("check warnings: " + ", ".join(result["check_warnings"]))
    if result["failed_checks"]:
        raise ClinfuseError("failed checks (severity error): " + ", ".join(result["failed_checks"]))
    return 0


def _format_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def cmd_sql(args) -> int:
    from clinfuse.config import existing_home
    from warehouse.lake import catalog

    home = existing_home(args.home)
    if not home.catalog_path.exists():
        raise ClinfuseError(f"{home.catalog_path}: no catalog yet; run `clinfuse ingest` first")
    import duckdb

    try:
        statements = duckdb.extract_statements(args.query)
    except duckdb.Error as exc:
        raise ClinfuseError(str(exc).splitlines()[0]) from None
    if len(statements) > 1:  # DuckDB would run them all and return only the last result
        raise ClinfuseError(f"{len(statements)} statements given; clinfuse sql runs one per call "
                            f"(combine them with UNION ALL, or call it once per statement)")
    with catalog(home, write=False) as con:
        try:
            cursor = con.execute(args.query)
        except duckdb.Error as exc:
            raise ClinfuseError(str(exc).splitlines()[0]) from None
        columns = [d[0] for d in cursor.description] if cursor.description else []
        rows = cursor.fetchall() if columns else []
    if args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_format_value(v) if v is not None else "" for v in row] for row in rows])
    elif args.format == "json":
        print(json.dumps([dict(zip(columns, row, strict=True)) for row in rows], default=str, indent=1))
    else:
        print_aligned(columns, [[_format_value(v) for v in row] for row in rows])
    return 0


def cmd_ui(args) -> int:
    from clinfuse.config import resolve_home
    from pipelines.run import dagster_env

    home = resolve_home(args.home)
    env = dagster_env(home, _sources(args, home))
    # `dagster dev`: the webserver and the daemon. Without the daemon a run launched from the UI stays queued
    # (the instance's default run coordinator queues) and the sensor and automation switched on never tick.
    cmd = [sys.executable, "-m", "dagster", "dev", "-h", args.host, "-p", str(args.port),
           "-m", "pipelines.definitions"]
    if not _is_loopback(args.host):
        _log(f"warning: the Dagster UI has no authentication; on {args.host} anyone who can reach port "
             f"{args.port} can read this home's data and start runs (keep 127.0.0.1, or put it behind an "
             f"authenticating proxy)")
    _log(f"Dagster UI on http://{args.host}:{args.port} (home {home.root}); Ctrl-C stops it")
    os.execvpe(cmd[0], cmd, {**os.environ, **env})
    return 0  # not reached


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def cmd_doctor(args) -> int:
    from clinfuse.doctor import report

    lines, ok = report(args.home)
    print("\n".join(lines))
    return 0 if ok else 1


def cmd_demo_fetch(args) -> int:
    from warehouse.demo_data import fetch_demo

    out = fetch_demo(Path(args.out), base_url=args.base_url, progress=_log)
    print(f"MIMIC-IV demo in {out}; ingest with: clinfuse ingest --mimic-iv {out}")
    return 0


# -------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clinfuse",
        description="MIMIC-IV + MIMIC-CXR-JPG -> a multimodal feature store (Parquet + DuckDB) and the Dagster graph over it.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("synth", help="generate a synthetic MIMIC-IV / -Note / -CXR-JPG source",
                       description="Write files a MIMIC loader cannot tell apart from the real ones, with planted signal.")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (gets mimic-iv/, mimic-iv-note/, mimic-cxr-jpg/)")
    p.add_argument("--patients", type=int, default=300, metavar="N",
                   help="number of synthetic patients to write (default 300)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="random seed: the same seed and options give the same files (default 0)")
    p.add_argument("--layout", choices=["v1.0", "v2.2", "v3.1"], default="v2.2")
    p.add_argument("--no-images", action="store_true", help="write the CXR tables but no JPEG files")
    p.add_argument("--no-notes", action="store_true", help="skip MIMIC-IV-Note")
    p.add_argument("--csv", action="store_true", help="write plain .csv instead of .csv.gz")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("ingest", help="stream the source CSVs into the Parquet lake and the raw.* views",
                       description="Detect each source's layout, stream every known table into typed Parquet, "
                                   "verify SHA256SUMS.txt and row-count manifests, record raw.sources.")
    _add_home(p)
    _add_sources(p)
    p.add_argument("--shards", type=int, default=None,
                   help="subject shards for per-patient tables (default $CLINFUSE_SHARDS, else 8; a home keeps "
                        "the count it was built with)")
    p.add_argument("--force", action="store_true", help="re-ingest tables whose file did not change")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("run", help="materialise Dagster assets",
                       description="Materialise a Dagster asset selection (default: everything); independent "
                                   "steps run in parallel, one process each. One run per home at a time.")
    _add_home(p)
    _add_sources(p)
    p.add_argument("--select", default="*", metavar="SELECTION",
                   help='Dagster selection syntax, e.g. "raw/hosp_admissions" or "+key:raw/sources" (default: all)')
    p.add_argument("--config", metavar="FILE.yaml",
                   help="Dagster run config, the Launchpad's YAML: ops: {OP: {config: {...}}}")
    p.add_argument("--set", action="append", metavar="ASSET.FIELD=VALUE",
                   help="set one asset config field, e.g. features/timeseries_events.mode=faithful or "
                        "models/medfuse_ihm.epochs=5 (repeatable; applied after --config)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="steps run at once, each in its own process (default $CLINFUSE_WORKERS, else one per "
                        "core); 1 runs them all in this process")
    p.add_argument("--dry-run", action="store_true",
                   help="check the selection and config, list the assets it would materialise, and stop")
    p.add_argument("--verbose", action="store_true",
                   help="show Dagster's full messages and tracebacks on the terminal (they always go to "
                        "<home>/logs/run-<run id>.log)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sql", help="run SQL on the catalog",
                       description="Run one SQL statement on warehouse.duckdb (read-only); several statements "
                                   "separated by ';' are refused rather than showing only the last result.")
    _add_home(p)
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("query", metavar="SQL")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("ui", help="start the Dagster UI on 127.0.0.1", description="Start the Dagster webserver and daemon for this home.")
    _add_home(p)
    _add_sources(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="bind address (default 127.0.0.1: this machine only; the UI has no authentication)")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("doctor", help="check data paths, weights, GPU and versions",
                       description="Report what this installation sees: the home (and its permissions), each "
                                   "configured source with its detected release, the cached model weights, the "
                                   "GPU and the package versions. Exit 1 when a source or a package is unusable.")
    _add_home(p)
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("demo-data", help="the public MIMIC-IV demo", description="Download the open MIMIC-IV demo.")
    demo = p.add_subparsers(dest="demo_command", metavar="ACTION", required=True)
    f = demo.add_parser("fetch", help="download the MIMIC-IV Clinical Database Demo 2.2 from PhysioNet and verify it")
    f.add_argument("--out", required=True, metavar="DIR")
    f.add_argument("--base-url", default=None, help=argparse.SUPPRESS)
    f.set_defaults(func=cmd_demo_fetch)

    from clinfuse.features_cli import add_features_parser

    add_features_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at interpreter exit
        return code
    except ClinfuseError as exc:
        print(f"clinfuse: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `clinfuse sql ... | head`: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout at exit
        return 0
    except (OSError, ValueError) as exc:  # bad argument values and unwritable paths: one line, not a traceback
        print(f"clinfuse: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("clinfuse: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
