"""Where a run's processes execute: every server on one CPU, the clients on the others.

Left to the scheduler on a machine with few cores, the client threads and the
server's threads land on whichever CPU is free, and move between them. A
throughput figure then says as much about where they happened to land as about
the server: on 2 cores, two identical baseline servers measured against each
other (the A/A rows) gave medians of 0.94x to 1.21x over 12 rounds, single rounds
0.44x to 1.76x. With the servers on the first CPU and the clients on the rest,
the same comparison gave 1.00x and 1.01x, rounds 0.90x to 1.26x, and the
baseline served twice the records per second (no thread migrates, so the GIL
and the caches stay on one core).

Each server is one Python process whose GIL lets it use about one core anyway,
so one CPU of its own measures what a record costs it. The PostgreSQL server of
the database rows is not pinned (it is not under test). Pinning needs Linux's
sched_setaffinity and at least 2 CPUs; elsewhere, or with --no-pin, nothing is
pinned and the report says so.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    """The CPUs the servers run on, and the CPUs the clients run on."""

    servers: frozenset[int]
    clients: frozenset[int]

    def describe(self) -> str:
        """One line for the report."""
        return f"servers pinned to CPU {_cpus(self.servers)}, clients to {_cpus(self.clients)}"


_layout: Layout | None = None
_why_not = "not pinned: --no-pin"


def pin_this_process() -> str:
    """Move this (the clients') process to every CPU but the first; return what was done.

    Servers started afterwards go to the first CPU (`pin_server`). Client processes
    started afterwards inherit this process's CPUs.
    """
    global _layout, _why_not
    if not hasattr(os, "sched_setaffinity"):
        _why_not = "not pinned: this platform has no sched_setaffinity"
        return _why_not
    available = os.sched_getaffinity(0)
    if len(available) < 2:
        _why_not = f"not pinned: only CPU {_cpus(available)} is available"
        return _why_not
    first = min(available)
    _layout = Layout(frozenset({first}), frozenset(available - {first}))
    os.sched_setaffinity(0, _layout.clients)
    return _layout.describe()


def pin_server(pid: int) -> None:
    """Move every thread of server process `pid` to the servers' CPU (if pinning).

    Threads the server starts later inherit it from the thread that starts them.
    """
    if _layout is None:
        return
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):  # the thread ended meanwhile
            os.sched_setaffinity(int(task.name), _layout.servers)


def describe() -> str:
    """What this run did about CPUs, for the report."""
    return _layout.describe() if _layout is not None else _why_not


def _cpus(cpus: frozenset[int] | set[int]) -> str:
    return ", ".join(str(cpu) for cpu in sorted(cpus))
