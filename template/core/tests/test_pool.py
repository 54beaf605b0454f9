"""The RPC thread pool: results, blocking tasks that must not starve the others, shutdown.

Real threads in this process. The timeouts below only turn a deadlock into a
failure; nothing is asserted about how long anything takes. The watcher (which
adds threads to a stalled pool) looks at the pool only when a test says so
(`Looks`), so what submit() does and what the watcher does are told apart.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import ClassVar, TypeVar

import pytest

from session_service_core.server.pool import IDLE_LOOKS, LINGER_S, RUNNERS, RunnerPool

from pausing import entering_function, paused, returned_from, stop_at

DEADLOCK_GUARD_S = 60
# How long a test waits for what must not happen (a last thread retiring after a
# linger of 10 ms): without the protection it happens 50 times over meanwhile.
MUST_NOT_HAPPEN_S = 0.5
T = TypeVar("T")


class Looks:
    """The watcher's sleep: the watcher looks at the pool only when the test calls look()."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._allowed = 0  # looks the test has let happen
        self._begun = 0  # looks the watcher has begun
        self._asleep = False

    def sleep(self, seconds: float) -> None:
        with self._changed:
            self._asleep = True
            self._changed.notify_all()
            self._changed.wait_for(lambda: self._allowed > self._begun, DEADLOCK_GUARD_S)
            self._begun += 1
            self._asleep = False

    def _wait_until_asleep(self) -> bool:
        return self._changed.wait_for(
            lambda: self._asleep and self._begun == self._allowed, DEADLOCK_GUARD_S
        )

    def look(self, times: int = 1) -> None:
        """Let the watcher look `times` times; return once it sleeps again."""
        for _ in range(times):
            with self._changed:
                assert self._wait_until_asleep(), "the watcher is not waiting to look"
                self._allowed += 1
                self._changed.notify_all()
        with self._changed:
            assert self._wait_until_asleep(), "the watcher stopped"

    def last_look(self, watcher: threading.Thread) -> None:
        """Let the watcher look once more, after which it must stop."""
        with self._changed:
            assert self._wait_until_asleep(), "the watcher is not waiting to look"
            self._allowed += 1
            self._changed.notify_all()
        watcher.join(DEADLOCK_GUARD_S)
        assert not watcher.is_alive(), "the watcher did not stop"

    def until_stopped(self, watcher: threading.Thread) -> None:
        """Let the watcher look until it stops."""

        def on_stop() -> None:
            watcher.join()
            with self._changed:
                self._changed.notify_all()

        watch(on_stop)
        while True:
            with self._changed:
                assert self._changed.wait_for(
                    lambda: not watcher.is_alive() or self._asleep and self._begun == self._allowed,
                    DEADLOCK_GUARD_S,
                ), "the watcher neither looks nor stops"
                if not watcher.is_alive():
                    return
                self._allowed += 1
                self._changed.notify_all()

    def release(self) -> None:
        """Let the watcher look freely from now on (after shutdown, so it stops)."""
        with self._changed:
            self._allowed = 1 << 60
            self._changed.notify_all()


Stepped = Callable[..., tuple[RunnerPool, Looks]]


@pytest.fixture
def stepped() -> Iterator[Stepped]:
    """Make pools whose watcher looks only when the test says; after the test, let them go.

    Whatever a test left held is released, its pools shut down and their watchers let
    go, so that a failing test does not keep threads waiting for its guard.
    """
    made: list[tuple[RunnerPool, Looks]] = []

    def make(
        max_workers: int, runners: int = RUNNERS, linger: float = LINGER_S
    ) -> tuple[RunnerPool, Looks]:
        looks = Looks()
        pool = RunnerPool(max_workers, runners=runners, linger=linger, sleep=looks.sleep)
        made.append((pool, looks))
        return pool, looks

    yield make
    Holder.release_all()
    for pool, looks in made:
        pool.shutdown(wait=False)
        looks.release()


def new_threads(before: set[threading.Thread], name: str = "rpc-") -> list[threading.Thread]:
    """The threads started since `before` whose names start with `name`, watchers apart."""
    found = [t for t in set(threading.enumerate()) - before if t.name.startswith(name)]
    watchers = name == "rpc-watcher"
    return [t for t in found if (t.name == "rpc-watcher") == watchers]


