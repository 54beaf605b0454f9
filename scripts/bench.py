"""Benchmark the rendered JSON logger service against Python gRPC's limit and NI's design.

Usage:
    python3 scripts/bench.py                      # full run, about 3.5 minutes on 2 cores
    python3 scripts/bench.py --quick              # every row, fewer samples, under a minute
    python3 scripts/bench.py --json bench.json    # also write the table as JSON
    python3 scripts/bench.py --compare old.json   # add a column: this run / the old run
    python3 scripts/bench.py --project DIR        # measure a JSON logger rendered earlier

What it measures, in one run and one process tree, alternating the servers and
taking medians over repetitions:

- **generated**: the template rendered now with the default answers (NI's JSON
  logger), run as `python -m json_logger_server --no-discovery --port 0`;
- **baseline**: a server on the same generated proto, same thread pool, whose
  handlers only return an empty response: what Python gRPC can do on this machine;
- **reference**: a server written here from the published description of NI's
  reference design (it re-reads and parses the whole log on every InitializeFile,
  attaches included), to show what the generated design avoids.

Clients are threads of this process, each with its own channel and connection;
one row runs the same load from two client processes to show that the client side
is not the limit.
Every ratio is generated / baseline. Memory and descriptor rows read /proc, so
they need Linux; elsewhere they are left empty.

Run with any Python 3.10+: the script sets up the repository's .venv (Copier,
uv) with scripts/_bootstrap.py, renders the template into a temporary directory,
builds an environment there with the render's pinned grpcio, protobuf and NI SDK
plus its client and server packages, and re-runs itself inside it (`--measure`).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
SERVER_PACKAGE = "json_logger_server"
CLIENT_PACKAGE = "json_logger_client"
LISTENING = "listening on "
KIND_GENERATED, KIND_BASELINE, KIND_REFERENCE = "generated", "baseline", "reference"
# A record as the benchmark logs it, and as the pre-filled logs hold it.
CONFIGURATIONS = {"voltage": "3.3", "current_limit": "0.01", "aperture": "0.02"}
OUTPUTS = {"measured_current": "0.00998", "status": "pass", "duration_s": "0.0413"}
UNSPECIFIED, INITIALIZE_NEW = 0, 1  # SessionInitializationBehavior on the wire
T = TypeVar("T")
POOL_SIZE = 8  # threads that open and close sessions in bulk


# ---------------------------------------------------------------------------
# Settings of one run
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How much of everything a run measures; `--quick` scales it down.

    Every comparison alternates its subjects in rounds (the order reversed every
    other round), so a change in the machine's load hits all of them alike.
    """

    rounds: int  # throughput rounds per subject; figures are medians over them
    window_s: float  # measured seconds of one throughput round (after the warm-up)
    warmup_s: float
    latency_rounds: int  # rounds of the latency rows
    latency_batch: int  # calls per subject and latency round
    session_levels: tuple[int, ...]  # open sessions under the scaling rows
    cycles: int  # open/close cycles of the leak rows
    log_records: int  # records in the large log


FULL = Plan(7, 1.2, 0.3, 20, 25, (10, 1_000, 10_000), 10_000, 20_000)
QUICK = Plan(1, 0.4, 0.15, 3, 10, (10, 1_000, 10_000), 2_000, 20_000)


# ---------------------------------------------------------------------------
# Outer part: render the template, build an environment, run --measure in it
# ---------------------------------------------------------------------------


def render_and_measure(args: argparse.Namespace, forwarded: list[str]) -> int:
    """Render (or take `--project`), build the environment, run the measurement in it."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import _bootstrap  # here, not at the top: --measure and --serve run without it

    _bootstrap.require_supported_python()
    python, tools = _bootstrap.ensure_venv()
    env = _bootstrap.tool_environment(tools)
    with tempfile.TemporaryDirectory(prefix="session-template-bench-") as scratch:
        work = Path(scratch)
        if args.project is None:
            project = work / "project"
            copier = tools / ("copier.exe" if sys.platform == "win32" else "copier")
            command = [str(copier), "copy", "--trust", "--defaults", "--vcs-ref", "HEAD"]
            print("bench: rendering the template (default answers)...", file=sys.stderr)
            _run([*command, "--quiet", str(ROOT), str(project)], env)
        else:
            project = args.project.resolve()
        print("bench: building the benchmark environment...", file=sys.stderr, flush=True)
        bench_python = _build_environment(work / "venv", project, python, tools, env)
        command = [str(bench_python), str(Path(__file__).resolve()), "--measure", str(project)]
        env["NO_PROXY"] = env["no_proxy"] = "localhost,127.0.0.1,::1"
        return subprocess.run([*command, *forwarded], env=env, check=False).returncode


def _build_environment(
    venv_dir: Path, project: Path, python: Path, tools: Path, env: dict[str, str]
) -> Path:
    """Create a venv with the render's packages and the versions its requirements pin."""
    bench_python = venv_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    packages = [
        "-c",
        str(project / "requirements-dev.txt"),  # constraints: the render's pins
        "-e",
        str(project / "client"),
        "-e",
        str(project / "server"),
    ]
    uv = shutil.which("uv", path=str(tools))
    if uv:
        _run([uv, "venv", "--quiet", "--python", str(python), str(venv_dir)], env)
        _run([uv, "pip", "install", "--quiet", "--python", str(bench_python), *packages], env)
    else:
        _run([str(python), "-m", "venv", str(venv_dir)], env)
        pip = [str(bench_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        _run([*pip, *packages], env)
    return bench_python


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, check=False)
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(command)} failed with exit code {result.returncode}")


