"""The clients, and the loads they put on a server.

Each client has a channel and a connection of its own, as separate plug-in
processes would. A load runs its clients in threads started together; logging
can also run them in client processes, to show the client side is not the limit.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from _bench.plan import Plan
from _bench.project import (
    CONFIGURATIONS,
    INITIALIZE_NEW,
    MEASUREMENT,
    OUTPUTS,
    PIN_NAMES,
    SITE,
    STATION,
    STATUS,
    UNSPECIFIED,
    database_modules,
    modules,
)

POOL_SIZE = 8  # clients of a server's pool, which open and close sessions in bulk
Window = Callable[[float, float], None]  # told when a measured window opens and closes


class Client:
    """One client of a target: its own channel and a stub with the three RPCs."""

    def __init__(self, address: str) -> None:
        """Connect to `address` (host:port) over a connection of its own.

        gRPC shares one connection among channels to the same address unless told
        otherwise; plug-ins are separate processes, each with its own connection.
        """
        m = modules()
        self._pb2 = m.pb2
        options = [("grpc.use_local_subchannel_pool", 1)]
        self._channel = m.grpc.insecure_channel(address, options=options)
        m.grpc.channel_ready_future(self._channel).result(timeout=30)
        self._stub = m.pb2_grpc.JsonLoggerStub(self._channel)

    def initialize(self, path: Path | str, behavior: int = UNSPECIFIED) -> str:
        """Open or attach to the session for `path`; return its name."""
        request = self._pb2.InitializeFileRequest(
            file_path=str(path), initialization_behavior=behavior
        )
        return str(self._stub.InitializeFile(request).session_name)

    def log_request(self, session_name: str) -> Any:
        """A LogMeasurementData request for `session_name`, stamped now."""
        request = self._pb2.LogMeasurementDataRequest(
            session_name=session_name,
            measurement_name=MEASUREMENT,
            measurement_configurations=CONFIGURATIONS,
            measurement_outputs=OUTPUTS,
        )
        request.timestamp.GetCurrentTime()
        return request

    def log(self, request: Any) -> None:
        """Send one prepared record."""
        self._stub.LogMeasurementData(request)

    def close_session(self, session_name: str) -> None:
        """Close a session."""
        self._stub.CloseFile(self._pb2.CloseFileRequest(session_name=session_name))

    def open_close(self, path: Path) -> None:
        """Open or attach to the session for `path`, then close it."""
        self.close_session(self.initialize(path))

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()


class LogClient(Protocol):
    """What the logging loop needs of a client: open, log a prepared request, close."""

    def initialize(self, resource: Path | str, behavior: int = UNSPECIFIED) -> str:
        """Open or attach to the session for `resource`; return its name."""
        ...

    def log_request(self, session_name: str) -> Any:
        """A request that logs one record or result in `session_name`."""
        ...

    def log(self, request: Any) -> None:
        """Send one prepared request."""
        ...

    def close_session(self, session_name: str) -> None:
        """Close a session."""
        ...

    def close(self) -> None:
        """Close the channel."""
        ...


class DatabaseClient:
    """One client of the database render's server (or its baseline): its own channel."""

    def __init__(self, address: str) -> None:
        """Connect to `address` over a connection of its own, as `Client` does."""
        d = database_modules()
        self._pb2 = d.pb2
        options = [("grpc.use_local_subchannel_pool", 1)]
        self._channel = d.grpc.insecure_channel(address, options=options)
        d.grpc.channel_ready_future(self._channel).result(timeout=30)
        self._stub = d.pb2_grpc.ResultsDatabaseStub(self._channel)

    def initialize(self, resource: Path | str, behavior: int = UNSPECIFIED) -> str:
        """Open or attach to the session for the database URL `resource`; return its name."""
        request = self._pb2.OpenDatabaseRequest(
            database_url=str(resource), initialization_behavior=behavior
        )
        return str(self._stub.OpenDatabase(request).session_name)

    def log_request(self, session_name: str) -> Any:
        """A LogResult request for `session_name`, stamped now, as a plug-in sends one."""
        request = self._pb2.LogResultRequest(
            session_name=session_name,
            measurement_name=MEASUREMENT,
            site=SITE,
            pin_names=PIN_NAMES,
            status=STATUS,
            configurations=CONFIGURATIONS,
            outputs=OUTPUTS,
            station=STATION,
        )
        request.timestamp.GetCurrentTime()
        return request

    def log(self, request: Any) -> None:
        """Send one prepared result."""
        self._stub.LogResult(request)

    def query(self, session_name: str, limit: int) -> int:
        """QueryResults for the newest `limit` rows of any measurement; return how many came."""
        request = self._pb2.QueryResultsRequest(session_name=session_name, limit=limit)
        return len(self._stub.QueryResults(request).rows)

    def close_session(self, session_name: str) -> None:
        """Close a session."""
        self._stub.CloseDatabase(self._pb2.CloseDatabaseRequest(session_name=session_name))

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()


