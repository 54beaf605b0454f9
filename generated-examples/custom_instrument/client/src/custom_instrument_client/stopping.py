"""Wait until a service process is asked to stop: SIGINT, SIGTERM, or Enter at a terminal.

Template-owned; the server and the example plug-ins use it. NI Discovery Service
starts services with no console, so stopping never depends on stdin: Enter
works only when a terminal is attached, and a closed stdin changes nothing.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

_logger = logging.getLogger(__name__)


def wait_until_stopped(stop: threading.Event | None = None) -> None:
    """Block until a stop signal, Enter at a terminal, or `stop` being set."""
    stop = stop or threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        _logger.info("Received %s; stopping.", signal.Signals(signum).name)
        stop.set()

    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), handle)
    stdin = sys.stdin
    if stdin is not None and not stdin.closed and stdin.isatty():
        print("Press Enter to stop.", file=sys.stderr, flush=True)
        threading.Thread(target=_set_on_enter, args=(stdin, stop), daemon=True).start()
    while not stop.wait(0.5):
        pass


def _set_on_enter(stdin: object, stop: threading.Event) -> None:
    try:
        stdin.readline()  # type: ignore[attr-defined]
    except (OSError, ValueError):
        return
    stop.set()
