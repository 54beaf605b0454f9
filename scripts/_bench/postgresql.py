"""A PostgreSQL server of the benchmark's own, started with initdb and pg_ctl, or why not.

Found as the database render's tests find it: pg_ctl on PATH, in PGBIN, or in a
Debian-style /usr/lib/postgresql/VERSION/bin. PostgreSQL refuses to run as root,
so as root it runs as `nobody`. Unlike the tests' server it keeps PostgreSQL's
default durability (fsync on, synchronous_commit on): its figures are what a
station's server with default settings does with each committed result.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ADMIN_DATABASE = "postgres"


@dataclass(frozen=True)
class PostgreSQL:
    """A running server, reachable as the `postgres` superuser without a password."""

    host: str
    port: int

    def url(self, database: str = ADMIN_DATABASE) -> str:
        """The URL of `database` on this server, as the resource accepts it."""
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def connect(self, database: str = ADMIN_DATABASE) -> Any:
        """A psycopg connection of the benchmark's own (autocommit) to `database`."""
        # By name: psycopg is installed in the benchmark's environment only.
        psycopg = importlib.import_module("psycopg")
        return psycopg.connect(
            host=self.host, port=self.port, user="postgres", dbname=database, autocommit=True
        )

    def create_databases(self, names: list[str]) -> None:
        """Create each database in `names` (empty: the resource creates its schema)."""
        with self.connect() as admin:
            for name in names:
                admin.execute(f'CREATE DATABASE "{name}"')


def _binaries() -> tuple[str, str] | str:
    """Initdb and pg_ctl, or the reason there are none."""
    pg_ctl = shutil.which("pg_ctl") or shutil.which("pg_ctl", path=os.environ.get("PGBIN", ""))
    if pg_ctl is None:
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        pg_ctl = str(versions[-1]) if versions else None
    if pg_ctl is None:
        return "no pg_ctl on PATH, in PGBIN or in /usr/lib/postgresql/*/bin"
    initdb = shutil.which("initdb", path=str(Path(pg_ctl).parent))
    if initdb is None:
        return f"no initdb next to {pg_ctl}"
    return initdb, pg_ctl


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running_postgresql() -> Iterator[PostgreSQL | str]:
    """Yield a fresh server, stopped and deleted afterwards; or the reason it could not start.

    The data directory is a new one under the system's temporary directory, not
    the benchmark's work directory: as root, the server's user must reach it.
    """
    binaries = _binaries()
    if isinstance(binaries, str):
        yield binaries
        return
    initdb, pg_ctl = binaries
    as_user: list[str] = []
    data = Path(tempfile.mkdtemp(prefix="bench-postgresql-"))
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        as_user = ["runuser", "-u", "nobody", "--"]
        shutil.chown(data, "nobody")
    cluster = str(data / "db")
    port = _free_port()
    run: dict[str, Any] = {"capture_output": True, "text": True, "timeout": 120, "check": False}
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {data}"
    steps = (
        [initdb, "-D", cluster, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        [pg_ctl, "-D", cluster, "-l", str(data / "log"), "-o", options, "-w", "start"],
    )
    try:
        for command in steps:
            try:
                result = subprocess.run([*as_user, *command], **run)
            except (OSError, subprocess.TimeoutExpired) as error:
                yield f"{Path(command[0]).name} failed: {error}"
                return
            if result.returncode != 0:
                output = (result.stderr or result.stdout).strip().splitlines()
                yield f"{Path(command[0]).name} failed: {output[-1] if output else result}"
                return
        yield PostgreSQL("127.0.0.1", port)
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", cluster, "-m", "immediate", "stop"], **run)
        shutil.rmtree(data, ignore_errors=True)