def close_all(clients: Iterable[LogClient]) -> None:
    """Close the channels of `clients`."""
    for client in clients:
        client.close()


def _window(plan: Plan) -> tuple[float, float]:
    """The measured window of a throughput round that starts now: after the warm-up."""
    begin = time.perf_counter() + plan.warmup_s
    return begin, begin + plan.window_s


def log_records(
    address: str,
    paths: Sequence[str],
    shared: bool,
    processes: int,
    plan: Plan,
    on_window: Window,
    make_client: Callable[[str], LogClient] = Client,
) -> int:
    """Records logged inside the measured window by one client per path.

    The clients are threads of this process, or of `processes` client processes
    that start logging together. With `shared`, every client attaches to the
    session of the first path. `on_window(begin, end)` is told when the window
    is, in `time.perf_counter` seconds. `make_client` connects a client to the
    address (the database rows pass `DatabaseClient`; a path is then a URL); it
    must be a class or function of a module, for the client processes to find.
    """
    if processes == 1:
        return _log_loop(address, paths, shared, plan, on_window=on_window, make_client=make_client)
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Semaphore(0), context.Event(), context.Queue()
    workers = [
        context.Process(
            target=_log_worker,
            args=(address, paths[i::processes], shared, plan, ready, go, results, make_client),
        )
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.acquire()
    go.set()
    on_window(*_window(plan))
    counts = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    failed = [count for count in counts if isinstance(count, str)]
    if failed:
        raise RuntimeError(f"a client process of {address} failed: {failed[0]}")
    return int(sum(counts))


def _log_loop(
    address: str,
    paths: Sequence[str],
    shared: bool,
    plan: Plan,
    go: Callable[[], None] = lambda: None,
    on_window: Window = lambda begin, end: None,
    make_client: Callable[[str], LogClient] = Client,
) -> int:
    """Log from one thread per path; return the records completed inside the window.

    With `shared`, every thread attaches to the session of the first path. Once
    every thread is ready, `go()` is called (a process waits there for its
    parent), then the window opens after the warm-up and `on_window(begin, end)`
    is told when, in `time.perf_counter` seconds.
    """
    clients = [make_client(address) for _ in paths]
    names = [c.initialize(paths[0] if shared else p) for c, p in zip(clients, paths, strict=True)]
    counts = [0] * len(paths)
    window: list[float] = []
    ready = threading.Barrier(len(paths) + 1)
    start = threading.Event()
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            client, request = clients[index], clients[index].log_request(names[index])
            ready.wait()
            start.wait()
            begin, end = window
            while (now := time.perf_counter()) < end:
                client.log(request)
                if now >= begin:
                    counts[index] += 1
        except Exception as error:  # noqa: BLE001  (a failed call fails the row: raised below)
            failures.append(error)
            ready.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(paths))]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a client failed: raised below
        ready.wait()
        go()
        window.extend(_window(plan))
        start.set()
        on_window(*window)
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"a client of {address} failed: {failures[0]!r}") from failures[0]
    for name in sorted(set(names)):
        clients[0].close_session(name)
    close_all(clients)
    return sum(counts)


