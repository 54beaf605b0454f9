"""Stopping without a console: the console decision and the Windows console events."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

from session_service_core import stopping
from session_service_core.stopping import Stopper, answer_console_event, console_event_action

STOP_EVENTS = [
    stopping.CTRL_C_EVENT,
    stopping.CTRL_BREAK_EVENT,
    stopping.CTRL_CLOSE_EVENT,
    stopping.CTRL_LOGOFF_EVENT,
    stopping.CTRL_SHUTDOWN_EVENT,
]
# Windows ends the process as soon as the handler returns from these.
ENDING_EVENTS = {
    stopping.CTRL_CLOSE_EVENT,
    stopping.CTRL_LOGOFF_EVENT,
    stopping.CTRL_SHUTDOWN_EVENT,
}
WAIT = 30.0  # a bound for threads that must finish; never reached when the code is right


@pytest.fixture
def devnull() -> Iterator[TextIO]:
    """stdin as NI Discovery Service gives it: the null device (NUL on Windows)."""
    with open(os.devnull, encoding="utf-8") as stream:
        yield stream


def never_called(descriptor: int) -> bool:
    raise AssertionError(f"the console check ran for descriptor {descriptor}")


def test_no_stdin_is_no_console() -> None:
    assert not stopping.stdin_is_console(None, never_called)


def test_closed_stdin_is_no_console(tmp_path: Path) -> None:
    stream = (tmp_path / "input.txt").open("w+", encoding="utf-8")
    stream.close()
    assert not stopping.stdin_is_console(stream, never_called)


def test_the_null_device_is_no_console(devnull: TextIO) -> None:
    assert not stopping.stdin_is_console(devnull, stopping.platform_console_check())


def test_a_closed_pipe_is_no_console() -> None:
    read_end, write_end = os.pipe()
    os.close(write_end)
    with os.fdopen(read_end, encoding="utf-8") as stream:
        assert not stopping.stdin_is_console(stream, stopping.platform_console_check())


def test_the_check_decides_for_the_descriptor_of_stdin(devnull: TextIO) -> None:
    asked: list[int] = []

    def console(descriptor: int) -> bool:  # as GetConsoleMode succeeding on its handle
        asked.append(descriptor)
        return True

    assert stopping.stdin_is_console(devnull, console)
    assert asked == [devnull.fileno()]


def test_a_failing_check_means_no_console(devnull: TextIO) -> None:
    def invalid_handle(descriptor: int) -> bool:  # msvcrt.get_osfhandle on a bad descriptor
        raise OSError(9, "Bad file descriptor")

    assert not stopping.stdin_is_console(devnull, invalid_handle)


def test_a_terminal_is_a_console() -> None:
    if sys.platform == "win32":
        pytest.skip("pseudo-terminals (pty) exist only on POSIX")
    import pty

    controller, terminal = pty.openpty()
    try:
        with os.fdopen(terminal, encoding="utf-8", closefd=False) as stream:
            assert stopping.stdin_is_console(stream, stopping.platform_console_check())
    finally:
        os.close(controller)
        os.close(terminal)


@pytest.mark.skipif(sys.platform != "win32", reason="GetConsoleMode exists only on Windows")
def test_windows_does_not_call_nul_a_console(devnull: TextIO) -> None:
    assert devnull.isatty()  # what misled the isatty check: the C runtime's view of NUL
    assert not stopping.stdin_is_console(devnull, stopping.platform_console_check())


@pytest.mark.parametrize("event", STOP_EVENTS)
def test_every_stop_event_stops(event: int) -> None:
    reason, hold = console_event_action(event)
    assert reason
    assert hold == (event in ENDING_EVENTS)


@pytest.mark.parametrize("event", [3, 4, 7])
def test_other_events_are_left_to_windows(event: int) -> None:
    assert console_event_action(event) == (None, False)
    stopper = Stopper()
    assert not answer_console_event(stopper, event, WAIT)
    assert not stopper.requested


def answer_in_thread(
    stopper: Stopper, event: int, seconds: float
) -> tuple[threading.Thread, list[bool]]:
    """Run the console handler on its own thread, as Windows does."""
    answers: list[bool] = []
    thread = threading.Thread(
        target=lambda: answers.append(answer_console_event(stopper, event, seconds))
    )
    thread.start()
    return thread, answers


@pytest.mark.parametrize("event", sorted(ENDING_EVENTS))
def test_closing_events_wait_for_cleanup(event: int) -> None:
    stopper = Stopper()
    thread, answers = answer_in_thread(stopper, event, WAIT)
    assert stopper.wait()  # the stop is asked for at once...
    assert thread.is_alive()  # ...but the handler holds until cleanup is finished
    stopper.finished()
    thread.join(WAIT)
    assert answers == [True]


def test_a_closing_event_returns_when_cleanup_overruns() -> None:
    stopper = Stopper()
    thread, answers = answer_in_thread(stopper, stopping.CTRL_CLOSE_EVENT, 0.0)
    thread.join(WAIT)
    assert answers == [True]
    assert stopper.requested


@pytest.mark.parametrize("event", [stopping.CTRL_C_EVENT, stopping.CTRL_BREAK_EVENT])
def test_interrupts_return_without_waiting(event: int) -> None:
    stopper = Stopper()
    thread, answers = answer_in_thread(stopper, event, WAIT)
    thread.join(WAIT)
    assert answers == [True]
    assert stopper.reason == console_event_action(event)[0]


def test_the_first_reason_is_kept() -> None:
    stopper = Stopper()
    stopper.request("first")
    stopper.request("second")
    assert stopper.wait() == "first"


@pytest.mark.skipif(sys.platform == "win32", reason="Windows installs the console handler")
def test_no_console_handler_off_windows() -> None:
    assert not stopping.install_console_handler(Stopper())
