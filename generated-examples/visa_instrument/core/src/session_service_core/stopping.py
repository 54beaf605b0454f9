"""Stop a service process cleanly, with or without a console.

The server and the example plug-ins use it. NI Discovery Service
starts services from their .serviceconfig with no console of their own (stdin is
NUL or a closed pipe), so stopping never depends on stdin. A process stops on:

- POSIX: SIGINT or SIGTERM;
- Windows: Ctrl+C, Ctrl+Break (what `GenerateConsoleCtrlEvent` sends to a process
  group) and closing the console window, through SetConsoleCtrlHandler (pywin32).
  After a close Windows ends the process as soon as the handler returns, so the
  handler waits until the process has cleaned up (`Stopper.finished`), at most
  CLEANUP_SECONDS. That needs the real interpreter: run through .venv's
  python.exe redirector, the redirector dies at the close and its job ends the
  server with it (start.bat runs the real one). Log-off and shutdown are handled
  the same way, but Windows does not send them to console programs that load
  user32.dll, which pywin32 does: they are not clean stops;
- Enter, only when stdin is a real console (GetConsoleMode on Windows, a terminal
  on POSIX). End of input never stops the process.

Not a clean stop: TerminateProcess on Windows (Task Manager's End task,
`taskkill /F`, `Popen.terminate()`, `os.kill(pid, signal.SIGTERM)`) and SIGKILL
on POSIX cannot be caught; sessions then end with the process and the
registration stays with NI Discovery Service until it finds the service gone.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TextIO

# Windows console control events (wincon.h).
CTRL_C_EVENT = 0
CTRL_BREAK_EVENT = 1
CTRL_CLOSE_EVENT = 2
CTRL_LOGOFF_EVENT = 5
CTRL_SHUTDOWN_EVENT = 6
# Windows ends a process 5 s after a close event; cleanup must be done before that.
CLEANUP_SECONDS = 4.5
_CONSOLE_EVENTS = {
    CTRL_C_EVENT: "Ctrl+C",
    CTRL_BREAK_EVENT: "Ctrl+Break",
    CTRL_CLOSE_EVENT: "console window closed",
    CTRL_LOGOFF_EVENT: "user logging off",
    CTRL_SHUTDOWN_EVENT: "system shutting down",
}
# After these, Windows ends the process when the handler returns.
_ENDS_ON_RETURN = frozenset({CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT})
_logger = logging.getLogger(__name__)


class Stopper:
    """A stop request, set by a signal, a console event or Enter; thread-safe."""

    def __init__(self) -> None:
        self._requested = threading.Event()
        self._finished = threading.Event()
        self._lock = threading.Lock()
        self.reason: str | None = None

    def request(self, reason: str) -> None:
        """Ask the process to stop; the first reason is kept."""
        with self._lock:
            if self.reason is None:
                self.reason = reason
                _logger.info("Stopping: %s.", reason)
        self._requested.set()

    @property
    def requested(self) -> bool:
        """Whether a stop has been asked for."""
        return self._requested.is_set()

    def wait(self) -> str:
        """Block until a stop is asked for; return its reason."""
        # Short waits keep the main thread where Python can run signal handlers.
        while not self._requested.wait(0.25):
            pass
        return self.reason or "stop requested"

    def finished(self) -> None:
        """Say that cleanup is done: a waiting Windows console handler may return."""
        self._finished.set()

    def wait_finished(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for `finished`; return whether it came."""
        return self._finished.wait(timeout)


@contextmanager
def stop_requests(stdin: TextIO | None = None) -> Iterator[Stopper]:
    """Install every stop handler; the block serves, then cleans up before it exits.

    Leaving the block marks cleanup as finished, so put the cleanup inside it.
    `stdin` defaults to sys.stdin; Enter on it stops only at a real console.
    """
    stopper = Stopper()
    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _signal_handler(stopper))
    install_console_handler(stopper)
    watch_enter(sys.stdin if stdin is None else stdin, stopper)
    try:
        yield stopper
    finally:
        stopper.finished()


