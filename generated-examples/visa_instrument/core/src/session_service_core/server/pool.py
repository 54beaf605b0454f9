"""The thread pool the gRPC server runs RPC handlers on: few threads, more when they block.

Python runs one thread at a time (the GIL). gRPC's synchronous server hands each
RPC to a pool thread, and that thread waits for the request message, runs the
handler and sends the reply. When many pool threads all have work, they take
turns at the GIL and every turn is a context switch: with 32 clients logging at
once, 32 busy threads served about a third fewer records per second than 2, and
each record cost the server about twice the system time.

So RPCs run on `runners` threads (2) that take them in order from one queue; the
second starts only when RPCs queue up, and a thread beyond the first that has
had nothing to do for `linger` seconds stops (one thread serving one client at a
time is woken once per RPC; two would take turns, each woken with cold caches).
Handlers that block (a slow instrument, a lock held by another session's long
operation) must not hold up everyone else, though: a watcher checks every
`patience` seconds whether RPCs are waiting while none has finished since its
last look, and if so starts one more thread, up to `max_workers`. Once RPCs
finish again, the extra threads stop one by one.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from concurrent import futures
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
_Task = tuple[futures.Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]

RUNNERS = 2
PATIENCE_S = 0.02
LINGER_S = 5.0
# The watcher stops after this many looks at an idle pool; the next RPC starts it again.
IDLE_LOOKS = 50
_numbers = itertools.count(1)


class RunnerPool(futures.Executor):
    """An executor that runs tasks on `runners` threads and adds threads only while tasks stall.

    Its own queue and threads; `futures.Executor` gives it `map` and the context manager.
    `sleep` is how the watcher waits `patience` seconds between looks (tests step it).
    """

    def __init__(
        self,
        max_workers: int,
        runners: int = RUNNERS,
        patience: float = PATIENCE_S,
        linger: float = LINGER_S,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if max_workers < 1 or not 1 <= runners <= max_workers:
            raise ValueError(
                f"need 1 <= runners <= max_workers; got runners={runners}, "
                f"max_workers={max_workers}"
            )
        self._limit = max_workers
        self._runners = runners
        self._patience = patience
        self._linger = linger
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []  # alive or retired; pruned when started
        self._count = 0  # threads serving the queue
        self._wanted = runners  # threads that should serve it (more while tasks stall)
        self._finished = 0  # tasks done; the watcher's sign of progress
        self._closed = False
        self._watching = False

    @property
    def threads(self) -> int:
        """Threads serving the queue now."""
        return self._count

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> futures.Future[T]:
        """Queue `fn(*args, **kwargs)`; return its future."""
        future: futures.Future[T] = futures.Future()
        self._tasks.put((future, fn, args, kwargs))
        # Rare, so decided again under the lock: tasks queuing up with fewer threads
        # than wanted, no watcher (as before the first task: no thread either), or closed.
        if (
            (self._count < self._wanted and self._tasks.qsize() > 1)
            or not self._watching
            or self._closed
        ):
            self._tend(future)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the threads once the queued tasks are done (or cancelled)."""
        with self._lock:
            self._closed = True
            workers, count = list(self._workers), self._count
        if cancel_futures:
            while True:
                try:
                    task = self._tasks.get_nowait()
                except queue.Empty:
                    break
                if task is not None:
                    task[0].cancel()
        for _ in range(count):
            self._tasks.put(None)  # one stop sign per thread, behind the queued tasks
        if wait:
            for worker in workers:
                if worker is not threading.current_thread():
                    worker.join()

    def _tend(self, future: futures.Future[Any]) -> None:
        """Start what the task just queued needs, or take it back if the pool has shut down."""
        with self._lock:
            if self._closed:
                # It may sit behind the stop signs, or no thread may be left to run
                # it: refuse it, unless a thread has already taken it.
                if future.cancel():
                    raise RuntimeError("cannot schedule new futures after shutdown")
                return
            if self._count == 0 or (self._count < self._wanted and self._tasks.qsize() > 1):
                self._start_worker()
            if not self._watching:
                self._watching = True
                watcher = threading.Thread(target=self._watch, name="rpc-watcher", daemon=True)
                watcher.start()

    def _start_worker(self) -> None:
        """Start one more thread on the queue (holding the lock)."""
        self._workers = [worker for worker in self._workers if worker.is_alive()]
        worker = threading.Thread(target=self._work, name=f"rpc-{next(_numbers)}", daemon=True)
        self._workers.append(worker)
        self._count += 1
        worker.start()

    def _work(self) -> None:
        take, linger = self._tasks.get, self._linger
        while True:
            try:
                task = take(timeout=linger)
            except queue.Empty:
                with self._lock:
                    if self._count > 1:
                        self._count -= 1
                        return
                continue
            if task is None:
                with self._lock:
                    self._count -= 1
                return
            future, fn, args, kwargs = task
            del task
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as error:  # noqa: BLE001  (handed to the future)
                    future.set_exception(error)
                else:
                    future.set_result(result)
            del future, fn, args, kwargs  # drop the request before waiting for the next
            self._finished += 1  # a hint, not a count: concurrent increments may merge
            if self._count > self._wanted and self._retire_surplus():
                return

    def _retire_surplus(self) -> bool:
        """Count this thread out if the pool has more than it wants now; say whether it did."""
        with self._lock:
            if self._count > self._wanted:
                self._count -= 1
                return True
        return False

    def _watch(self) -> None:
        """Add a thread while tasks wait and none finish; let extra threads go once they do."""
        last, idle = -1, 0
        while True:
            self._sleep(self._patience)
            finished = self._finished
            with self._lock:
                if self._closed:
                    self._watching = False
                    return
                waiting = not self._tasks.empty()
                if waiting and finished == last:
                    if self._count < self._limit:
                        self._wanted += 1
                        self._start_worker()
                elif self._wanted > self._runners:
                    self._wanted -= 1  # the next thread to finish a task stops
                idle = 0 if waiting or finished != last else idle + 1
                if idle >= IDLE_LOOKS:
                    self._watching = False
                    return
            last = finished