# ---------------------------------------------------------------------------
# The generated project's modules (importable only inside the environment)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Modules:
    """grpc and the render's packages, imported by name: they exist only in the bench venv."""

    grpc: Any
    pb2: Any
    pb2_grpc: Any
    client: Any
    server_main: Any
    behavior: Any  # the NI SDK's SessionInitializationBehavior


@functools.cache
def modules() -> Modules:
    """Import grpc, the generated stubs and packages (once)."""
    return Modules(
        grpc=importlib.import_module("grpc"),
        pb2=importlib.import_module(f"{CLIENT_PACKAGE}.stubs.json_logger_pb2"),
        pb2_grpc=importlib.import_module(f"{CLIENT_PACKAGE}.stubs.json_logger_pb2_grpc"),
        client=importlib.import_module(CLIENT_PACKAGE),
        server_main=importlib.import_module(f"{SERVER_PACKAGE}.main"),
        behavior=importlib.import_module(
            "ni.measurementlink.sessionmanagement.v1.client"
        ).SessionInitializationBehavior,
    )


def record_line() -> bytes:
    """Return one NDJSON record as the generated server writes it."""
    record = {
        "timestamp": "2025-01-01 00:00:00",
        "measurement_name": "leakage",
        "measurement_configurations": CONFIGURATIONS,
        "measurement_outputs": OUTPUTS,
    }
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


# ---------------------------------------------------------------------------
# The baseline and reference-style servers (run as `bench.py --serve KIND`)
# ---------------------------------------------------------------------------


