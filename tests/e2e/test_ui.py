"""`clinfuse ui` starts the real Dagster webserver, bound to 127.0.0.1, serving this home's graph."""

from __future__ import annotations

import socket

import pytest

from tests.dagster_ui import graphql, http_get, serve_ui


@pytest.fixture
def webserver(tmp_path, synth_root):
    with serve_ui(tmp_path / "home", synth_root) as server:
        yield server


def test_ui_serves_the_asset_graph_on_loopback(webserver):
    base, port = webserver
    assert b"<html" in http_get(base + "/").lower()
    nodes = graphql(base, "{ assetNodes { assetKey { path } } }")["assetNodes"]
    keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
    assert {"raw/hosp_admissions", "raw/icu_chartevents", "raw/sources"} <= keys
    # Bound to loopback only: no other local address answers.
    hostname_ips = {ip for *_, (ip, *_) in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    for ip in hostname_ips - {"127.0.0.1"}:
        if not ip.startswith("127."):
            with pytest.raises(OSError):
                socket.create_connection((ip, port), timeout=1).close()