def _signal_handler(stopper: Stopper) -> Callable[[int, FrameType | None], None]:
    def handle(signum: int, _frame: FrameType | None) -> None:
        stopper.request(f"received {signal.Signals(signum).name}")

    return handle


def console_event_action(event: int) -> tuple[str | None, bool]:
    """Decide how to answer a Windows console control event.

    Returns the stop reason (None: not a stop event, let Windows handle it) and
    whether to hold the handler until cleanup is finished, because Windows ends
    the process as soon as it returns.
    """
    reason = _CONSOLE_EVENTS.get(event)
    return reason, reason is not None and event in _ENDS_ON_RETURN


def answer_console_event(stopper: Stopper, event: int, cleanup_seconds: float) -> bool:
    """Handle one console control event as SetConsoleCtrlHandler calls it; True: handled."""
    reason, hold = console_event_action(event)
    if reason is None:
        return False
    stopper.request(reason)
    if hold and not stopper.wait_finished(cleanup_seconds):
        _logger.error("Cleanup took over %s s; Windows ends the process now.", cleanup_seconds)
    return True


def install_console_handler(stopper: Stopper) -> bool:
    """On Windows, route console control events to `stopper`; return whether installed."""
    if sys.platform != "win32":
        return False
    try:
        import win32api  # type: ignore[import-untyped, unused-ignore]  # pywin32
    except ImportError:
        _logger.warning(
            "pywin32 is not installed: closing the console window will not close sessions "
            "or unregister. Install it with `python -m pip install pywin32`."
        )
        return False

    def handler(event: int) -> bool:
        return answer_console_event(stopper, event, CLEANUP_SECONDS)

    win32api.SetConsoleCtrlHandler(handler, True)
    return True


def stdin_is_console(stdin: TextIO | None, is_console: Callable[[int], bool]) -> bool:
    """Tell whether `stdin` is a real console, asking `is_console` about its descriptor.

    No stdin, a closed one, one without a descriptor, or a check that fails (an
    invalid handle) all mean no console.
    """
    if stdin is None:
        return False
    try:
        descriptor = stdin.fileno()
    except (OSError, ValueError, AttributeError):  # closed, or not backed by a descriptor
        return False
    if descriptor < 0:
        return False
    try:
        return is_console(descriptor)
    except OSError:
        return False


def platform_console_check() -> Callable[[int], bool]:
    """The console test of this platform.

    POSIX: a terminal. Windows: GetConsoleMode succeeds on the descriptor's handle
    (isatty is no use there: the C runtime calls NUL a terminal).
    """
    if sys.platform == "win32":
        return _windows_console_check
    return os.isatty


if sys.platform == "win32":
    import ctypes
    import msvcrt
    from ctypes import wintypes

    def _windows_console_check(descriptor: int) -> bool:
        """True when GetConsoleMode accepts the descriptor's handle (not NUL, a pipe, a file)."""
        handle = msvcrt.get_osfhandle(descriptor)
        mode = wintypes.DWORD()
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        return bool(kernel32.GetConsoleMode(wintypes.HANDLE(handle), ctypes.byref(mode)))


def watch_enter(stdin: TextIO | None, stopper: Stopper) -> bool:
    """Stop on Enter if `stdin` is a real console; return whether it is watched."""
    if not stdin_is_console(stdin, platform_console_check()):
        _logger.info("stdin is not a console: Enter does not stop this process.")
        return False
    print("Press Enter to stop.", file=sys.stderr, flush=True)
    threading.Thread(target=_stop_on_enter, args=(stdin, stopper), daemon=True).start()
    return True


def _stop_on_enter(stdin: TextIO, stopper: Stopper) -> None:
    """Read lines until one ends with Enter; end of input (Ctrl+D, Ctrl+Z) never stops."""
    while True:
        try:
            line = stdin.readline()
        except (OSError, ValueError):  # the console went away
            _logger.info("stdin can no longer be read: Enter does not stop this process.")
            return
        if line:
            stopper.request("Enter pressed")
            return
        _logger.info("End of input on stdin ignored: press Enter, Ctrl+C or Ctrl+Break to stop.")
        time.sleep(0.2)  # a console that keeps reporting end of input must not spin
