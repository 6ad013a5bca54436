"""How a run started from the command line shows itself: one short line per message on the terminal, the
full record (Dagster's events and every traceback) in a log file in the home.

A failed step is reported by its own exception's message (a ClinfuseError names the file, record and
column), not by the `DagsterExecutionStepExecutionError` that wraps it.
"""

import logging
import sys
import threading
import time
from pathlib import Path

import dagster as dg

LOG_DIR = "logs"
_FILES: dict[str, logging.Handler] = {}  # run id -> its log file handler, closed when the run ends
_FILES_LOCK = threading.Lock()


def log_path(home_root: str | Path, run_id: str) -> Path:
    return Path(home_root) / LOG_DIR / f"run-{run_id}.log"


def error_chain(error) -> list:
    chain = []
    while error is not None and len(chain) < 20:
        chain.append(error)
        error = error.cause
    return chain


def error_reason(error) -> str:
    """One line from a Dagster SerializableErrorInfo: the step's own exception (a ClinfuseError first,
    else the first exception that is not Dagster's wrapper), without its traceback."""
    chain = error_chain(error)
    blocked = next((e for e in chain if e.cls_name == "DagsterAssetCheckFailedError"), None)
    if blocked is not None:  # "N blocking asset checks failed with ERROR severity:" then one line per asset
        head, *checks = [line.strip() for line in (blocked.message or "").splitlines() if line.strip()]
        return f"{head.rpartition('Error: ')[2].rstrip(':')}: {'; '.join(checks)}"
    chosen = next((e for e in chain if e.cls_name == "ClinfuseError"), None)
    chosen = chosen or next((e for e in chain if not (e.cls_name or "").startswith("Dagster")), chain[-1])
    lines = [line for line in (chosen.message or "").strip().splitlines() if line.strip()]
    first = lines[0].strip() if lines else (chosen.cls_name or "error")
    prefix, sep, rest = first.partition(": ")
    if sep and prefix.rsplit(".", 1)[-1] == chosen.cls_name:  # "warehouse.lake.ClinfuseError: msg"
        return rest if chosen.cls_name == "ClinfuseError" else f"{chosen.cls_name}: {rest}"
    return first


class _ShortFormatter(logging.Formatter):
    """`HH:MM:SS step: message`, and for an event carrying an error, the error's one-line reason."""

    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None)
        clock = time.strftime("%H:%M:%S", time.localtime(record.created))
        if not meta:
            return f"{clock} {record.getMessage().splitlines()[0] if record.getMessage() else ''}"
        message = (meta.get("orig_message") or "").strip()
        event = meta.get("dagster_event")
        error = getattr(getattr(event, "event_specific_data", None), "error", None) if event else None
        if error is not None and event.event_type_value == "STEP_FAILURE":
            message = f"failed: {error_reason(error)}"
        elif message:
            message = message.splitlines()[0]
        step = meta.get("step_key")
        return f"{clock} {step + ': ' if step else ''}{message}"


class _TerminalHandler(logging.Handler):
    """Writes to the current sys.stderr (so redirections and pytest's capture see it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # a closed terminal must not fail the run
            self.handleError(record)


@dg.logger(
    config_schema={
        "log_level": dg.Field(str, default_value="INFO", description="threshold of the terminal lines"),
        "verbose": dg.Field(bool, default_value=False, description="the terminal gets Dagster's full messages"),
        "home": dg.Field(str, default_value="", description="home whose logs/ folder gets the run's log file"),
    },
    description="clinfuse: short lines on the terminal, the full record in <home>/logs/run-<run id>.log",
)
def clinfuse_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    config = init_context.logger_config
    logger = logging.getLoggerClass()(f"clinfuse.run.{init_context.run_id}", level=logging.DEBUG)
    terminal = _TerminalHandler()
    terminal.setLevel(config["log_level"].upper())
    if config["verbose"]:
        terminal.setFormatter(logging.Formatter("%(asctime)s - %(levelname)s - %(message)s"))
    else:
        terminal.setFormatter(_ShortFormatter())
    logger.addHandler(terminal)
    if config["home"] and init_context.run_id:
        path = log_path(config["home"], init_context.run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8", delay=True)
        handler.setLevel(logging.DEBUG)
        handler.setFormatter(logging.Formatter("%(asctime)s - %(levelname)s - %(message)s"))
        logger.addHandler(handler)
        with _FILES_LOCK:
            _FILES[init_context.run_id] = handler
    return logger


def close_log(run_id: str) -> None:
    with _FILES_LOCK:
        handler = _FILES.pop(run_id, None)
    if handler is not None:
        handler.close()