def serve(kind: str) -> int:
    """Serve the baseline or the reference-style servicer until stdin closes or SIGTERM.

    On the generated server's thread pool, built by its own `thread_pool()` with
    its default size (renders from before it had one get the plain pool they used).
    """
    m = modules()
    workers = m.server_main.parse_args([]).workers  # the generated server's default pool
    servicer = _baseline_servicer(m) if kind == KIND_BASELINE else _reference_servicer(m)
    make_pool = getattr(m.server_main, "thread_pool", None)
    pool = make_pool(workers) if make_pool else futures.ThreadPoolExecutor(max_workers=workers)
    server = m.grpc.server(pool, options=[("grpc.so_reuseport", 0)])
    m.pb2_grpc.add_JsonLoggerServicer_to_server(servicer, server)
    port = server.add_insecure_port("localhost:0")
    server.start()
    print(f"{LISTENING}localhost:{port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sys.stdin.read()
    server.stop(grace=1).wait()
    return 0


def _baseline_servicer(m: Modules) -> Any:
    """Handlers that do nothing but return an empty response."""
    pb2 = m.pb2
    base: Any = m.pb2_grpc.JsonLoggerServicer

    class Baseline(base):  # type: ignore[misc]  # the generated base class is Any here
        def InitializeFile(self, request: Any, context: Any) -> Any:  # noqa: N802, D102
            return pb2.InitializeFileResponse()

        def LogMeasurementData(self, request: Any, context: Any) -> Any:  # noqa: N802, D102
            return pb2.LogMeasurementDataResponse()

        def CloseFile(self, request: Any, context: Any) -> Any:  # noqa: N802, D102
            return pb2.CloseFileResponse()

    return Baseline()


def _reference_servicer(m: Modules) -> Any:
    """NI's reference design as published: every InitializeFile re-reads and parses the log.

    Written from that description only. Sessions live in dictionaries; opening,
    attaching and the behaviour table work as in the generated server, so the
    only difference measured is the full read on every Initialize.
    """
    pb2, grpc = m.pb2, m.grpc
    base: Any = m.pb2_grpc.JsonLoggerServicer

    class Reference(base):  # type: ignore[misc]  # the generated base class is Any here
        def __init__(self) -> None:
            self._lock = threading.Lock()
            self._by_name: dict[str, tuple[str, IO[str], threading.Lock]] = {}
            self._by_path: dict[str, str] = {}

        def InitializeFile(self, request: Any, context: Any) -> Any:  # noqa: N802, D102
            path = os.path.realpath(request.file_path)
            if os.path.exists(path):  # the whole log, parsed, on every call
                with open(path, encoding="utf-8") as handle:
                    _records = [json.loads(line) for line in handle if line.strip()]
            with self._lock:
                name = self._by_path.get(path)
                if name is not None:
                    if request.initialization_behavior == INITIALIZE_NEW:
                        context.abort(grpc.StatusCode.ALREADY_EXISTS, "session already open")
                    return pb2.InitializeFileResponse(session_name=name, new_session=False)
                name = f"session-{len(self._by_name)}-{time.monotonic_ns()}"
                handle = open(path, "a", encoding="utf-8")  # noqa: SIM115  (kept open)
                self._by_name[name] = (path, handle, threading.Lock())
                self._by_path[path] = name
            return pb2.InitializeFileResponse(session_name=name, new_session=True)

        def LogMeasurementData(self, request: Any, context: Any) -> Any:  # noqa: N802, D102
            with self._lock:
                _path, handle, lock = self._by_name[request.session_name]
            record = {
                "timestamp": request.timestamp.ToDatetime().strftime("%Y-%m-%d %H:%M:%S"),
                "measurement_name": request.measurement_name,
                "measurement_configurations": dict(request.measurement_configurations),
                "measurement_outputs": dict(request.measurement_outputs),
            }
            with lock:
                handle.write(json.dumps(record) + "\n")
                handle.flush()
            return pb2.LogMeasurementDataResponse()

        def CloseFile(self, request: Any, context: Any) -> Any:  # noqa: N802, D102
            with self._lock:
                entry = self._by_name.pop(request.session_name, None)
                if entry is not None:
                    del self._by_path[entry[0]]
            if entry is None:
                context.abort(grpc.StatusCode.NOT_FOUND, "no such session")
            else:
                entry[1].close()
            return pb2.CloseFileResponse()

    return Reference()


# ---------------------------------------------------------------------------
# Server processes and what /proc says about them
# ---------------------------------------------------------------------------


@dataclass
class Target:
    """A server process under test."""

    kind: str
    process: subprocess.Popen[str]
    address: str
    _pool: list[Client] = field(default_factory=list)

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid

    def pool(self) -> list[Client]:
        """POOL_SIZE clients kept for the whole run, so their connections never show as fds.

        Created on first use, from one thread.
        """
        if not self._pool:
            self._pool.extend(Client(self.address) for _ in range(POOL_SIZE))
        return self._pool

    def close_pool(self) -> None:
        """Close the pool's channels, if it was ever created."""
        for client in self._pool:
            client.close()
        self._pool.clear()


def start_target(kind: str, workdir: Path) -> Target:
    """Start one server process; return when it prints its address."""
    if kind == KIND_GENERATED:
        command = [sys.executable, "-m", SERVER_PACKAGE, "--no-discovery", "--port", "0"]
    else:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve", kind]
    process = subprocess.Popen(
        command, cwd=workdir, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith(LISTENING):
        process.kill()
        sys.exit(f"bench: the {kind} server did not start (it printed {line!r})")
    return Target(kind, process, line.removeprefix(LISTENING).strip())


def stop_target(target: Target) -> None:
    """Close its pool's channels and stop the server (SIGTERM, then kill after 10 s)."""
    target.close_pool()
    if target.process.stdin is not None:
        with contextlib.suppress(OSError):
            target.process.stdin.close()
    target.process.terminate()
    try:
        target.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        target.process.kill()
        target.process.wait()


def rss_mib(pid: int) -> float | None:
    """Resident memory of a process in MiB, or None without /proc."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def open_fds(pid: int) -> int | None:
    """Open file descriptors of a process, or None without /proc."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def settled_fds(pid: int) -> int | None:
    """Open descriptors once the count holds still for 0.2 s (at most 5 s).

    gRPC closes a finished connection's socket asynchronously, so a count taken
    right after a burst of calls can still include it.
    """
    readings = [open_fds(pid)]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (len(readings) < 5 or len(set(readings[-5:])) > 1):
        time.sleep(0.05)
        readings.append(open_fds(pid))
    return readings[-1]


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process so far, or None without /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------
# Client side
# ---------------------------------------------------------------------------


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
            measurement_name="leakage",
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

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()


def _log_loop(
    address: str,
    paths: Sequence[str],
    shared: bool,
    plan: Plan,
    go: Callable[[], None] = lambda: None,
    on_window: Callable[[float, float], None] = lambda begin, end: None,
) -> int:
    """Log from one thread per path; return the records completed inside the window.

    With `shared`, every thread attaches to the session of the first path. Once
    every thread is ready, `go()` is called (a process waits there for its
    parent), then the window opens after the warm-up and `on_window(begin, end)`
    is told when, in `time.perf_counter` seconds.
    """
    clients = [Client(address) for _ in paths]
    names = [c.initialize(paths[0] if shared else p) for c, p in zip(clients, paths, strict=True)]
    counts = [0] * len(paths)
    window: list[float] = []
    ready = threading.Barrier(len(paths) + 1)
    start = threading.Event()

    def run(index: int) -> None:
        client, request = clients[index], clients[index].log_request(names[index])
        ready.wait()
        start.wait()
        begin, end = window
        while (now := time.perf_counter()) < end:
            client.log(request)
            if now >= begin:
                counts[index] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(paths))]
    for thread in threads:
        thread.start()
    ready.wait()
    go()
    begin = time.perf_counter() + plan.warmup_s
    window.extend((begin, begin + plan.window_s))
    start.set()
    on_window(*window)
    for thread in threads:
        thread.join()
    for name in sorted(set(names)):
        clients[0].close_session(name)
    for client in clients:
        client.close()
    return sum(counts)


def _log_worker(
    address: str, paths: list[str], shared: bool, plan: Plan, ready: Any, go: Any, results: Any
) -> None:
    """Client process: `_log_loop`, started when the parent sets `go`; puts its count."""

    def wait_for_parent() -> None:
        ready.release()
        go.wait()

    results.put(_log_loop(address, paths, shared, plan, go=wait_for_parent))


