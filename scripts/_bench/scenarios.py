"""Which rows a run measures, and how: each `measure_*` step adds its rows to the table.

Every comparison alternates its subjects in rounds (see `_alternating`) and
reports medians, so a change in the machine's load hits every subject alike.
"""

from __future__ import annotations

import functools
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from _bench.load import (
    POOL_SIZE,
    Client,
    Countdown,
    close_sessions,
    cycle,
    init_close_latencies,
    log_records,
    open_sessions,
    run_threads,
    timed_ms,
)
from _bench.plan import Plan
from _bench.proc import CpuSampler, rss_mib, settled_fds
from _bench.project import (
    CONFIGURATIONS,
    INITIALIZE_NEW,
    MEASUREMENT,
    OUTPUTS,
    modules,
    record_line,
)
from _bench.servers import (
    KIND_BASELINE,
    KIND_GENERATED,
    KIND_REFERENCE,
    Target,
    start_target,
    stop_target,
)
from _bench.table import Table

T = TypeVar("T")


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
            rate, used = _throughput(targets[kind], work, clients, shared, processes, plan)
            rates[kind].append(rate)
            if used is not None:
                busy[kind].append(used)
        row = table.add(key, label, "records/s", {k: _median(v) for k, v in rates.items()})
        pairs = zip(rates[KIND_GENERATED], rates[KIND_BASELINE], strict=True)
        row.ratio = _median([generated / baseline for generated, baseline in pairs])
        cpu[key] = {k: (_median(v) if v else None) for k, v in busy.items()}
    return cpu


def _throughput(
    target: Target, workdir: Path, clients: int, shared: bool, processes: int, plan: Plan
) -> tuple[float, float | None]:
    """Records per second with `clients` concurrent loggers; also the server's CPU (cores)."""
    paths = [str(workdir / f"tput-{target.kind}-{i}.ndjson") for i in range(clients)]
    sampler = CpuSampler(target.pid)
    records = log_records(target.address, paths, shared, processes, plan, sampler.window)
    return records / plan.window_s, sampler.result()


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
            opened[kind, level] = open_sessions(server.pool(), paths[:low])
            if level == high:
                rss_low[kind] = rss_mib(server.pid)
            opened[kind, level] += open_sessions(server.pool(), paths[low:])
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
            close_sessions(servers[key].pool(), names)
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
    growth.judge(growth.values[KIND_GENERATED], maximum=1.2)
    per_1000 = {kind: _per_1000(rss_high[kind], rss_low[kind], high - low) for kind in kinds}
    memory = table.add("rss_per_1000", "Resident memory per 1,000 open sessions", "MiB", per_1000)
    memory.ratio = None
    descriptors = table.add(
        "fds_after_close", f"Descriptors after closing {high:,} sessions (vs start)", "fds", after
    )
    descriptors.ratio, descriptors.target = None, "0"
    descriptors.judge(descriptors.values[KIND_GENERATED], maximum=0)
    return {
        "rss_mib": {"before": rss_low, "after": rss_high},
        "open_fds": {"start": start_fds, f"with {high}": fds_high},
    }


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
        warmup = Countdown(max(100, plan.cycles // 10))
        stem = work / f"cycle-{kind}"
        run_threads(functools.partial(cycle, pool, stem, warmup), POOL_SIZE)
        before_fd, before_rss = settled_fds(target.pid), rss_mib(target.pid)
        run_threads(functools.partial(cycle, pool, stem, Countdown(plan.cycles)), POOL_SIZE)
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
    row.judge(row.values[KIND_GENERATED], maximum=0)
    row = table.add(
        "cycles_rss_growth",
        f"Memory growth over {plan.cycles:,} open/close cycles",
        "MiB",
        rss_growth,
    )
    row.ratio, row.target = None, "<= 1 MiB"
    row.judge(row.values[KIND_GENERATED], maximum=1.0)
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
    growth.judge(growth.values[KIND_GENERATED], maximum=1.2)

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
            session.log_data(MEASUREMENT, CONFIGURATIONS, OUTPUTS)

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
        row.judge(row.ratio, minimum=minimum)


Step = Callable[[Table, dict[str, Target], Path, Plan], object]
# What a run measures, in order; a step's result, if any, is evidence for the JSON.
STEPS: tuple[tuple[str, Step], ...] = (
    ("throughput", measure_throughput),
    ("init_close", measure_init_close),
    ("scaling", measure_scaling),
    ("cycles", measure_cycles),
    ("large_log", measure_large_log),
    ("plugin", measure_plugin),
)


def measure_all(plan: Plan) -> tuple[Table, dict[str, Any]]:
    """Start the servers, take every step against them, stop them; return the rows and evidence."""
    table = Table()
    evidence: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as scratch:
        work = Path(scratch)
        targets: dict[str, Target] = {}
        try:
            for kind in (KIND_GENERATED, KIND_BASELINE, KIND_REFERENCE):
                targets[kind] = start_target(kind, work)
            for name, step in STEPS:
                begin = time.perf_counter()
                print(f"bench: {name}...", file=sys.stderr, flush=True)
                result = step(table, targets, work, plan)
                if result is not None:
                    evidence[name] = result
                evidence.setdefault("step_seconds", {})[name] = round(
                    time.perf_counter() - begin, 1
                )
        finally:
            for target in targets.values():
                stop_target(target)
    set_targets(table)
    return table, evidence
