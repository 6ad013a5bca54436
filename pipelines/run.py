"""Materialise a selection of the graph, recorded in the home's Dagster instance (so the UI shows runs
started from the command line): independent steps run in parallel, one process each (Dagster's
multiprocess executor), or all in this process with one worker."""

import contextlib
import os
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from pipelines.resources import ClinfuseResource
from warehouse.lake import ClinfuseError, Home, claim_shards, home_lock, process_alive, shard_count
from warehouse.sources import ENV_VARS, Sources, save_sources

# Pools: `gpu` (embedding and training steps) and `duckdb` (the steps that write the catalog beyond a view
# refresh) get one slot each. dagster.yaml takes only a default limit (a per-pool map is rejected by its schema),
# so the default is 1 and both pools are also set in the instance's database, where `dagster instance
# concurrency get` and the UI list them. A home made before keeps its other settings and gains these.
# `nux: enabled: false` is the server-side switch of the UI's "Join the Dagster community" dialog (the
# webserver's shouldShowNux); the dialog's own "seen" mark is a browser localStorage key (communityNux)
# plus the file $DAGSTER_HOME/.nux/nux.yaml, which is written too.
INSTANCE_BLOCKS = {
    "telemetry:": "telemetry:\n  enabled: false\n",
    "nux:": "nux:\n  enabled: false\n",
    "concurrency:": "concurrency:\n  pools:\n    default_limit: 1\n    granularity: op\n",
    "run_monitoring:": "run_monitoring:\n  enabled: true\n  free_slots_after_run_end_seconds: 300\n",
}


POOL_LIMITS = {"gpu": 1, "duckdb": 1}


def _ensure_instance_config(home: Home) -> None:
    yaml_path = home.dagster / "dagster.yaml"
    text = yaml_path.read_text() if yaml_path.exists() else ""
    missing = [block for key, block in INSTANCE_BLOCKS.items() if not any(
        line.startswith(key) for line in text.splitlines())]
    if missing:
        yaml_path.write_text((text.rstrip("\n") + "\n" if text.strip() else "") + "".join(missing))
    nux_seen = home.dagster / ".nux" / "nux.yaml"  # where dagster._core.nux.set_nux_seen marks it
    if not nux_seen.exists():
        nux_seen.parent.mkdir(exist_ok=True)
        nux_seen.write_text("seen: 1\n")


def home_instance(home: Home) -> dg.DagsterInstance:
    """The home's Dagster instance, with its settings (INSTANCE_BLOCKS) and the pools' limits in place."""
    _ensure_instance_config(home)
    instance = dg.DagsterInstance.from_config(str(home.dagster))
    storage = instance.event_log_storage
    limits = {p.name: p.limit for p in storage.get_pool_limits()}
    for pool, limit in POOL_LIMITS.items():
        if limits.get(pool) != limit:
            storage.set_concurrency_slots(pool, limit)
    return instance


def _fail_abandoned_runs(instance: dg.DagsterInstance, progress) -> None:
    """A `clinfuse run` killed outright (SIGKILL, out of memory) leaves its run "started" and its pool slot
    claimed, and with no daemon nothing would ever free it: the next training would wait for ever. Runs of
    this machine whose process is gone are marked failed and their slots freed."""
    host = socket.gethostname()
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED,
                                                             dg.DagsterRunStatus.STARTING],
                                                   tags={"clinfuse/host": host}))
    for run in runs:
        pid = int(run.tags.get("clinfuse/pid", "0"))
        if pid and not process_alive(pid):
            instance.report_run_failed(run, "the clinfuse process running it ended without finishing (killed?)")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            progress(f"run {run.run_id[:8]} (pid {pid}) was left unfinished by a killed process: "
                     f"marked failed in the Dagster instance, its pool slots freed")
    # A run interrupted while a step of it held a slot (the step process ended with the run) ends failed with
    # the slot still claimed; with no daemon to free it after free_slots_after_run_end_seconds, do it here.
    storage = instance.event_log_storage
    for pool in storage.get_concurrency_keys():
        for run_id in sorted({slot.run_id for slot in storage.get_concurrency_info(pool).claimed_slots}):
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
                progress(f"run {run_id[:8]} ended with its {pool} slot still claimed: freed")


