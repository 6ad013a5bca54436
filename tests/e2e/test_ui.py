"""`clinfuse ui` starts the real Dagster webserver, bound to 127.0.0.1, serving this home's graph."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 2.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


@pytest.fixture
def webserver(tmp_path, synth_root):
    port = _free_port()
    env = {**os.environ, "CLINFUSE_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "clinfuse.cli", "ui", "--port", str(port),
         "--mimic-iv", str(synth_root / "mimic-iv")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            _get(base + "/server_info")
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(proc.stdout.read().decode()[-2000:])
            time.sleep(0.5)
    else:
        os.killpg(proc.pid, signal.SIGTERM)
        pytest.fail("webserver did not answer within 120 s")
    yield base, port
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


def test_ui_serves_the_asset_graph_on_loopback(webserver):
    base, port = webserver
    assert b"<html" in _get(base + "/").lower()
    query = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()
    request = urllib.request.Request(base + "/graphql", data=query, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        nodes = json.loads(r.read())["data"]["assetNodes"]
    keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
    assert {"raw/hosp_admissions", "raw/icu_chartevents", "raw/sources"} <= keys
    # Bound to loopback only: no other local address answers.
    hostname_ips = {ip for *_, (ip, *_) in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    for ip in hostname_ips - {"127.0.0.1"}:
        if not ip.startswith("127."):
            with pytest.raises(OSError):
                socket.create_connection((ip, port), timeout=1).close()
