"""Headroom below the process's open-file limit, kept for client connections.

Each session may hold
descriptors (a log file, a database and its journal), and so does each client
connection. Were sessions to take the last ones, gRPC could no longer accept a
connection: a new client would hang until its deadline while gRPC retries
accept(). So a new session is refused with RESOURCE_EXHAUSTED, naming the limit
and how to raise it, while DESCRIPTOR_HEADROOM descriptors are still free.

POSIX only: Windows has no per-process limit on handles that sessions could
reach first (the C runtime's descriptor table grows as needed).
"""

from __future__ import annotations

import os
import sys
import threading

from .errors import ResourceExhaustedError

# Descriptors kept free for connections and the server's own work; a quarter of
# the limit when that is smaller (a limit of 64 keeps 16).
DESCRIPTOR_HEADROOM = 64
# Where the process's open descriptors are listed, one entry each.
_DESCRIPTOR_FOLDERS = ("/proc/self/fd", "/dev/fd")
# Counting lists every open descriptor, so with 10,000 sessions open it would cost
# milliseconds per new session. A count that finds room for many more lets that many
# new sessions go uncounted, allowing each this many descriptors (its own and a new
# client's connection): opening costs the same whatever is open.
_DESCRIPTORS_PER_UNCOUNTED_SESSION = 16
_uncounted = threading.Lock()
_uncounted_left = 0


def open_file_limit() -> int | None:
    """Return the soft RLIMIT_NOFILE of this process, or None where there is none to reach."""
    if sys.platform == "win32":
        return None
    import resource as limits  # the standard library's, not this package's .resource

    soft, _ = limits.getrlimit(limits.RLIMIT_NOFILE)
    return None if soft == limits.RLIM_INFINITY else int(soft)


def open_descriptors() -> int | None:
    """Return how many descriptors this process has open, or None if the system does not say."""
    for folder in _DESCRIPTOR_FOLDERS:
        try:
            return len(os.listdir(folder)) - 1  # listing the folder opens one more
        except OSError:
            continue
    return None


def headroom(limit: int) -> int:
    """Return how many descriptors stay free for connections under `limit`."""
    return min(DESCRIPTOR_HEADROOM, limit // 4)


def ensure_descriptor_headroom(open_sessions: int) -> None:
    """Raise ResourceExhaustedError if a new session would eat into the headroom."""
    global _uncounted_left
    with _uncounted:  # before reading the limit: a session within the budget needs nothing more
        if _uncounted_left > 0:
            _uncounted_left -= 1
            return
    limit = open_file_limit()
    if limit is None:
        return
    used = open_descriptors()
    if used is None:
        return
    free = limit - used - headroom(limit)
    if free > 0:
        with _uncounted:
            _uncounted_left = free // _DESCRIPTORS_PER_UNCOUNTED_SESSION
        return
    plural = "" if open_sessions == 1 else "s"
    raise ResourceExhaustedError(
        f"No new session: the server has {used} of its {limit} file descriptors open "
        f"(RLIMIT_NOFILE) with {open_sessions} session{plural} open, and keeps the last "
        f"{headroom(limit)} for client connections. Close sessions no longer needed, or "
        "raise the open-file limit of the server's process and restart it: the hard limit "
        "(`ulimit -Hn`; LimitNOFILE= in a systemd unit; nofile in "
        "/etc/security/limits.conf), which the server takes as its soft limit when it starts."
    )