def _log_worker(
    address: str,
    paths: list[str],
    shared: bool,
    plan: Plan,
    ready: Any,
    go: Any,
    results: Any,
    make_client: Callable[[str], LogClient],
) -> None:
    """Client process: `_log_loop`, started when the parent sets `go`; puts its count.

    If it fails, it puts what failed instead (releasing `ready` too, in case it
    failed before saying so), for the parent to raise.
    """

    def wait_for_parent() -> None:
        ready.release()
        go.wait()

    try:
        count = _log_loop(address, paths, shared, plan, go=wait_for_parent, make_client=make_client)
    except Exception as error:  # noqa: BLE001  (reported to the parent, which raises it)
        ready.release()
        results.put(repr(error))
    else:
        results.put(count)


def init_close_latencies(clients: Sequence[Client], path: Path, samples: int) -> list[float]:
    """Milliseconds of Initialize+Close pairs, `samples` per client, all clients at once.

    Each client has its own file, so no two clients share a session.
    """
    latencies: list[list[float]] = [[] for _ in clients]
    barrier = threading.Barrier(len(clients))

    def run(index: int) -> None:
        client = clients[index]
        own = path.with_name(f"{path.stem}-{index}{path.suffix}")
        barrier.wait()
        for _ in range(samples):
            begin = time.perf_counter()
            client.open_close(own)
            latencies[index].append(_ms_since(begin))

    run_threads(run, len(clients))
    return [value for per_client in latencies for value in per_client]


def run_threads(body: Callable[[int], None], count: int) -> None:
    """Run `body(0)` to `body(count - 1)` in threads of their own; re-raise the first error."""
    errors: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            body(index)
        except BaseException as error:  # noqa: BLE001  (re-raised in the caller)
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def open_sessions(pool: Sequence[Client], paths: Sequence[Path]) -> list[str]:
    """Open a session per path from a target's pool; return the names in order."""
    names = [""] * len(paths)

    def run(index: int) -> None:
        client = pool[index]
        for i in range(index, len(paths), len(pool)):
            names[i] = client.initialize(paths[i])

    run_threads(run, len(pool))
    return names


def close_sessions(pool: Sequence[Client], names: Sequence[str]) -> None:
    """Close sessions from a target's pool."""

    def run(index: int) -> None:
        client = pool[index]
        for name in names[index :: len(pool)]:
            client.close_session(name)

    run_threads(run, len(pool))


def _ms_since(begin: float) -> float:
    """Milliseconds from `begin` (a `time.perf_counter` reading) to now."""
    return (time.perf_counter() - begin) * 1000


def timed_ms(action: Callable[[], object], samples: int) -> list[float]:
    """Milliseconds of `samples` calls of `action`."""
    values = []
    for _ in range(samples):
        begin = time.perf_counter()
        action()
        values.append(_ms_since(begin))
    return values


def timed_open(client: Client, path: Path) -> float:
    """Milliseconds of one InitializeFile (INITIALIZE_NEW) on `path`; the session is then closed."""
    begin = time.perf_counter()
    name = client.initialize(path, INITIALIZE_NEW)
    elapsed = _ms_since(begin)
    client.close_session(name)
    return elapsed


def open_close_cycles(pool: Sequence[Client], stem: Path, total: int) -> None:
    """`total` Initialize+Close pairs shared among the pool's clients, each on its own file."""
    turns = _Countdown(total)

    def run(index: int) -> None:
        client = pool[index]
        path = stem.with_name(f"{stem.name}-{index}.ndjson")
        while turns.take():
            client.open_close(path)

    run_threads(run, len(pool))


class _Countdown:
    """Hands out `total` turns to any number of threads."""

    def __init__(self, total: int) -> None:
        self._left = total
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Take one turn; False once none are left."""
        with self._lock:
            self._left -= 1
            return self._left >= 0