def serve_together(pool: RunnerPool, count: int) -> None:
    """Fail unless `count` threads of the pool take tasks at once (no watcher needed)."""
    together = threading.Barrier(count, timeout=DEADLOCK_GUARD_S)
    tasks = [pool.submit(together.wait) for _ in range(count)]
    try:
        assert sorted(task.result(DEADLOCK_GUARD_S) for task in tasks) == [*range(count)]
    except threading.BrokenBarrierError:
        pytest.fail(f"fewer than {count} threads served the pool")


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


def test_a_thread_beyond_the_first_stops_when_idle_and_the_first_stays() -> None:
    pool = RunnerPool(max_workers=4, runners=2, linger=0.01)
    gate = threading.Event()
    # The threads are noted as they run, not looked up later: with a linger of 10 ms,
    # the second may be gone before a busy machine lets the test look.
    workers: list[threading.Thread] = []

    def hold() -> bool:
        workers.append(threading.current_thread())
        return gate.wait(DEADLOCK_GUARD_S)

    try:
        held = pool.submit(hold)
        # Queued behind the held task: a second thread runs it.
        pool.submit(lambda: workers.append(threading.current_thread())).result(DEADLOCK_GUARD_S)
        assert len(set(workers)) == 2
        gate.set()
        assert held.result(DEADLOCK_GUARD_S) is True
        one_stopped = threading.Event()

        def set_when_stopped(worker: threading.Thread) -> None:
            worker.join()
            one_stopped.set()

        for worker in workers:
            watch(set_when_stopped, worker)
        assert one_stopped.wait(DEADLOCK_GUARD_S)
        assert pool.threads == 1
        (last,) = [worker for worker in workers if worker.is_alive()]
        last.join(MUST_NOT_HAPPEN_S)
        assert last.is_alive(), "the last thread stopped too"
        assert pool.submit(abs, -2).result(DEADLOCK_GUARD_S) == 2  # and it still serves
    finally:
        gate.set()
        pool.shutdown()


def test_two_runners_start_as_tasks_queue_up_and_no_more_without_the_watcher(
    stepped: Stepped,
) -> None:
    pool, looks = stepped(max_workers=8)
    first = Holder(pool)
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
    serve_together(pool, 2)
    serve_together(pool, 2)
    pool.shutdown()
    assert pool.threads == 0


@pytest.mark.parametrize("finished_before", [0, 1], ids=["fresh", "one-task-done"])
def test_the_watcher_adds_a_thread_after_a_look_without_progress(
    finished_before: int, stepped: Stepped
) -> None:
    pool, looks = stepped(max_workers=2, runners=1)
    for _ in range(finished_before):
        pool.submit(abs, -1).result(DEADLOCK_GUARD_S)
    held = Holder(pool)  # started: the tasks before it are counted as finished
    stalled = pool.submit(abs, -1)
    looks.look()  # the first look only notes how many tasks have finished
    assert pool.threads == 1 and not stalled.done()
    looks.look()  # none since: one more thread
    assert pool.threads == 2
    assert stalled.result(DEADLOCK_GUARD_S) == 1
    assert pool.submit(abs, -2).result(DEADLOCK_GUARD_S) == 2  # the new thread stayed
    second = Holder(pool)
    blocked = pool.submit(abs, -3)
    looks.look(2)
    assert pool.threads == 2 and not blocked.done()  # max_workers reached
    held.release()
    second.release()
    assert blocked.result(DEADLOCK_GUARD_S) == 3


def test_the_watcher_adds_no_thread_while_tasks_progress(stepped: Stepped) -> None:
    pool, looks = stepped(max_workers=2, runners=1)
    gates = [threading.Event() for _ in range(3)]
    started = [threading.Event() for _ in range(3)]

    def task(index: int) -> int:
        started[index].set()
        assert gates[index].wait(DEADLOCK_GUARD_S)
        return index

    tasks = [pool.submit(task, index) for index in range(3)]
    assert started[0].wait(DEADLOCK_GUARD_S)
    looks.look()
    gates[0].set()
    assert started[1].wait(DEADLOCK_GUARD_S)  # the first one has finished
    looks.look()  # tasks wait, but one finished since the last look
    assert pool.threads == 1
    looks.look()  # none since: now a thread is added, and takes the last task
    assert started[2].wait(DEADLOCK_GUARD_S) and pool.threads == 2
    for gate in gates:
        gate.set()
    assert [task.result(DEADLOCK_GUARD_S) for task in tasks] == [0, 1, 2]