class _CpuSampler:
    """Reads a process's CPU time at the start and the end of a window, in a thread."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._thread: threading.Thread | None = None
        self.cores: float | None = None

    def window(self, begin: float, end: float) -> None:
        """Start sampling the window [begin, end] (perf_counter seconds)."""

        def sample() -> None:
            time.sleep(max(0.0, begin - time.perf_counter()))
            before = cpu_seconds(self._pid)
            time.sleep(max(0.0, end - time.perf_counter()))
            after = cpu_seconds(self._pid)
            if before is not None and after is not None:
                self.cores = (after - before) / (end - begin)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()

    def result(self) -> float | None:
        """The server's CPU use over the window, in cores (None without /proc)."""
        if self._thread is not None:
            self._thread.join()
        return self.cores


def throughput(
    target: Target, workdir: Path, clients: int, shared: bool, processes: int, plan: Plan
) -> tuple[float, float | None]:
    """Records per second with `clients` concurrent loggers; also the server's CPU (cores)."""
    paths = [str(workdir / f"tput-{target.kind}-{i}.ndjson") for i in range(clients)]
    sampler = _CpuSampler(target.pid)
    if processes == 1:
        records = _log_loop(target.address, paths, shared, plan, on_window=sampler.window)
    else:
        context = multiprocessing.get_context("spawn")
        ready, go, results = context.Semaphore(0), context.Event(), context.Queue()
        workers = [
            context.Process(
                target=_log_worker,
                args=(target.address, paths[i::processes], shared, plan, ready, go, results),
            )
            for i in range(processes)
        ]
        for worker in workers:
            worker.start()
        for _ in workers:
            ready.acquire()
        go.set()
        begin = time.perf_counter() + plan.warmup_s
        sampler.window(begin, begin + plan.window_s)
        records = sum(results.get() for _ in workers)
        for worker in workers:
            worker.join()
    return records / plan.window_s, sampler.result()


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
            client.close_session(client.initialize(own))
            latencies[index].append((time.perf_counter() - begin) * 1000)

    _run_threads(run, len(clients))
    return [value for per_client in latencies for value in per_client]


def _run_threads(body: Callable[[int], None], count: int) -> None:
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


def open_sessions(target: Target, paths: Sequence[Path]) -> list[str]:
    """Open a session per path from the target's pool; return the names in order."""
    names = [""] * len(paths)
    pool = target.pool()

    def run(index: int) -> None:
        client = pool[index]
        for i in range(index, len(paths), POOL_SIZE):
            names[i] = client.initialize(paths[i])

    _run_threads(run, POOL_SIZE)
    return names


def close_sessions(target: Target, names: Sequence[str]) -> None:
    """Close sessions from the target's pool."""
    pool = target.pool()

    def run(index: int) -> None:
        client = pool[index]
        for name in names[index::POOL_SIZE]:
            client.close_session(name)

    _run_threads(run, POOL_SIZE)


