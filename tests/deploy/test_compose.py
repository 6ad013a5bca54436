"""docker-compose.yml and docker/: the services, the loopback-only UI, the GPU reservation, no secret in the
repository, and the same instance settings as the instance `clinfuse run` creates. `docker compose config`
validates the file where the compose plugin exists (there is no Docker engine on CI machines)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from pipelines.run import INSTANCE_BLOCKS
from tests.conftest import REPO

COMPOSE = REPO / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_services(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "clinfuse_code", "webserver", "daemon"}
    code = services["clinfuse_code"]
    assert code["command"][:2] == ["dagster", "code-server"] and "pipelines.definitions" in code["command"]
    devices = code["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]  # compose requires capabilities; only user code gets the GPU
    assert services["webserver"]["ports"] == ["127.0.0.1:3000:3000"]  # the UI has no authentication
    for name in ("webserver", "daemon"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services[name]["image"] == code["image"]  # one image: the same Dagster versions everywhere
    assert any(v.startswith("clinfuse_home:") for v in code["volumes"])


def test_no_secret_in_the_repository(compose):
    ignored = subprocess.run(["git", "check-ignore", "docker/.env"], cwd=REPO, capture_output=True)
    assert ignored.returncode == 0, "docker/.env must be git-ignored"
    for document in (compose, yaml.safe_load((REPO / "docker" / "dagster.yaml").read_text())):
        for key, value in _items(document):
            if "password" in key.lower():  # only references: {env: NAME} or ${NAME...}
                assert isinstance(value, dict) and set(value) == {"env"} or str(value).startswith("${"), key
    example = (REPO / "docker" / ".env.example").read_text()
    declared = set(re.findall(r"^([A-Z_]+)=", example, flags=re.M))
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_]+)", COMPOSE.read_text()))  # $${X}: the container's own
    used |= set(re.findall(r"env: (DAGSTER_[A-Z_]+)", (REPO / "docker" / "dagster.yaml").read_text()))
    assert used <= declared, f"variables without an example value: {sorted(used - declared)}"


def _items(node, key=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield str(k), v
            yield from _items(v, str(k))
    elif isinstance(node, list):
        for v in node:
            yield from _items(v, key)


def test_instance_matches_the_cli_instance():
    deployed = yaml.safe_load((REPO / "docker" / "dagster.yaml").read_text())
    for block in INSTANCE_BLOCKS.values():
        expected = yaml.safe_load(block)
        for key, value in expected.items():
            for inner, setting in value.items():
                assert deployed[key][inner] == setting, f"{key}.{inner} differs from the CLI's instance"
    pinned = re.findall(r'"(dagster[\w-]*)==([\d.]+)"', (REPO / "pyproject.toml").read_text())
    versions = {name: version for name, version in pinned}
    assert versions["dagster"] == versions["dagster-webserver"]
    # the libraries are released in lockstep with the core: 1.13.N <-> 0.29.N
    assert versions["dagster-postgres"].split(".")[2] == versions["dagster"].split(".")[2]


def test_docker_compose_config_validates(tmp_path):
    docker = shutil.which("docker")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True) if docker else None
    if probe is None or probe.returncode != 0:
        pytest.skip("no docker compose plugin on this machine")
    env_file = REPO / "docker" / ".env"
    created = not env_file.exists()
    if created:
        env_file.write_text((REPO / "docker" / ".env.example").read_text())
    try:
        result = subprocess.run([docker, "compose", "config", "--quiet"], cwd=REPO, capture_output=True, text=True)
    finally:
        if created:
            env_file.unlink()
    assert result.returncode == 0, result.stderr