def test_extra_threads_stop_once_tasks_flow_again(stepped: Stepped) -> None:
    pool, looks = stepped(max_workers=3, runners=1)
    holders = [Holder(pool), Holder(pool, wait=False), Holder(pool, wait=False)]
    looks.look(2)  # the first look notes the progress, the second adds a thread
    assert holders[1].started.wait(DEADLOCK_GUARD_S)
    looks.look()  # still no progress: another thread
    assert holders[2].started.wait(DEADLOCK_GUARD_S) and pool.threads == 3
    for holder in holders:
        holder.release()
    looks.look()  # nothing waits: one thread fewer is wanted
    serve_together(pool, 2)  # the first thread done stopped, the others stay
    serve_together(pool, 2)
    looks.look()  # and one fewer again: the runner alone
    while pool.threads > 1:
        pool.submit(abs, -1).result(DEADLOCK_GUARD_S)
    looks.look()  # never fewer than the runners
    assert [pool.submit(abs, -n).result(DEADLOCK_GUARD_S) for n in range(2)] == [0, 1]


@pytest.mark.parametrize(
    ("others_stop", "linger"), [(1, DEADLOCK_GUARD_S), (2, 0.01)], ids=["one", "both"]
)
def test_a_surplus_thread_that_saw_the_surplus_gone_stays(
    others_stop: int, linger: float, stepped: Stepped
) -> None:
    """A thread found one thread too many, and others stopped before it took the lock."""
    pool, looks = stepped(max_workers=3, runners=1, linger=linger)
    checking, resume = threading.Event(), threading.Event()
    paused_after_check = entering_function("_retire_surplus")
    first = Holder(pool, then=lambda: stop_at(paused_after_check, checking, resume))
    others = [Holder(pool, wait=False), Holder(pool, wait=False)]
    looks.look(2)  # the first look notes the progress, the second adds a thread
    assert others[0].started.wait(DEADLOCK_GUARD_S)
    looks.look()  # still no progress: another thread
    assert others[1].started.wait(DEADLOCK_GUARD_S)
    looks.look()  # nothing waits: one thread fewer is wanted (2 of 3)
    first.release()
    assert checking.wait(DEADLOCK_GUARD_S)  # it saw 3 > 2, and has not locked yet
    for other in others[:others_stop]:  # one stops as surplus, the second when idle
        other.release()
        assert other.thread is not None
        other.thread.join(DEADLOCK_GUARD_S)
        assert not other.thread.is_alive()
    resume.set()
    if others_stop == 1:  # two threads left, as wanted: both serve
        others[1].release()
        serve_together(pool, 2)
    else:  # one left, fewer than wanted: it serves
        assert pool.submit(abs, -1).result(DEADLOCK_GUARD_S) == 1


def test_the_watcher_stops_after_idle_looks_and_the_next_task_starts_it_again(
    stepped: Stepped,
) -> None:
    before = set(threading.enumerate())
    pool, looks = stepped(max_workers=4, runners=2)
    pool.submit(abs, -1).result(DEADLOCK_GUARD_S)
    held = Holder(pool)  # a running task is no work waiting: the pool counts as idle
    assert len(new_threads(before, "rpc-watcher")) == 1  # one watcher for both tasks
    (watcher,) = new_threads(before, "rpc-watcher")
    looks.look(1 + IDLE_LOOKS - 1)  # the first look notes the finished task
    assert watcher.is_alive() and pool.threads == 1
    looks.last_look(watcher)
    restarted = pool.submit(abs, -2)  # waits behind the held task
    assert len(new_threads(before, "rpc-watcher")) == 1
    assert pool.threads == 1  # one task waiting starts no thread
    held.release()
    assert restarted.result(DEADLOCK_GUARD_S) == 2