def timed_ms(action: Callable[[], object], samples: int) -> list[float]:
    """Milliseconds of `samples` calls of `action`."""
    values = []
    for _ in range(samples):
        begin = time.perf_counter()
        action()
        values.append((time.perf_counter() - begin) * 1000)
    return values


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table; values are per target kind."""

    key: str
    label: str
    unit: str
    values: dict[str, float | None] = field(default_factory=dict)
    ratio: float | None = None  # generated / baseline
    target: str = ""
    met: bool | None = None
    note: str = ""


class Table:
    """The rows in the order they are measured."""

    def __init__(self) -> None:
        """Start empty."""
        self.rows: list[Row] = []

    def add(self, key: str, label: str, unit: str, values: dict[str, float | None]) -> Row:
        """Add a row; its ratio is generated / baseline when both are there."""
        row = Row(key, label, unit, dict(values))
        generated, baseline = values.get(KIND_GENERATED), values.get(KIND_BASELINE)
        if generated is not None and baseline:
            row.ratio = generated / baseline
        self.rows.append(row)
        return row

    def get(self, key: str) -> Row:
        """The row called `key`."""
        return next(row for row in self.rows if row.key == key)


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _alternating(subjects: Sequence[T], rounds: int) -> Iterator[tuple[int, T]]:
    """(round, subject) pairs, the order of the subjects reversed every other round."""
    for round_number in range(rounds):
        order = subjects if round_number % 2 == 0 else list(reversed(subjects))
        for subject in order:
            yield round_number, subject


# ---------------------------------------------------------------------------
# The measurements
# ---------------------------------------------------------------------------


def measure_throughput(
    table: Table, targets: dict[str, Target], work: Path, plan: Plan
) -> dict[str, Any]:
    """Throughput rows; returns the servers' CPU use per row as evidence of saturation.

    The ratio is the median of each round's generated/baseline ratio: the two
    runs of a round are adjacent in time, so they share the machine's conditions.
    """
    configurations = [
        ("tput_1", "LogMeasurementData, 1 client", 1, False, 1),
        ("tput_8", "LogMeasurementData, 8 clients, own sessions", 8, False, 1),
        ("tput_32", "LogMeasurementData, 32 clients, own sessions", 32, False, 1),
        ("tput_shared_8", "LogMeasurementData, 8 clients, one shared session", 8, True, 1),
        ("tput_shared_32", "LogMeasurementData, 32 clients, one shared session", 32, True, 1),
        ("tput_8_procs", "  same as 8 clients, from 2 client processes", 8, False, 2),
    ]
    kinds = [KIND_GENERATED, KIND_BASELINE]
    cpu: dict[str, Any] = {}
    for key, label, clients, shared, processes in configurations:
        rates: dict[str, list[float]] = {kind: [] for kind in kinds}
        busy: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _, kind in _alternating(kinds, plan.rounds):
            rate, used = throughput(targets[kind], work, clients, shared, processes, plan)
            rates[kind].append(rate)
            if used is not None:
                busy[kind].append(used)
        row = table.add(key, label, "records/s", {k: _median(v) for k, v in rates.items()})
        pairs = zip(rates[KIND_GENERATED], rates[KIND_BASELINE], strict=True)
        row.ratio = _median([generated / baseline for generated, baseline in pairs])
        cpu[key] = {k: (_median(v) if v else None) for k, v in busy.items()}
    return cpu


def measure_init_close(table: Table, targets: dict[str, Target], work: Path, plan: Plan) -> None:
    """Initialize+Close latency with 1 and 8 clients at once, each client on its own file."""
    kinds = [KIND_GENERATED, KIND_BASELINE]
    for count in (1, 8):
        clients = {kind: [Client(targets[kind].address) for _ in range(count)] for kind in kinds}
        per_client = max(3, plan.latency_batch // count * 2)
        samples: dict[str, list[float]] = {kind: [] for kind in kinds}
        for kind in kinds:  # create the files, warm the connections
            init_close_latencies(clients[kind], work / f"pair-{kind}-{count}.ndjson", 1)
        for _, kind in _alternating(kinds, plan.latency_rounds):
            path = work / f"pair-{kind}-{count}.ndjson"
            samples[kind] += init_close_latencies(clients[kind], path, per_client)
        for client in (c for group in clients.values() for c in group):
            client.close()
        for fraction, name in ((0.5, "p50"), (0.99, "p99")):
            table.add(
                f"init_close_{count}_{name}",
                f"Initialize+Close {name}, {count} client{'s' if count > 1 else ''}",
                "ms",
                {k: _percentile(v, fraction) for k, v in samples.items()},
            )


def measure_scaling(
    table: Table, targets: dict[str, Target], work: Path, plan: Plan
) -> dict[str, Any]:
    """Initialize+Close with many sessions open, memory per session, descriptors after.

    Each level has a fresh server of its own, holding that many sessions, and
    the probes alternate among them in small batches: the levels are compared
    under the same machine conditions and the same server history. The memory
    and descriptors are read on the servers of the highest level.
    """
    kinds = [KIND_GENERATED, KIND_BASELINE]
    levels = plan.session_levels
    low, high = levels[0], levels[-1]
    fresh: list[Target] = []
    try:
        servers: dict[tuple[str, int], Target] = {}
        for kind in kinds:
            for level in levels:
                fresh.append(start_target(kind, work))
                servers[kind, level] = fresh[-1]
                fresh[-1].pool()  # connect the pool before the first count
        top = {kind: servers[kind, high] for kind in kinds}
        start_fds = {kind: settled_fds(top[kind].pid) for kind in kinds}
        opened: dict[tuple[str, int], list[str]] = {}
        rss_low: dict[str, float | None] = {}
        for (kind, level), server in servers.items():
            directory = work / f"many-{kind}-{level}"
            directory.mkdir()
            paths = [directory / f"{i}.ndjson" for i in range(level)]
            opened[kind, level] = open_sessions(server, paths[:low])
            if level == high:
                rss_low[kind] = rss_mib(server.pid)
            opened[kind, level] += open_sessions(server, paths[low:])
        rss_high = {kind: rss_mib(top[kind].pid) for kind in kinds}
        fds_high = {kind: settled_fds(top[kind].pid) for kind in kinds}
        probes = {key: Client(server.address) for key, server in servers.items()}
        samples: dict[tuple[str, int], list[float]] = {key: [] for key in servers}
        for key, client in probes.items():  # create the probe files
            init_close_latencies([client], work / f"probe-{key[0]}-{key[1]}.ndjson", 1)
        for _, key in _alternating(list(servers), plan.latency_rounds):
            path = work / f"probe-{key[0]}-{key[1]}.ndjson"
            samples[key] += init_close_latencies([probes[key]], path, plan.latency_batch)
        for client in probes.values():
            client.close()
        for key, names in opened.items():
            close_sessions(servers[key], names)
        after = {kind: _delta(settled_fds(top[kind].pid), start_fds[kind]) for kind in kinds}
    finally:
        for server in fresh:
            stop_target(server)
    p50 = {key: _median(values) for key, values in samples.items()}
    for level in levels:
        table.add(
            f"init_close_at_{level}",
            f"Initialize+Close p50, {level:,} sessions open",
            "ms",
            {kind: p50[kind, level] for kind in kinds},
        )
    growth = table.add(
        "init_close_growth",
        f"  growth {low:,} -> {high:,} sessions (p50 ratio)",
        "x",
        {kind: _ratio(p50[kind, high], p50[kind, low]) for kind in kinds},
    )
    growth.ratio, growth.target = None, "<= 1.2"
    _judge(growth, growth.values[KIND_GENERATED], maximum=1.2)
    per_1000 = {kind: _per_1000(rss_high[kind], rss_low[kind], high - low) for kind in kinds}
    memory = table.add("rss_per_1000", "Resident memory per 1,000 open sessions", "MiB", per_1000)
    memory.ratio = None
    descriptors = table.add(
        "fds_after_close", f"Descriptors after closing {high:,} sessions (vs start)", "fds", after
    )
    descriptors.ratio, descriptors.target = None, "0"
    _judge(descriptors, descriptors.values[KIND_GENERATED], maximum=0)
    return {
        "rss_mib": {"before": rss_low, "after": rss_high},
        "open_fds": {"start": start_fds, f"with {high}": fds_high},
    }


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


def _cycle(pool: list[Client], stem: Path, turns: _Countdown, index: int) -> None:
    """Initialize+Close on this thread's file, with its pool client, until the turns run out."""
    client = pool[index]
    path = stem.with_name(f"{stem.name}-{index}.ndjson")
    while turns.take():
        client.close_session(client.initialize(path))


