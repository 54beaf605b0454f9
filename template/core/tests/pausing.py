"""Stop a thread at a chosen point of the code it runs, to order a race without timing."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import CodeType, FrameType

# Only turns a test that never resumes the thread into a failure.
GUARD_S = 30

# Called with sys.setprofile's (frame, event, arg); True where the thread should stop.
Where = Callable[[FrameType, str, object], bool]


def stop_at(where: Where, arrived: threading.Event, resume: threading.Event) -> None:
    """Stop this thread the first time `where` holds from now on, until `resume` is set.

    The thread sets `arrived`, then waits for `resume`. Other threads run on.
    """

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if where(frame, event, arg):
            sys.setprofile(None)
            arrived.set()
            resume.wait(GUARD_S)

    sys.setprofile(profile)


@contextmanager
def paused(where: Where, arrived: threading.Event, resume: threading.Event) -> Iterator[None]:
    """Within the with-block, stop this thread the first time `where` holds (see stop_at)."""
    stop_at(where, arrived, resume)
    try:
        yield
    finally:
        sys.setprofile(None)


def entering(code: CodeType) -> Where:
    """Where the thread enters the function whose code is `code`, before its first line."""
    return lambda frame, event, arg: event == "call" and frame.f_code is code


def entering_function(name: str) -> Where:
    """Where the thread enters a function called `name` (a private one, say)."""
    return lambda frame, event, arg: event == "call" and frame.f_code.co_name == name


def returned_from(c_function: str, caller: str) -> Where:
    """Where the built-in `c_function` has returned to a function named `caller`."""

    def where(frame: FrameType, event: str, arg: object) -> bool:
        return (
            event == "c_return"
            and frame.f_code.co_name == caller
            and getattr(arg, "__name__", None) == c_function
        )

    return where