def dagster_env(home: Home, sources: Sources) -> dict[str, str]:
    """Environment for a Dagster process (webserver, daemon) that serves this home and these sources."""
    home_instance(home).dispose()
    env = {"DAGSTER_HOME": str(home.dagster), "CLINFUSE_HOME": str(home.root)}
    env.update({ENV_VARS[k]: v for k, v in sources.as_dict().items() if v})
    return env


def run_config_for(defs: dg.Definitions, config_file: str | None = None, sets: tuple[str, ...] = ()) -> dict:
    """Dagster run config from a run-config YAML file (Dagster's own format) and `ASSET.FIELD=VALUE`
    overrides (`features/timeseries_events.mode=faithful`; values are read as YAML: 1.0, true, [AP, PA])."""
    import yaml

    from warehouse.sources import load_yaml_mapping

    config: dict = {}
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise ClinfuseError(f"{path}: run-config file not found")
        config = load_yaml_mapping(path, "a run config mapping (ops: ..., resources: ...)")
    for item in sets:
        key, eq, text = item.partition("=")
        asset, dot, field = key.strip().rpartition(".")
        if not eq or not dot or not asset or not field:
            raise ClinfuseError(f"--set {item!r}: expected ASSET.FIELD=VALUE, e.g. features/timeseries_events.mode=faithful")
        try:
            op = defs.resolve_assets_def(dg.AssetKey.from_user_string(asset)).op.name
        except Exception:  # dagster raises several types for an unknown key
            raise ClinfuseError(f"--set {item!r}: no asset {asset!r}") from None
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        config.setdefault("ops", {}).setdefault(op, {}).setdefault("config", {})[field] = value
    return config


def _validate_run_config(job: dg.JobDefinition, run_config: dict) -> None:
    from dagster._core.errors import DagsterInvalidConfigError

    try:
        dg.validate_run_config(job, run_config)
    except DagsterInvalidConfigError as exc:
        errors = getattr(exc, "errors", None) or []
        reason = errors[0].message if errors else str(exc).splitlines()[0]
        raise ClinfuseError(f"run config: {' '.join(reason.split())}") from None


def preflight(sources: Sources) -> None:
    """A source folder that is not MIMIC fails here, once, before any step starts."""
    from warehouse.sources import detect_all

    detect_all(sources)


def _resolve_keys(defs: dg.Definitions, selection: str, progress) -> set:
    graph = defs.resolve_asset_graph()
    try:
        chosen = dg.AssetSelection.from_string(selection) if selection not in ("*", "") else dg.AssetSelection.all()
        keys = chosen.resolve(graph)
    except Exception as exc:  # dagster raises several types for a bad selection string
        reason = str(exc).splitlines()[0].split(". ")[0]  # the first sentence, not Dagster's advice
        raise ClinfuseError(f"selection {selection!r}: {reason}") from None
    if not keys:
        raise ClinfuseError(f"selection {selection!r} matches no asset")
    return _whole_multi_assets(defs, keys, progress)


def _job(defs: dg.Definitions, keys: set) -> dg.JobDefinition:
    from pipelines.logs import clinfuse_logger

    job = dg.define_asset_job("clinfuse_cli_run", selection=dg.AssetSelection.assets(*keys))
    job_defs = dg.Definitions.merge(defs, dg.Definitions(jobs=[job], loggers={"clinfuse": clinfuse_logger}))
    return job_defs.resolve_job_def("clinfuse_cli_run")


