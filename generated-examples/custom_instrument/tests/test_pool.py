"""The RPC thread pool: results, blocking tasks that must not starve the others, shutdown.

Real threads in this process. The timeouts below only turn a deadlock into a
failure; nothing is asserted about how long anything takes. Where the watcher
(which adds threads to stalled pools) would blur what submit() itself does, its
patience is the deadlock guard, so it never acts within a test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent import futures
from typing import TypeVar

import pytest

from custom_instrument_server.pool import RunnerPool

from pausing import paused, returned_from

DEADLOCK_GUARD_S = 60
T = TypeVar("T")


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
    before = set(threading.enumerate())
    pool = RunnerPool(max_workers=4, runners=2, linger=0.01)
    gate = threading.Event()
    try:
        held = pool.submit(gate.wait, DEADLOCK_GUARD_S)
        pool.submit(abs, -1).result(DEADLOCK_GUARD_S)  # queued behind: a second thread ran it
        assert pool.threads >= 2
        gate.set()
        assert held.result(DEADLOCK_GUARD_S) is True
        workers = [t for t in set(threading.enumerate()) - before if t.name != "rpc-watcher"]
        one_stopped = threading.Event()

        def set_when_stopped(worker: threading.Thread) -> None:
            worker.join()
            one_stopped.set()

        for worker in workers:
            watch(set_when_stopped, worker)
        assert one_stopped.wait(DEADLOCK_GUARD_S)
        assert pool.threads == 1
        assert pool.submit(abs, -2).result(DEADLOCK_GUARD_S) == 2  # and it still serves
    finally:
        gate.set()
        pool.shutdown()


def test_a_second_runner_starts_only_when_tasks_queue_up() -> None:
    pool = RunnerPool(max_workers=4, runners=2, patience=DEADLOCK_GUARD_S)
    first = Holder(pool)
    try:
        waiting = pool.submit(abs, -1)
        assert pool.threads == 1  # one task waits: the busy runner will take it
        queued = pool.submit(abs, -2)
        assert pool.threads == 2  # two wait: a second runner takes them
        assert (waiting.result(DEADLOCK_GUARD_S), queued.result(DEADLOCK_GUARD_S)) == (1, 2)
        second = Holder(pool)
        more = [pool.submit(abs, -n) for n in range(3)]
        assert pool.threads == 2  # both runners busy: only the watcher adds threads
        first.release()
        second.release()
        assert [f.result(DEADLOCK_GUARD_S) for f in more] == [0, 1, 2]
        assert pool.threads == 2
    finally:
        first.release()
        pool.shutdown()
    assert pool.threads == 0


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


def test_a_submit_racing_shutdown_runs_its_task_or_refuses_it() -> None:
    """Shutdown lands after submit queued its task, before it decided what to start."""
    pool = RunnerPool(max_workers=2, runners=1)
    queued, resume = threading.Event(), threading.Event()
    ran = threading.Event()
    submitted = in_thread_paused_after_queuing(lambda: pool.submit(ran.set), queued, resume)
    assert queued.wait(DEADLOCK_GUARD_S)
    pool.shutdown()  # no thread ran yet: the task would wait forever
    resume.set()
    with pytest.raises(RuntimeError, match="after shutdown"):
        submitted.result(DEADLOCK_GUARD_S)
    assert pool.threads == 0 and not ran.is_set()


def test_a_task_taken_before_shutdown_runs_though_submit_saw_the_shutdown() -> None:
    pool = RunnerPool(max_workers=2, runners=1, patience=DEADLOCK_GUARD_S)
    assert pool.submit(abs, -1).result(DEADLOCK_GUARD_S) == 1  # a runner waits for work
    queued, resume = threading.Event(), threading.Event()
    started, finish = threading.Event(), threading.Event()

    def task() -> str:
        started.set()
        assert finish.wait(DEADLOCK_GUARD_S)
        return "done"

    submitted = in_thread_paused_after_queuing(lambda: pool.submit(task), queued, resume)
    assert queued.wait(DEADLOCK_GUARD_S) and started.wait(DEADLOCK_GUARD_S)
    pool.shutdown(wait=False)
    resume.set()
    future = submitted.result(DEADLOCK_GUARD_S)
    finish.set()
    assert future.result(DEADLOCK_GUARD_S) == "done"
    pool.shutdown()


def test_submit_after_shutdown_is_refused_while_a_task_runs() -> None:
    pool = RunnerPool(max_workers=2, runners=1, patience=DEADLOCK_GUARD_S)
    held = Holder(pool)
    pool.shutdown(wait=False)
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(abs, -1)
    held.release()
    pool.shutdown()
    assert held.future.result(DEADLOCK_GUARD_S) is True


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="runners <= max_workers"):
        RunnerPool(max_workers=2, runners=3)
    with pytest.raises(ValueError, match="runners <= max_workers"):
        RunnerPool(max_workers=0)


class Holder:
    """A task on `pool` that has started and runs until released."""

    def __init__(self, pool: RunnerPool) -> None:
        started, self._release = threading.Event(), threading.Event()

        def hold() -> bool:
            started.set()
            return self._release.wait(DEADLOCK_GUARD_S)

        self.future = pool.submit(hold)
        assert started.wait(DEADLOCK_GUARD_S)

    def release(self) -> None:
        self._release.set()


def watch(target: Callable[..., object], *args: object) -> None:
    threading.Thread(target=target, args=args, daemon=True).start()


def in_thread_paused_after_queuing(
    submit: Callable[[], T], queued: threading.Event, resume: threading.Event
) -> futures.Future[T]:
    """Run `submit` in a thread that stops once submit() has queued the task."""
    outcome: futures.Future[T] = futures.Future()

    def run() -> None:
        try:
            with paused(returned_from("put", caller="submit"), queued, resume):
                outcome.set_result(submit())
        except BaseException as error:  # noqa: BLE001  (handed to the test)
            outcome.set_exception(error)

    watch(run)
    return outcome
