"""A throw-away PostgreSQL server from Debian's packages, for the deployment's storage settings.

`postgres_server()` finds `initdb`/`pg_ctl` (PATH or /usr/lib/postgresql/<n>/bin), installing Debian's
`postgresql` once when missing (tests/debian.py), and starts a cluster on a free loopback port with password
authentication; it is skipped with the reason when none can be had. PostgreSQL refuses to run as root, so
as root the cluster runs as the `postgres` user the package creates.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.debian import apt_install


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str
    db: str

    def env(self) -> dict[str, str]:
        """The variables docker/dagster.yaml reads (docker/.env in the deployment)."""
        return {"DAGSTER_POSTGRES_HOST": self.host, "DAGSTER_POSTGRES_PORT": str(self.port),
                "DAGSTER_POSTGRES_USER": self.user, "DAGSTER_POSTGRES_PASSWORD": self.password,
                "DAGSTER_POSTGRES_DB": self.db}


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_server():
    bin_dir = _bin_dir()
    if bin_dir is None:
        reason = apt_install("postgresql")
        bin_dir = _bin_dir()
        if bin_dir is None:
            pytest.skip(reason or "apt-get installed postgresql but no initdb was found")
    as_root = os.geteuid() == 0
    if as_root:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run the server as")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    server = Postgres("127.0.0.1", _free_port(), "dagster", "test-only-password", "dagster")
    # not under pytest's tmp_path: that is root-only, and the server may run as `postgres`
    root = Path(tempfile.mkdtemp(prefix="clinfuse-pg-"))
    pwfile = root / "pw"
    pwfile.write_text(server.password)
    if as_root:
        for path in (root, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    data = root / "data"

    def run(*args: str) -> None:
        result = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {(result.stderr or result.stdout).strip()[-500:]}")

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", server.user, "--pwfile", str(pwfile),
        "--auth=scram-sha-256", "-E", "UTF8")
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
        f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1", "start")
    try:
        env = {**os.environ, "PGPASSWORD": server.password}
        subprocess.run([str(bin_dir / "createdb"), "-h", server.host, "-p", str(server.port), "-U", server.user,
                        server.db], check=True, env=env, capture_output=True, timeout=60)
        yield server
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)
