"""The session core in-process, with real threads: atomicity, isolation and shutdown.

What must happen is waited for with DEADLOCK_GUARD_S, which only turns a hang into
a failure. What must NOT happen (a second operation entering a held session, a
close under a running operation) is waited for with MUST_NOT_HAPPEN_S after the
thread that would do it has reached the call: without the protection it happens
within microseconds, so the wait fails the test rather than letting it pass.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent import futures

import pytest

from session_service_core.server.errors import (
    AlreadyExistsError,
    InvalidArgumentError,
    NotFoundError,
)
from session_service_core.server.sessions import (
    InitializationBehavior,
    KeyedLocks,
    Session,
    SessionRegistry,
)

from pausing import entering, paused

UNSPECIFIED = InitializationBehavior.UNSPECIFIED
INITIALIZE_NEW = InitializationBehavior.INITIALIZE_NEW
ATTACH_TO_EXISTING = InitializationBehavior.ATTACH_TO_EXISTING

DEADLOCK_GUARD_S = 30
MUST_NOT_HAPPEN_S = 0.5


class Handle:
    """A stand-in resource that records its close and every operation run after it."""

    def __init__(self, session_name: str = "", fail_on_close: bool = False) -> None:
        self.session_name = session_name
        self.closed = threading.Event()
        self.fail_on_close = fail_on_close
        self.operations = 0
        self.operations_after_close = 0

    def close(self) -> None:
        self.closed.set()
        if self.fail_on_close:
            raise OSError("device went away")


def touch(handle: Handle, request: object) -> object:
    """The operation most tests run: records itself on the handle, returns the request."""
    handle.operations += 1
    if handle.closed.is_set():
        handle.operations_after_close += 1
    return request


def opener(opened: list[Handle], gate: threading.Event | None = None) -> Callable[[str], Handle]:
    def open_handle(session_name: str) -> Handle:
        if gate is not None:
            assert gate.wait(DEADLOCK_GUARD_S)
        handle = Handle(session_name)
        opened.append(handle)
        return handle

    return open_handle


def in_thread(target: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    ("behavior", "open_first", "expected"),
    [
        (UNSPECIFIED, False, "new"),
        (UNSPECIFIED, True, "attached"),
        (INITIALIZE_NEW, False, "new"),
        (INITIALIZE_NEW, True, AlreadyExistsError),
        (ATTACH_TO_EXISTING, False, NotFoundError),
        (ATTACH_TO_EXISTING, True, "attached"),
        (3, False, InvalidArgumentError),
        (-1, True, InvalidArgumentError),
    ],
)
def test_the_behaviour_table(
    behavior: int, open_first: bool, expected: str | type[Exception]
) -> None:
    """NI's table, with the plain numbers a request carries."""
    behavior = int(behavior)  # an int from the wire, not the enum's member
    registry: SessionRegistry[Handle] = SessionRegistry()
    opened: list[Handle] = []
    if open_first:
        registry.initialize("resource", UNSPECIFIED, opener(opened))
    if not isinstance(expected, str):
        with pytest.raises(expected):
            registry.initialize("resource", behavior, opener(opened))
        assert len(opened) == int(open_first) and len(registry) == int(open_first)
        return
    session, new = registry.initialize("resource", behavior, opener(opened))
    assert (new, session.attaches) == ((True, 0) if expected == "new" else (False, 1))
    assert opened == [session.resource] and len(registry) == 1
    assert session.resource.session_name == session.name  # open got the name it would have


def test_session_names_are_128_random_bits_never_repeated() -> None:
    registry: SessionRegistry[Handle] = SessionRegistry()
    names = set()
    for index in range(1000):
        session, _ = registry.initialize(f"resource {index}", UNSPECIFIED, Handle)
        assert re.fullmatch("[0-9a-f]{32}", session.name), session.name
        names.add(session.name)
        registry.close(session.name)
    assert len(names) == 1000


def test_each_attach_is_counted() -> None:
    registry: SessionRegistry[Handle] = SessionRegistry()
    session, _ = registry.initialize("shared", INITIALIZE_NEW, Handle)
    for behavior in (UNSPECIFIED, ATTACH_TO_EXISTING):
        assert registry.initialize("shared", behavior, Handle) == (session, False)
    assert session.attaches == 2