def test_a_task_that_restarts_the_watcher_but_was_already_taken_starts_no_thread(
    stepped: Stepped,
) -> None:
    before = set(threading.enumerate())
    pool, looks = stepped(max_workers=4, runners=2)
    pool.submit(abs, -1).result(DEADLOCK_GUARD_S)
    looks.until_stopped(*new_threads(before, "rpc-watcher"))
    queued, resume, taken = threading.Event(), threading.Event(), threading.Event()
    submitted = in_thread_paused_after_queuing(lambda: pool.submit(taken.set), queued, resume)
    assert queued.wait(DEADLOCK_GUARD_S) and taken.wait(DEADLOCK_GUARD_S)
    resume.set()  # nothing waits in the queue now: no second runner
    submitted.result(DEADLOCK_GUARD_S).result(DEADLOCK_GUARD_S)
    assert pool.threads == 1


@pytest.mark.parametrize("surplus", [False, True], ids=["as-wanted", "one-too-many"])
def test_tasks_queued_while_the_watcher_is_away_start_no_thread_beyond_those_wanted(
    surplus: bool, stepped: Stepped
) -> None:
    before = set(threading.enumerate())
    pool, looks = stepped(max_workers=3, runners=1)
    holders = [Holder(pool)]
    if surplus:  # a second thread, no longer wanted once nothing waits
        holders.append(Holder(pool, wait=False))
        looks.look(2)
        assert holders[1].started.wait(DEADLOCK_GUARD_S)
    looks.until_stopped(*new_threads(before, "rpc-watcher"))
    threads = pool.threads
    queued, resume = threading.Event(), threading.Event()
    first = in_thread_paused_after_queuing(lambda: pool.submit(abs, -1), queued, resume)
    assert queued.wait(DEADLOCK_GUARD_S)  # queued, and the watcher not started again
    second = pool.submit(abs, -2)  # two wait now; this starts the watcher
    assert pool.threads == threads
    resume.set()
    for holder in holders:
        holder.release()
    assert first.result(DEADLOCK_GUARD_S).result(DEADLOCK_GUARD_S) == 1
    assert second.result(DEADLOCK_GUARD_S) == 2


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


def test_a_task_taken_before_shutdown_runs_though_submit_saw_the_shutdown(stepped: Stepped) -> None:
    pool, looks = stepped(max_workers=2, runners=1)
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


def test_submit_after_shutdown_is_refused_while_a_task_runs(stepped: Stepped) -> None:
    pool, looks = stepped(max_workers=2, runners=1)
    held = Holder(pool)
    pool.shutdown(wait=False)
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(abs, -1)
    held.release()
    assert held.future.result(DEADLOCK_GUARD_S) is True


def test_bad_sizes_are_refused() -> None:
    for runners in (3, 0):
        with pytest.raises(ValueError, match="runners <= max_workers"):
            RunnerPool(max_workers=2, runners=runners)
    with pytest.raises(ValueError, match="runners <= max_workers"):
        RunnerPool(max_workers=0)


def test_the_pool_never_keeps_the_process_alive() -> None:
    """Its threads are daemons: a process that never shuts its pool down still exits."""
    code = (
        "from session_service_core.server.pool import RunnerPool\n"
        "pool = RunnerPool(max_workers=4, patience=3600)\n"
        "assert pool.submit(abs, -1).result() == 1\n"
    )
    done = subprocess.run([sys.executable, "-c", code], timeout=DEADLOCK_GUARD_S, check=False)
    assert done.returncode == 0


class Holder:
    """A task on `pool` that runs until released, then runs `then` (in the pool's thread)."""

    made: ClassVar[list[Holder]] = []

    def __init__(
        self, pool: RunnerPool, wait: bool = True, then: Callable[[], object] = lambda: None
    ) -> None:
        self.started, self._release = threading.Event(), threading.Event()
        self.thread: threading.Thread | None = None

        def hold() -> bool:
            self.thread = threading.current_thread()
            self.started.set()
            released = self._release.wait(DEADLOCK_GUARD_S)
            then()
            return released

        self.future = pool.submit(hold)
        Holder.made.append(self)
        if wait:
            assert self.started.wait(DEADLOCK_GUARD_S)

    def release(self) -> None:
        self._release.set()

    @classmethod
    def release_all(cls) -> None:
        for holder in cls.made:
            holder.release()
        cls.made.clear()


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
