"""What /proc says about a server: memory, descriptors, CPU time (None where there is no /proc)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


def rss_mib(pid: int) -> float | None:
    """Resident memory of a process in MiB, or None without /proc."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def open_fds(pid: int) -> int | None:
    """Open file descriptors of a process, or None without /proc."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def settled_fds(pid: int) -> int | None:
    """Open descriptors once the count holds still for 0.2 s (at most 5 s).

    gRPC closes a finished connection's socket asynchronously, so a count taken
    right after a burst of calls can still include it.
    """
    readings = [open_fds(pid)]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (len(readings) < 5 or len(set(readings[-5:])) > 1):
        time.sleep(0.05)
        readings.append(open_fds(pid))
    return readings[-1]


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process so far, or None without /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuSampler:
    """Reads a process's CPU time at the start and the end of a window, in a thread."""

    def __init__(self, pid: int) -> None:
        """Sample process `pid` once told the window."""
        self._pid = pid
        self._thread: threading.Thread | None = None
        self.cores: float | None = None

    def window(self, begin: float, end: float) -> None:
        """Start sampling the window [begin, end] (perf_counter seconds)."""

        def sample() -> None:
            time.sleep(max(0.0, begin - time.perf_counter()))
            before = cpu_seconds(self._pid)
            time.sleep(max(0.0, end - time.perf_counter()))
            after = cpu_seconds(self._pid)
            if before is not None and after is not None:
                self.cores = (after - before) / (end - begin)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()

    def result(self) -> float | None:
        """The process's CPU use over the window, in cores (None without /proc)."""
        if self._thread is not None:
            self._thread.join()
        return self.cores
