"""`clinfuse ui` as a test server: `serve_ui(home_root, synth_root)` starts it on a free loopback port in its own
process group, waits until the webserver answers, yields its base URL and stops the whole group afterwards;
its output goes to `ui.log` beside the home (a pipe nobody reads would fill and stall it). `graphql(base, query)`
asks that webserver's /graphql."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

START_TIMEOUT_S = 180  # the webserver answers once it has loaded the definitions: slow on two busy cores


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 2.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def graphql(base: str, query: str, variables: dict | None = None) -> dict:
    """The `data` of a GraphQL answer; a GraphQL error fails the test with its message."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(base + "/graphql", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            answer = json.loads(r.read())
    except urllib.error.HTTPError as exc:  # a query the schema refuses: 400 with the reason in the body
        answer = json.loads(exc.read())
    assert not answer.get("errors"), answer["errors"]
    return answer["data"]


@contextlib.contextmanager
def serve_ui(home_root: Path, synth_root: Path):
    """`clinfuse ui` (webserver and daemon) for this home and the synthetic MIMIC-IV; yields (base URL, port)."""
    port = free_port()
    # PYTHONPATH: the server and the runs it launches import this checkout's code, as the test does
    env = {**os.environ, "CLINFUSE_HOME": str(home_root),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                       os.environ.get("PYTHONPATH")]))}
    log_path = home_root.parent / "ui.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "clinfuse.cli", "ui", "--port", str(port), "--mimic-iv", str(synth_root / "mimic-iv")],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                http_get(base + "/server_info")
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(log_path.read_text(errors="replace")[-2000:])
                if time.monotonic() > deadline:
                    pytest.fail(f"the webserver did not answer within {START_TIMEOUT_S} s")
                time.sleep(0.5)
        yield base, port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