def test_slow_open_blocks_only_its_own_resource() -> None:
    registry: SessionRegistry[Handle] = SessionRegistry()
    gate = threading.Event()
    opened: list[Handle] = []
    slow = in_thread(lambda: registry.initialize("slow", 0, opener(opened, gate)))
    fast, new = registry.initialize("fast", 0, opener(opened))
    assert new
    assert registry.call(fast.name, touch, "request") == "request"
    registry.close(fast.name)
    assert slow.is_alive()  # still opening, yet the other resource was served
    gate.set()
    slow.join(DEADLOCK_GUARD_S)
    assert len(registry) == 1


def test_concurrent_unspecified_opens_once() -> None:
    registry: SessionRegistry[Handle] = SessionRegistry()
    opened: list[Handle] = []
    start = threading.Barrier(16)
    names: list[str] = []

    def race() -> None:
        start.wait()
        session, _ = registry.initialize(
            "shared", InitializationBehavior.UNSPECIFIED, opener(opened)
        )
        names.append(session.name)

    threads = [in_thread(race) for _ in range(16)]
    for thread in threads:
        thread.join(DEADLOCK_GUARD_S)
    assert len(opened) == 1
    assert len(set(names)) == 1 and len(names) == 16


def test_call_runs_operations_on_different_sessions_in_parallel() -> None:
    registry: SessionRegistry[Handle] = SessionRegistry()
    first, _ = registry.initialize("first", 0, Handle)
    second, _ = registry.initialize("second", 0, Handle)
    both = threading.Barrier(2, timeout=DEADLOCK_GUARD_S)

    def meet(handle: Handle, request: object) -> int:
        return both.wait()

    with futures.ThreadPoolExecutor(2) as threads:
        calls = [threads.submit(registry.call, s.name, meet, None) for s in (first, second)]
        try:
            arrivals = sorted(call.result(DEADLOCK_GUARD_S) for call in calls)
        except threading.BrokenBarrierError:
            pytest.fail("operations on two different sessions did not run at the same time")
    assert arrivals == [0, 1]


def test_call_runs_one_operation_at_a_time_on_a_session() -> None:
    registry: SessionRegistry[Handle] = SessionRegistry()
    session, _ = registry.initialize("one", 0, Handle)
    first_inside, release_first = threading.Event(), threading.Event()
    second_calling, second_inside = threading.Event(), threading.Event()

    def hold(handle: Handle, request: object) -> str:
        first_inside.set()
        assert release_first.wait(DEADLOCK_GUARD_S)
        return "first"

    def enter(handle: Handle, request: object) -> str:
        second_inside.set()
        return "second"

    def call_second() -> str:
        second_calling.set()
        return registry.call(session.name, enter, None)

    with futures.ThreadPoolExecutor(2) as threads:
        first = threads.submit(registry.call, session.name, hold, None)
        assert first_inside.wait(DEADLOCK_GUARD_S)
        second = threads.submit(call_second)
        assert second_calling.wait(DEADLOCK_GUARD_S)
        overlapped = second_inside.wait(MUST_NOT_HAPPEN_S)
        release_first.set()
        results = first.result(DEADLOCK_GUARD_S), second.result(DEADLOCK_GUARD_S)
    assert not overlapped, "a second operation on one session started while the first ran"
    assert results == ("first", "second")


def test_an_operation_in_flight_finishes_before_close_closes_the_resource() -> None:
    registry: SessionRegistry[Handle] = SessionRegistry()
    session, _ = registry.initialize("busy", 0, Handle)
    inside, closing = threading.Event(), threading.Event()

    def wait_for_close(handle: Handle, request: object) -> bool:
        inside.set()
        assert closing.wait(DEADLOCK_GUARD_S)
        closed_meanwhile = handle.closed.wait(MUST_NOT_HAPPEN_S)
        touch(handle, request)
        return closed_meanwhile

    def close() -> None:
        closing.set()
        registry.close(session.name)

    with futures.ThreadPoolExecutor(2) as threads:
        operation = threads.submit(registry.call, session.name, wait_for_close, None)
        assert inside.wait(DEADLOCK_GUARD_S)
        closer = threads.submit(close)
        closed_meanwhile = operation.result(DEADLOCK_GUARD_S)
        closer.result(DEADLOCK_GUARD_S)
    assert not closed_meanwhile, "close() closed the resource while an operation was running"
    assert session.resource.operations_after_close == 0
    assert session.resource.closed.is_set()
    with pytest.raises(NotFoundError):
        registry.get(session.name)