@contextlib.contextmanager
def quiet_dagster_notices() -> Iterator[None]:
    """Dagster's beta/preview notices about its own API are not the user's business."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        warnings.simplefilter("ignore", dg.PreviewWarning)
        yield


def _definitions(resource: ClinfuseResource, shards: int) -> dg.Definitions:
    with quiet_dagster_notices():
        from pipelines.definitions import build_definitions

        return build_definitions(resource, shards)


def check_selection(home_root: Path, selection: str = "*", config_file: str | None = None,
                    sets: tuple[str, ...] = (), settings: dict | None = None) -> list[str]:
    """Validate a selection and its config without a home or sources: a typo fails before anything is
    created or generated. Returns the asset keys the selection materialises."""
    defs = _definitions(ClinfuseResource(home=str(home_root), **(settings or {})), shard_count())
    keys = _resolve_keys(defs, selection, lambda m: None)
    _validate_run_config(_job(defs, keys), run_config_for(defs, config_file, sets))
    return sorted(k.to_user_string() for k in keys)


WORKERS_ENV = "CLINFUSE_WORKERS"
REPO = Path(__file__).resolve().parents[1]
# Step processes are forked from one server process that imported the graph (torch, DuckDB, every asset
# module) once: a fresh interpreter per step ("spawn", Dagster's default) spends seconds importing each time.
PRELOAD = ["pipelines.preload"]


def worker_count(workers: int | None = None) -> int:
    """How many steps run at once: `workers`, else $CLINFUSE_WORKERS, else one per core."""
    if workers is None:
        text = os.environ.get(WORKERS_ENV, "").strip()
        if not text:
            return os.cpu_count() or 1
        try:
            workers = int(text)
        except ValueError:
            raise ClinfuseError(f"{WORKERS_ENV}={text!r}: expected a whole number of worker processes") from None
    if workers < 1:
        raise ClinfuseError(f"workers must be at least 1, got {workers}")
    return workers


def _resource(home: str, sources: dict, settings: dict) -> ClinfuseResource:
    return ClinfuseResource(home=home, **{k: v or "" for k, v in sources.items()}, **settings)


def cli_job(home: str, sources: dict, settings: dict, shards: int, keys: list, env: dict,
            parent: int) -> dg.JobDefinition:
    """The job of one `clinfuse run`, built from JSON values: the multiprocess executor rebuilds it in every
    step process from the same values (dg.build_reconstructable_job), so no step relies on this process."""
    if os.getpid() != parent:
        _become_step_process(env, parent)
    return _job(_definitions(_resource(home, sources, settings), shards), {dg.AssetKey(path) for path in keys})


def _become_step_process(env: dict, parent: int) -> None:
    """A step process takes the run's CLINFUSE_* variables (the fork server it comes from keeps the
    environment of the first run of its Python process) and ends when the `clinfuse run` process does: a
    run killed outright must not leave steps writing to the home. The fork server cannot see that death
    (each step holds the pipe end that would tell it), so a thread here watches the run's process."""
    for key in [k for k in os.environ if k.startswith("CLINFUSE_")]:
        del os.environ[key]
    os.environ.update(env)
    threading.Thread(target=_end_with, args=(parent,), daemon=True, name="clinfuse-parent-watch").start()


def _end_with(parent: int) -> None:
    while process_alive(parent):
        time.sleep(1.0)
    os._exit(1)


def materialize_selection(home: Home, sources: Sources, selection: str = "*", progress=lambda m: None,
                          settings: dict | None = None, config_file: str | None = None,
                          sets: tuple[str, ...] = (), verbose: bool = False, shards: int | None = None,
                          instance: dg.DagsterInstance | None = None, workers: int | None = None) -> dict:
    """`settings`: further ClinfuseResource fields (weights, notes_model, model_profile).
    `config_file` / `sets`: asset config, as in the Launchpad (see run_config_for).
    `shards`: subject shards (default $CLINFUSE_SHARDS, else 8, as the definitions); a home built with
    another count is refused before anything runs.
    `instance`: where the run is recorded (default: the home's instance, so the UI shows it; tests pass an
    in-memory one with one worker). `workers`: steps run at once, each in its own process (default
    $CLINFUSE_WORKERS, else one per core); 1 runs every step in this process. Pools (gpu, duckdb) hold
    either way. Returns counts, the run id, failed checks and `metadata`: asset key -> its metadata.
    A failed step raises ClinfuseError with that step's own one-line reason; Dagster's full record (every
    traceback) is in `<home>/logs/run-<run id>.log`, and on the terminal too with `verbose`.
    One run per home at a time: a second fails at once, naming the first (warehouse.lake.home_lock)."""
    workers = worker_count(workers)
    if workers > 1 and instance is not None and not instance.is_persistent:
        raise ClinfuseError("an in-memory Dagster instance cannot be shared with step processes: use one worker")
    _ensure_instance_config(home)
    with home_lock(home, "clinfuse run"):
        return _materialize(home, sources, selection, progress, settings or {}, config_file, sets, verbose,
                            shards or shard_count(), instance, workers)


