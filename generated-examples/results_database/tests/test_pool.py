"""The RPC thread pool: results, blocking tasks that must not starve the others, shutdown.

Real threads in this process. The timeouts below only turn a deadlock into a
failure; nothing is asserted about how long anything takes.
"""

from __future__ import annotations

import threading
import time

import pytest

from results_database_server.pool import RunnerPool

DEADLOCK_GUARD_S = 60


def test_results_and_exceptions_reach_the_futures() -> None:
    pool = RunnerPool(max_workers=4)
    try:
        assert pool.submit(pow, 2, 10).result(DEADLOCK_GUARD_S) == 1024
        failing = pool.submit(int, "not a number")
        with pytest.raises(ValueError, match="not a number"):
            failing.result(DEADLOCK_GUARD_S)
        assert [f.result(DEADLOCK_GUARD_S) for f in [pool.submit(abs, -n) for n in range(50)]] == [
            *range(50)
        ]
    finally:
        pool.shutdown()


def test_a_blocked_task_does_not_hold_up_the_next_one() -> None:
    """One runner, blocked until the task queued behind it runs: the pool must add a thread."""
    pool = RunnerPool(max_workers=4, runners=1)
    released = threading.Event()
    try:
        blocked = pool.submit(released.wait, DEADLOCK_GUARD_S)
        behind = pool.submit(released.set)
        behind.result(DEADLOCK_GUARD_S)
        assert blocked.result(DEADLOCK_GUARD_S) is True
    finally:
        released.set()
        pool.shutdown()


def test_the_pool_grows_while_tasks_block_and_shrinks_after() -> None:
    """Six tasks that can only finish together need six threads; two run at first."""
    pool = RunnerPool(max_workers=8, runners=2)
    together = threading.Barrier(6, timeout=DEADLOCK_GUARD_S)
    try:
        waiting = [pool.submit(together.wait) for _ in range(6)]
        assert sorted(f.result(DEADLOCK_GUARD_S) for f in waiting) == [*range(6)]
        # Quick tasks again: the extra threads stop one by one, down to the runners.
        done = threading.Event()

        def shrink() -> None:
            while pool.threads > 2:
                pool.submit(abs, -1).result(DEADLOCK_GUARD_S)
            done.set()

        worker = threading.Thread(target=shrink, daemon=True)
        worker.start()
        assert done.wait(DEADLOCK_GUARD_S)
        assert pool.threads <= 2
    finally:
        pool.shutdown()


def test_a_thread_beyond_the_first_stops_when_idle() -> None:
    pool = RunnerPool(max_workers=4, runners=2, linger=0.01)
    gate = threading.Event()
    try:
        held = pool.submit(gate.wait, DEADLOCK_GUARD_S)
        pool.submit(abs, -1).result(DEADLOCK_GUARD_S)  # queued behind: a second thread ran it
        assert pool.threads >= 2
        gate.set()
        assert held.result(DEADLOCK_GUARD_S) is True
        stopped = threading.Event()

        def watch() -> None:
            while pool.threads > 1:
                time.sleep(0.01)
            stopped.set()

        threading.Thread(target=watch, daemon=True).start()
        assert stopped.wait(DEADLOCK_GUARD_S)
        assert pool.threads == 1
        assert pool.submit(abs, -2).result(DEADLOCK_GUARD_S) == 2  # and it still serves
    finally:
        gate.set()
        pool.shutdown()


def test_shutdown_runs_what_was_queued_then_refuses_more() -> None:
    pool = RunnerPool(max_workers=4, runners=1)
    gate = threading.Event()
    first = pool.submit(gate.wait, DEADLOCK_GUARD_S)
    queued = [pool.submit(abs, -n) for n in range(5)]
    gate.set()
    pool.shutdown(wait=True)
    assert first.result(0) is True
    assert [f.result(0) for f in queued] == [*range(5)]
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(abs, -1)


def test_shutdown_can_cancel_what_was_queued() -> None:
    pool = RunnerPool(max_workers=1, runners=1)
    started, gate = threading.Event(), threading.Event()

    def hold() -> bool:
        started.set()
        return gate.wait(DEADLOCK_GUARD_S)

    running = pool.submit(hold)
    queued = [pool.submit(abs, -n) for n in range(5)]
    assert started.wait(DEADLOCK_GUARD_S)
    pool.shutdown(wait=False, cancel_futures=True)
    gate.set()
    assert running.result(DEADLOCK_GUARD_S) is True
    assert all(f.cancelled() for f in queued)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="runners <= max_workers"):
        RunnerPool(max_workers=2, runners=3)
    with pytest.raises(ValueError, match="runners <= max_workers"):
        RunnerPool(max_workers=0)
