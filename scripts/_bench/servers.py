"""The servers under test, each a process of its own: start it, learn its address, stop it.

The generated server is the render's package; the baseline and reference servers
are this benchmark's script with `--serve` (see `servicers`). The database rows
have a generated server and a baseline of their own, on the database render's proto.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from _bench import ENTRY, affinity
from _bench.load import POOL_SIZE, Client, close_all
from _bench.project import DATABASE_SERVER_PACKAGE, SERVER_PACKAGE

KIND_GENERATED, KIND_BASELINE, KIND_REFERENCE = "generated", "baseline", "reference"
COMPARED = (KIND_GENERATED, KIND_BASELINE)  # the servers of every row
ALL_KINDS = (*COMPARED, KIND_REFERENCE)  # with NI's design, on the rows where it differs
SERVE_DATABASE_BASELINE = "database-baseline"  # --serve's name for the database's baseline
# The baseline plus only the work no server can leave out (a record written, a row
# committed): see servicers. Measured in the generated column of the floor rows.
KIND_FLOOR, SERVE_DATABASE_FLOOR = "floor", "database-floor"
KIND_FLOOR_ORJSON = "floor-orjson"  # the JSON logger's floor with orjson as its encoder
# --serve's names for the VISA instrument render's baseline and floor (see servicers).
SERVE_VISA_BASELINE, SERVE_VISA_FLOOR = "visa-baseline", "visa-floor"
LISTENING = "listening on "  # what a server prints, then its address, once it serves


@dataclass
class Target:
    """A server process under test."""

    kind: str
    process: subprocess.Popen[str]
    address: str
    _pool: list[Client] = field(default_factory=list)

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid

    def pool(self) -> list[Client]:
        """POOL_SIZE clients kept for the whole run, so their connections never show as fds.

        Created on first use, from one thread.
        """
        if not self._pool:
            self._pool.extend(Client(self.address) for _ in range(POOL_SIZE))
        return self._pool

    def close_pool(self) -> None:
        """Close the pool's channels, if it was ever created."""
        close_all(self._pool)
        self._pool.clear()


def start_target(kind: str, workdir: Path, *, database: bool = False) -> Target:
    """Start one server process; return when it prints its address.

    With `database`, the generated or baseline server of the database render.
    """
    if kind == KIND_GENERATED:
        package = DATABASE_SERVER_PACKAGE if database else SERVER_PACKAGE
        command = [sys.executable, "-m", package, "--no-discovery", "--port", "0"]
    else:
        database_kinds = {KIND_BASELINE: SERVE_DATABASE_BASELINE, KIND_FLOOR: SERVE_DATABASE_FLOOR}
        serve = database_kinds[kind] if database else kind
        command = [sys.executable, str(ENTRY), "--serve", serve]
    return launch_target(kind, command, workdir)


def launch_target(kind: str, command: list[str], workdir: Path) -> Target:
    """Run a server `command` in `workdir`; return when it prints its address (pinned)."""
    process = subprocess.Popen(
        command, cwd=workdir, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith(LISTENING):
        process.kill()
        sys.exit(f"bench: the {kind} server did not start (it printed {line!r})")
    affinity.pin_server(process.pid)
    return Target(kind, process, line.removeprefix(LISTENING).strip())


def stop_target(target: Target) -> None:
    """Close its pool's channels and stop the server (SIGTERM, then kill after 10 s)."""
    target.close_pool()
    if target.process.stdin is not None:
        with contextlib.suppress(OSError):
            target.process.stdin.close()
    target.process.terminate()
    try:
        target.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        target.process.kill()
        target.process.wait()