def measure_cycles(
    table: Table, targets: dict[str, Target], work: Path, plan: Plan
) -> dict[str, Any]:
    """Descriptor and memory growth over many open/close cycles, after a warm-up tenth."""
    kinds = [KIND_GENERATED, KIND_BASELINE]
    fd_growth: dict[str, float | None] = {}
    rss_growth: dict[str, float | None] = {}
    evidence: dict[str, Any] = {}
    for kind in kinds:
        target = targets[kind]
        pool = target.pool()
        warmup = _Countdown(max(100, plan.cycles // 10))
        stem = work / f"cycle-{kind}"
        _run_threads(functools.partial(_cycle, pool, stem, warmup), POOL_SIZE)
        before_fd, before_rss = settled_fds(target.pid), rss_mib(target.pid)
        _run_threads(functools.partial(_cycle, pool, stem, _Countdown(plan.cycles)), POOL_SIZE)
        after_fd, after_rss = settled_fds(target.pid), rss_mib(target.pid)
        fd_growth[kind] = _delta(after_fd, before_fd)
        rss_growth[kind] = _delta(after_rss, before_rss)
        evidence[kind] = {"fds": [before_fd, after_fd], "rss_mib": [before_rss, after_rss]}
    row = table.add(
        "cycles_fd_growth",
        f"Descriptor growth over {plan.cycles:,} open/close cycles",
        "fds",
        fd_growth,
    )
    row.ratio, row.target = None, "0"
    _judge(row, row.values[KIND_GENERATED], maximum=0)
    row = table.add(
        "cycles_rss_growth",
        f"Memory growth over {plan.cycles:,} open/close cycles",
        "MiB",
        rss_growth,
    )
    row.ratio, row.target = None, "<= 1 MiB"
    _judge(row, row.values[KIND_GENERATED], maximum=1.0)
    return evidence


def measure_large_log(table: Table, targets: dict[str, Target], work: Path, plan: Plan) -> None:
    """Attach on an empty and on a large log, and new sessions on the large log.

    The attach subjects (server kind x log size) alternate in rounds; a server
    that parses the whole log gets one call per round on the large log.
    """
    kinds = [KIND_GENERATED, KIND_BASELINE, KIND_REFERENCE]
    sizes = (0, plan.log_records)
    line = record_line()
    logs = {(kind, size): work / f"log-{kind}-{size}.ndjson" for kind in kinds for size in sizes}
    for (_, size), path in logs.items():
        path.write_bytes(line * size)
    clients = {kind: Client(targets[kind].address) for kind in kinds}
    names = {key: clients[key[0]].initialize(path, INITIALIZE_NEW) for key, path in logs.items()}
    samples: dict[tuple[str, int], list[float]] = {key: [] for key in logs}
    for _, key in _alternating(list(logs), plan.latency_rounds):
        slow = key[0] == KIND_REFERENCE and key[1] > 0
        attach = functools.partial(clients[key[0]].initialize, logs[key])
        samples[key] += timed_ms(attach, 1 if slow else plan.latency_batch)
    for key, name in names.items():
        clients[key[0]].close_session(name)
    attach_p50 = {key: _median(values) for key, values in samples.items()}
    for size in sizes:
        table.add(
            f"attach_{size}",
            f"Attach (UNSPECIFIED, open session), {size:,}-record log, p50",
            "ms",
            {kind: attach_p50[kind, size] for kind in kinds},
        )
    growth = table.add(
        "attach_growth",
        f"  growth 0 -> {plan.log_records:,} records (p50 ratio)",
        "x",
        {k: _ratio(attach_p50[k, plan.log_records], attach_p50[k, 0]) for k in kinds},
    )
    growth.ratio, growth.target = None, "<= 1.2"
    _judge(growth, growth.values[KIND_GENERATED], maximum=1.2)

    # Opening a large log, as a new user sees it: the first time a server opens
    # the file (the generated server checks every line then), again once a session
    # has closed it unchanged, and after another process appended a record. Each
    # round uses a fresh copy, so every "first" is a file the server never saw.
    cases = ("first", "again", "appended")
    opening: dict[str, dict[str, list[float]]] = {case: {k: [] for k in kinds} for case in cases}
    for round_number, kind in _alternating(kinds, plan.latency_rounds):
        client = clients[kind]
        fresh = work / f"open-{kind}-{round_number}.ndjson"
        shutil.copyfile(logs[kind, plan.log_records], fresh)
        opening["first"][kind].append(_timed_open(client, fresh))
        opening["again"][kind].append(_timed_open(client, fresh))
        with fresh.open("ab") as handle:
            handle.write(line)
        opening["appended"][kind].append(_timed_open(client, fresh))
        fresh.unlink()
    for client in clients.values():
        client.close()
    records = f"{plan.log_records:,}-record log"
    for case, label in (
        ("first", f"Open a {records} no session has opened before, p50"),
        ("again", "  again, after a session closed it unchanged, p50"),
        ("appended", "  again, after another process appended a record, p50"),
    ):
        table.add(
            f"open_large_{case}", label, "ms", {k: _median(v) for k, v in opening[case].items()}
        )


def _timed_open(client: Client, path: Path) -> float:
    """Milliseconds of one InitializeFile (INITIALIZE_NEW) on `path`; the session is then closed."""
    begin = time.perf_counter()
    name = client.initialize(path, INITIALIZE_NEW)
    elapsed = (time.perf_counter() - begin) * 1000
    client.close_session(name)
    return elapsed


def measure_plugin(table: Table, targets: dict[str, Target], work: Path, plan: Plan) -> None:
    """A measurement's client side: initialize, log one record, close.

    Through the generated client (JsonLoggerClient with the address given, so
    the location is known once; the process's shared connection and channel
    pool reuse one channel) against the generated and the reference-style
    server; the baseline is the same three RPCs as raw stub calls on one reused
    channel against the empty-handler server. A second row runs the generated
    client against the empty-handler server, to separate the client library's
    share from the server's. The client asks for INITIALIZE_SERVER_SESSION (a
    measurement that opens the session for itself), so it always closes it:
    with AUTO it would skip the Close on the empty handler's reply.
    """
    m = modules()
    baseline = targets[KIND_BASELINE]
    raw = Client(baseline.address)

    def through_client(target: Target) -> None:
        path = work / f"plugin-{target.kind}.ndjson"
        behavior = m.behavior.INITIALIZE_SERVER_SESSION
        with m.client.JsonLoggerClient(str(path), behavior, address=target.address) as session:
            session.log_data("leakage", CONFIGURATIONS, OUTPUTS)

    def through_stubs() -> None:
        name = raw.initialize(work / "plugin-raw.ndjson")
        raw.log(raw.log_request(name))
        raw.close_session(name)

    actions: dict[str, Callable[[], None]] = {
        "client->generated": functools.partial(through_client, targets[KIND_GENERATED]),
        "client->reference": functools.partial(through_client, targets[KIND_REFERENCE]),
        "client->baseline": functools.partial(through_client, baseline),
        "stubs->baseline": through_stubs,
    }
    for action in actions.values():  # warm the channels and the shared connections
        action()
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _, name in _alternating(list(actions), plan.latency_rounds):
        samples[name] += timed_ms(actions[name], plan.latency_batch)
    raw.close()
    p50 = {name: _median(values) for name, values in samples.items()}
    table.add(
        "plugin_measurement",
        "Plug-in: initialize + 1 record + close, generated client, p50",
        "ms",
        {
            KIND_GENERATED: p50["client->generated"],
            KIND_BASELINE: p50["stubs->baseline"],
            KIND_REFERENCE: p50["client->reference"],
        },
    )
    table.add(
        "plugin_client_share",
        "  same, generated client against the empty-handler server",
        "ms",
        {KIND_GENERATED: p50["client->baseline"], KIND_BASELINE: p50["stubs->baseline"]},
    )


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


def _delta(after: float | None, before: float | None) -> float | None:
    return after - before if after is not None and before is not None else None


def _per_1000(high: float | None, low: float | None, sessions: int) -> float | None:
    delta = _delta(high, low)
    return delta * 1000 / sessions if delta is not None else None


def _judge(
    row: Row, value: float | None, *, minimum: float = float("-inf"), maximum: float = float("inf")
) -> None:
    row.met = None if value is None else minimum <= value <= maximum


def set_targets(table: Table) -> None:
    """Attach the issue's throughput targets to their rows and judge them."""
    for key, minimum in (
        ("tput_8", 0.8),
        ("tput_32", 0.8),
        ("tput_shared_8", 0.6),
        ("tput_shared_32", 0.6),
    ):
        row = table.get(key)
        row.target = f">= {minimum}x"
        _judge(row, row.ratio, minimum=minimum)


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Where the run happened."""
    memory = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        meminfo = Path("/proc/meminfo").read_text(encoding="ascii").splitlines()
        memory = round(int(meminfo[0].split()[1]) / 1024 / 1024, 1)
    load = None
    with contextlib.suppress(OSError, AttributeError):
        load = [round(value, 2) for value in os.getloadavg()]
    grpc_version = modules().grpc.__version__
    return {
        "cpus": os.cpu_count(),
        "memory_gib": memory,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "grpcio": str(grpc_version),
        "load_average_at_start": load,
    }


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "records/s":
        return f"{value:,.0f}"
    if unit in ("fds",):
        return f"{value:+.0f}"
    if unit == "x":
        return f"{value:.2f}x"
    if unit in ("MiB", "cores"):
        return f"{value:.2f}"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def render_table(table: Table, previous: dict[str, Any] | None) -> str:
    """The table as fixed-width text."""
    old = {row["key"]: row for row in previous["rows"]} if previous else {}
    header = ["metric", "unit", "generated", "baseline", "gen/base", "NI-style", "target", "met"]
    if previous:
        header.append("gen vs old")
    lines = []
    for row in table.rows:
        met = {True: "yes", False: "NO", None: ""}[row.met]
        cells = [
            row.label,
            row.unit,
            _format(row.values.get(KIND_GENERATED), row.unit),
            _format(row.values.get(KIND_BASELINE), row.unit),
            f"{row.ratio:.2f}x" if row.ratio is not None else "",
            _format(row.values.get(KIND_REFERENCE), row.unit)
            if KIND_REFERENCE in row.values
            else "",
            row.target,
            met,
        ]
        if previous:
            before = old.get(row.key, {}).get("values", {}).get(KIND_GENERATED)
            now = row.values.get(KIND_GENERATED)
            cells.append(f"{now / before:.2f}x" if now is not None and before else "")
        lines.append(cells)
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines, strict=True)]

    def fmt(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([fmt(header), rule, *(fmt(cells) for cells in lines)])


# ---------------------------------------------------------------------------
# Measure mode
# ---------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> int:
    """Run every measurement against the servers of the render at args.measure."""
    plan = QUICK if args.quick else FULL
    previous = json.loads(args.compare.read_text(encoding="utf-8")) if args.compare else None
    started = time.perf_counter()
    table = Table()
    evidence: dict[str, Any] = {}
    info = machine()
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as scratch:
        work = Path(scratch)
        targets: dict[str, Target] = {}
        try:
            for kind in (KIND_GENERATED, KIND_BASELINE, KIND_REFERENCE):
                targets[kind] = start_target(kind, work)
            steps: list[tuple[str, Callable[[], object]]] = [
                ("throughput", lambda: measure_throughput(table, targets, work, plan)),
                ("init_close", lambda: measure_init_close(table, targets, work, plan)),
                ("scaling", lambda: measure_scaling(table, targets, work, plan)),
                ("cycles", lambda: measure_cycles(table, targets, work, plan)),
                ("large_log", lambda: measure_large_log(table, targets, work, plan)),
                ("plugin", lambda: measure_plugin(table, targets, work, plan)),
            ]
            for name, step in steps:
                begin = time.perf_counter()
                print(f"bench: {name}...", file=sys.stderr, flush=True)
                result = step()
                if result is not None:
                    evidence[name] = result
                evidence.setdefault("step_seconds", {})[name] = round(
                    time.perf_counter() - begin, 1
                )
        finally:
            for target in targets.values():
                stop_target(target)
    set_targets(table)
    elapsed = time.perf_counter() - started
    text = render_table(table, previous)
    print(text)
    cpu = evidence.get("throughput", {})
    busy = ", ".join(
        f"{key} {_format(v[KIND_GENERATED], 'cores')} / {_format(v[KIND_BASELINE], 'cores')}"
        for key, v in cpu.items()
    )
    print(f"\nserver CPU in cores (generated / baseline) while logging: {busy}")
    print(
        f"{info['cpus']} CPUs, {info['memory_gib']} GiB, Python {info['python']}, "
        f"grpcio {info['grpcio']}, load average at start {info['load_average_at_start']}; "
        f"{'quick' if args.quick else 'full'} run, {elapsed:.0f} s"
    )
    missed = [row.key for row in table.rows if row.met is False]
    if missed:
        print(f"targets missed: {', '.join(missed)}")
    if args.json:
        document = {
            "command": "python3 scripts/bench.py" + (" --quick" if args.quick else ""),
            "quick": args.quick,
            "plan": asdict(plan),
            "machine": info,
            "seconds": round(elapsed, 1),
            "rows": [asdict(row) for row in table.rows],
            "evidence": evidence,
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line; internal modes (--measure, --serve) are hidden."""
    parser = argparse.ArgumentParser(
        prog="python3 scripts/bench.py",
        description="Benchmark the rendered JSON logger service; print a table, optionally JSON.",
    )
    parser.add_argument("--quick", action="store_true", help="fewer samples (under a minute)")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--compare", type=Path, help="a previous --json file to compare with")
    parser.add_argument(
        "--project",
        type=Path,
        help="measure this rendered JSON logger project instead of a fresh render",
    )
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--serve", choices=[KIND_BASELINE, KIND_REFERENCE], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for option in ("json", "compare"):
        value = getattr(args, option)
        if value is not None:
            setattr(args, option, value.resolve())
    return args


def main(argv: list[str]) -> int:
    """Dispatch to the outer part, the measurement, or a server."""
    args = parse_args(argv)
    if args.serve:
        return serve(args.serve)
    if args.measure:
        return measure(args)
    forwarded = ["--quick"] if args.quick else []
    for option in ("json", "compare"):
        value = getattr(args, option)
        if value is not None:
            forwarded += [f"--{option}", str(value)]
    return render_and_measure(args, forwarded)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
