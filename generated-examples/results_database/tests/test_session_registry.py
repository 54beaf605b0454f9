"""The session core in-process, with real threads: atomicity, isolation and shutdown."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from results_database_server.errors import NotFoundError
from results_database_server.sessions import InitializationBehavior, SessionRegistry


class Handle:
    """A stand-in resource that records whether it was closed."""

    def __init__(self, fail_on_close: bool = False) -> None:
        self.closed = threading.Event()
        self.fail_on_close = fail_on_close

    def close(self) -> None:
        self.closed.set()
        if self.fail_on_close:
            raise OSError("device went away")


def opener(opened: list[Handle], gate: threading.Event | None = None) -> Callable[[], Handle]:
    def open_handle() -> Handle:
        if gate is not None:
            assert gate.wait(10)
        handle = Handle()
        opened.append(handle)
        return handle

    return open_handle


def in_thread(target: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_slow_open_blocks_only_its_own_resource() -> None:
    registry: SessionRegistry[Handle] = SessionRegistry()
    gate = threading.Event()
    opened: list[Handle] = []
    slow = in_thread(lambda: registry.initialize("slow", 0, opener(opened, gate)))
    fast, new = registry.initialize("fast", 0, opener(opened))
    assert new
    with registry.use(fast.name) as handle:
        assert not handle.closed.is_set()
    registry.close(fast.name)
    assert slow.is_alive()  # still opening, yet the other resource was served
    gate.set()
    slow.join(10)
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
        thread.join(10)
    assert len(opened) == 1
    assert len(set(names)) == 1 and len(names) == 16


def test_close_waits_for_the_operation_in_flight() -> None:
    registry: SessionRegistry[Handle] = SessionRegistry()
    session, _ = registry.initialize("busy", 0, opener([]))
    inside, release = threading.Event(), threading.Event()

    def operate() -> None:
        with registry.use(session.name):
            inside.set()
            assert release.wait(10)

    worker = in_thread(operate)
    assert inside.wait(10)
    closer = in_thread(lambda: registry.close(session.name))
    closer.join(0.3)
    assert closer.is_alive() and not session.resource.closed.is_set()
    release.set()
    closer.join(10)
    worker.join(10)
    assert session.resource.closed.is_set()
    with pytest.raises(NotFoundError):
        registry.get(session.name)


def test_close_all_reports_failures_and_closes_the_rest() -> None:
    registry: SessionRegistry[Handle] = SessionRegistry()
    bad, _ = registry.initialize("bad", 0, lambda: Handle(fail_on_close=True))
    good, _ = registry.initialize("good", 0, lambda: Handle())
    failures = registry.close_all()
    assert [(name, str(error)) for name, error in failures] == [(bad.name, "device went away")]
    assert good.resource.closed.is_set() and bad.resource.closed.is_set()
    assert len(registry) == 0


def test_failed_open_leaves_no_session_and_no_lock() -> None:
    registry: SessionRegistry[Handle] = SessionRegistry()

    def refuse() -> Handle:
        raise PermissionError("no access")

    for _ in range(3):
        with pytest.raises(PermissionError):
            registry.initialize("locked", 0, refuse)
    assert len(registry) == 0
    session, new = registry.initialize("locked", InitializationBehavior.INITIALIZE_NEW, Handle)
    assert new
    registry.close(session.name)
    # Per-resource locks are dropped once unused, so 10,000 sessions leave none behind.
    assert not registry._resource_locks._locks