def _materialize(home: Home, sources: Sources, selection: str, progress, settings: dict, config_file: str | None,
                 sets: tuple[str, ...], verbose: bool, shards: int, instance: dg.DagsterInstance | None,
                 workers: int) -> dict:
    from pipelines.logs import close_log, error_reason, log_path

    claim_shards(home, shards)
    defs = _definitions(_resource(str(home.root), sources.as_dict(), settings), shards)
    graph = defs.resolve_asset_graph()
    keys = _resolve_keys(defs, selection, progress)
    job_def = _job(defs, keys)
    run_config = run_config_for(defs, config_file, sets)
    _validate_run_config(job_def, run_config)
    preflight(sources)
    save_sources(home, sources)  # later runs without flags reuse these sources
    progress(f"materialising {len(keys)} assets (selection {selection!r}) with home {home.root}, "
             f"{workers} worker{'s' if workers > 1 else ''}")
    start = time.monotonic()
    if instance is None:
        instance = home_instance(home)
        _fail_abandoned_runs(instance, progress)
    # Partitioned (per-shard) assets run as one ranged run over every shard (single-run backfill policy).
    partitioned = any(graph.get(k).is_partitioned for k in keys)
    tags = {"dagster/asset_partition_range_start": "0",
            "dagster/asset_partition_range_end": str(shards - 1)} if partitioned else {}
    tags |= {"clinfuse/host": socket.gethostname(), "clinfuse/pid": str(os.getpid())}
    run_config = {**run_config, "loggers": {"clinfuse": {"config": {
        "log_level": os.environ.get("CLINFUSE_LOG_LEVEL", "INFO"), "verbose": verbose, "home": str(home.root)}}}}
    if workers == 1:
        run_id = str(uuid.uuid4())
        try:
            result = job_def.execute_in_process(instance=instance, raise_on_error=False, tags=tags,
                                                run_config=run_config, run_id=run_id)
        finally:
            close_log(run_id)
    else:
        job = dg.build_reconstructable_job("pipelines.run", "cli_job", reconstructable_kwargs={
            "home": str(home.root), "sources": sources.as_dict(), "settings": settings, "shards": shards,
            "keys": sorted(list(k.path) for k in keys), "parent": os.getpid(),
            "env": {k: v for k, v in os.environ.items() if k.startswith("CLINFUSE_")}},
            reconstructor_working_directory=str(REPO))
        run_config["execution"] = {"config": {"multiprocess": {
            "max_concurrent": workers, "start_method": {"forkserver": {"preload_modules": PRELOAD}}}}}
        result = dg.execute_job(job, instance, run_config=run_config, tags=tags, raise_on_error=False)
        close_log(result.run_id)
    run_id = result.run_id
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure]
        if not failures:
            raise ClinfuseError(f"run {run_id[:8]} failed (details: {log_path(home.root, run_id)})")
        for other in failures[1:]:
            progress(f"also failed: {other.step_key}: {error_reason(other.step_failure_data.error)}")
        progress(f"tracebacks: {log_path(home.root, run_id)} (or run again with --verbose)")
        first = failures[0]
        raise ClinfuseError(f"{first.step_key}: {error_reason(first.step_failure_data.error)}")
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]

    def names(severity):
        return [f"{e.asset_key.to_user_string()}:{e.check_name}" for e in failed if e.severity == severity]

    metadata = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        metadata[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
    return {"assets": len(keys), "seconds": time.monotonic() - start, "run_id": run_id,
            "failed_checks": names(dg.AssetCheckSeverity.ERROR),
            "check_warnings": names(dg.AssetCheckSeverity.WARN), "metadata": metadata}


def _whole_multi_assets(defs: dg.Definitions, keys: set, progress) -> set:
    """A multi-asset that computes several tables together runs whole: add its sibling keys."""
    out = set(keys)
    for key in keys:
        assets_def = defs.resolve_assets_def(key)
        if not assets_def.can_subset and assets_def.keys - out:
            progress(f"{key.to_user_string()} is built together with "
                     + ", ".join(sorted(k.to_user_string() for k in assets_def.keys - out)))
            out |= assets_def.keys
    return out