def test_an_operation_that_found_its_session_before_close_does_not_run_after_it() -> None:
    """The RPC looked its session up, then close ran to the end before it took the session."""
    registry: SessionRegistry[Handle] = SessionRegistry()
    session, _ = registry.initialize("racing", 0, Handle)
    found, resume = threading.Event(), threading.Event()

    def call_paused_after_lookup() -> object:
        with paused(entering(Session.run.__code__), found, resume):
            return registry.call(session.name, touch, None)

    with futures.ThreadPoolExecutor(1) as threads:
        operation = threads.submit(call_paused_after_lookup)
        assert found.wait(DEADLOCK_GUARD_S)
        registry.close(session.name)
        resume.set()
        error = operation.exception(DEADLOCK_GUARD_S)
    assert session.resource.operations_after_close == 0, "an operation ran after close()"
    assert session.resource.operations == 0
    assert isinstance(error, NotFoundError), f"expected NotFoundError, got {error!r}"
    assert repr(session.name) in str(error)


@pytest.mark.parametrize("closed", [True, False], ids=["closed", "never-opened"])
def test_call_on_a_session_that_is_not_open_is_not_found(closed: bool) -> None:
    registry: SessionRegistry[Handle] = SessionRegistry()
    session, _ = registry.initialize("gone", 0, Handle)
    name = session.name if closed else "no-such-session"
    registry.close(session.name)
    with pytest.raises(NotFoundError, match=re.escape(f"No open session named {name!r}")):
        registry.call(name, touch, None)
    assert session.resource.operations == 0


def test_call_counts_the_operations_and_when_the_last_ran() -> None:
    registry: SessionRegistry[Handle] = SessionRegistry()
    session, _ = registry.initialize("counted", 0, Handle)
    assert (session.calls, session.last_used) == (0, session.created)
    before = time.time()
    for request in range(3):
        assert registry.call(session.name, touch, request) == request
    assert session.calls == 3 == session.resource.operations
    assert before <= session.last_used <= time.time()


def test_close_all_reports_failures_and_closes_the_rest() -> None:
    registry: SessionRegistry[Handle] = SessionRegistry()
    bad, _ = registry.initialize("bad", 0, lambda name: Handle(name, fail_on_close=True))
    good, _ = registry.initialize("good", 0, Handle)
    failures = registry.close_all()
    assert [(name, str(error)) for name, error in failures] == [(bad.name, "device went away")]
    assert good.resource.closed.is_set() and bad.resource.closed.is_set()
    assert len(registry) == 0


def test_failed_open_leaves_no_session_and_no_lock() -> None:
    registry: SessionRegistry[Handle] = SessionRegistry()

    def refuse(session_name: str) -> Handle:
        raise PermissionError(f"no access for {session_name}")

    for _ in range(3):
        with pytest.raises(PermissionError):
            registry.initialize("locked", 0, refuse)
    assert len(registry) == 0
    session, new = registry.initialize("locked", InitializationBehavior.INITIALIZE_NEW, Handle)
    assert new
    registry.close(session.name)


def test_keyed_locks_keep_a_lock_only_while_it_is_held_or_waited_for() -> None:
    locks = KeyedLocks()
    with pytest.raises(ValueError, match="inside"), locks.hold("a"):
        assert len(locks) == 1
        raise ValueError("inside")
    assert len(locks) == 0
    with locks.hold("a"), locks.hold("b"):  # one key's lock never blocks another key
        assert len(locks) == 2
    assert len(locks) == 0
