"""Which rows a run measures, and how: each step adds its rows to the table.

Every comparison alternates its subjects in rounds and reports medians (see
`figures`), so a change in the machine's load hits every subject alike.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from _bench.database import measure_database
from _bench.figures import (
    alternating,
    collect,
    delta,
    medians,
    per_1000,
    percentile,
    ratio,
)
from _bench.load import (
    Client,
    close_all,
    close_sessions,
    init_close_latencies,
    open_close_cycles,
    open_sessions,
    timed_ms,
    timed_open,
)
from _bench.plan import Plan
from _bench.proc import rss_mib, settled_fds
from _bench.project import (
    CONFIGURATIONS,
    INITIALIZE_NEW,
    MEASUREMENT,
    OUTPUTS,
    modules,
    record_line,
)
from _bench.servers import (
    ALL_KINDS,
    COMPARED,
    KIND_BASELINE,
    KIND_FLOOR,
    KIND_FLOOR_ORJSON,
    KIND_GENERATED,
    KIND_REFERENCE,
    Target,
    start_target,
    stop_target,
)
from _bench.table import Table
from _bench.throughput import (
    FLOOR_TARGET,
    Load,
    Targets,
    floor_rows,
    judged_rows,
    noise_row,
)
from _bench.visa import measure_visa

T = TypeVar("T")

# key, label, clients, one shared session, client processes
THROUGHPUT = (
    ("tput_1", "LogMeasurementData, 1 client", 1, False, 1),
    ("tput_8", "LogMeasurementData, 8 clients, own sessions", 8, False, 1),
    ("tput_32", "LogMeasurementData, 32 clients, own sessions", 32, False, 1),
    ("tput_shared_8", "LogMeasurementData, 8 clients, one shared session", 8, True, 1),
    ("tput_shared_32", "LogMeasurementData, 32 clients, one shared session", 32, True, 1),
    ("tput_8_procs", "  same as 8 clients, from 2 client processes", 8, False, 2),
)
# The rows the floor server also runs with orjson, as generated with orjson would.
ORJSON_ROWS = ("tput_8", "tput_32")
NOISE_ROW = 1  # the row that is also measured A/A, baseline against a second baseline


def measure_throughput(table: Table, targets: Targets, work: Path, plan: Plan) -> dict[str, Any]:
    """Throughput rows; returns the servers' CPU use per row as evidence of saturation.

    Each row is measured with its floor (the baseline plus checking the path and
    building and writing each record, see `servicers._json_logger_floor`) as a
    third subject; then the A/A row, and the orjson floor's rows, which show how
    far a faster encoder would lower the floor.
    """
    loads = {
        key: Load(functools.partial(_log_paths, work, clients), shared, processes, Client)
        for key, _, clients, shared, processes in THROUGHPUT
    }
    labels = {key: label for key, label, *_ in THROUGHPUT}
    judged = (
        (key, label, f"Floor: {label}, record as generated", loads[key], FLOOR_TARGET)
        for key, label in labels.items()
    )
    floor = start_target(KIND_FLOOR, work)
    cpu: dict[str, Any] = judged_rows(table, {**targets, KIND_FLOOR: floor}, judged, plan)
    key = THROUGHPUT[NOISE_ROW][0]
    second = start_target(KIND_BASELINE, work)
    noise_row(table, f"{key}_aa", labels[key], (targets[KIND_BASELINE], second), loads[key], plan)
    if importlib.util.find_spec("orjson") is None:
        return cpu
    orjson_rows = (
        (f"{key}_floor_orjson", f"Floor: {labels[key]}, record built with orjson", loads[key])
        for key in ORJSON_ROWS
    )
    # The orjson floor takes the floor's place (and its resources' names).
    servers = {
        KIND_BASELINE: targets[KIND_BASELINE],
        KIND_FLOOR: start_target(KIND_FLOOR_ORJSON, work),
    }
    return cpu | floor_rows(table, servers, orjson_rows, plan)


def _log_paths(work: Path, clients: int, kind: str) -> list[str]:
    """The logs of a throughput row's clients on the server of `kind`: one per client."""
    return [str(work / f"tput-{kind}-{i}.ndjson") for i in range(clients)]


INIT_CLOSE_TARGET = 1.2  # the p50 of a plug-in's Initialize+Close, at most this x the floor's


def measure_init_close(table: Table, targets: Targets, work: Path, plan: Plan) -> None:
    """Initialize+Close latency with 1 and 8 clients at once, each client on its own file.

    The floor server (which opens and closes the file and does nothing else) is
    a third subject of the same rounds.
    """
    floor = start_target(KIND_FLOOR, work)
    servers = {**{kind: targets[kind] for kind in COMPARED}, KIND_FLOOR: floor}
    try:
        for count in (1, 8):
            samples = _init_close_samples(
                {kind: server.address for kind, server in servers.items()},
                {kind: work / f"pair-{kind}-{count}.ndjson" for kind in servers},
                clients=count,
                rounds=plan.latency_rounds,
                per_client=max(3, plan.latency_batch // count * 2),
            )
            for fraction, name in ((0.5, "p50"), (0.99, "p99")):
                row = table.add(
                    f"init_close_{count}_{name}",
                    f"Initialize+Close {name}, {count} client{'s' if count > 1 else ''}",
                    "ms",
                    {k: percentile(v, fraction) for k, v in samples.items()},
                )
                if name == "p50":
                    row.target = f"<= {INIT_CLOSE_TARGET}x floor"
                    row.judge(row.floor_ratio, maximum=INIT_CLOSE_TARGET)
    finally:
        stop_target(floor)


def _init_close_samples(
    addresses: dict[T, str], paths: dict[T, Path], *, clients: int, rounds: int, per_client: int
) -> dict[T, list[float]]:
    """Initialize+Close latencies per subject, from `clients` clients of its own at once.

    An untimed pair per client first creates the files and warms the connections.
    """
    groups = {key: [Client(address) for _ in range(clients)] for key, address in addresses.items()}
    for key, group in groups.items():
        init_close_latencies(group, paths[key], 1)
    samples = collect(
        list(groups), rounds, lambda key: init_close_latencies(groups[key], paths[key], per_client)
    )
    close_all(client for group in groups.values() for client in group)
    return samples


def measure_scaling(table: Table, targets: Targets, work: Path, plan: Plan) -> dict[str, Any]:
    """Initialize+Close with many sessions open, memory per session, descriptors after.

    Each level has a fresh server of its own, holding that many sessions, and
    the probes alternate among them in small batches: the levels are compared
    under the same machine conditions and the same server history. The memory
    and descriptors are read on the servers of the highest level.
    """
    levels = plan.session_levels
    low, high = levels[0], levels[-1]
    fresh: list[Target] = []
    try:
        servers: dict[tuple[str, int], Target] = {}
        for kind in COMPARED:
            for level in levels:
                fresh.append(start_target(kind, work))
                servers[kind, level] = fresh[-1]
                fresh[-1].pool()  # connect the pool before the first count
        top = {kind: servers[kind, high] for kind in COMPARED}
        start_fds = {kind: settled_fds(top[kind].pid) for kind in COMPARED}
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
        rss_high = {kind: rss_mib(top[kind].pid) for kind in COMPARED}
        fds_high = {kind: settled_fds(top[kind].pid) for kind in COMPARED}
        samples = _init_close_samples(
            {key: server.address for key, server in servers.items()},
            {key: work / f"probe-{key[0]}-{key[1]}.ndjson" for key in servers},
            clients=1,
            rounds=plan.latency_rounds,
            per_client=plan.latency_batch,
        )
        for key, names in opened.items():
            close_sessions(servers[key].pool(), names)
        after = {kind: delta(settled_fds(top[kind].pid), start_fds[kind]) for kind in COMPARED}
    finally:
        for server in fresh:
            stop_target(server)
    p50 = medians(samples)
    for level in levels:
        table.add(
            f"init_close_at_{level}",
            f"Initialize+Close p50, {level:,} sessions open",
            "ms",
            {kind: p50[kind, level] for kind in COMPARED},
        )
    table.add_limited(
        "init_close_growth",
        f"  growth {low:,} -> {high:,} sessions (p50 ratio)",
        "x",
        {kind: ratio(p50[kind, high], p50[kind, low]) for kind in COMPARED},
        target="<= 1.2",
        maximum=1.2,
    )
    table.add(
        "rss_per_1000",
        "Resident memory per 1,000 open sessions",
        "MiB",
        {kind: per_1000(rss_high[kind], rss_low[kind], high - low) for kind in COMPARED},
        ratio=False,
    )
    table.add_limited(
        "fds_after_close",
        f"Descriptors after closing {high:,} sessions (vs start)",
        "fds",
        after,
        target="0",
        maximum=0,
    )
    return {
        "rss_mib": {"before": rss_low, "after": rss_high},
        "open_fds": {"start": start_fds, f"with {high}": fds_high},
    }


def measure_cycles(table: Table, targets: Targets, work: Path, plan: Plan) -> dict[str, Any]:
    """Descriptor and memory growth over many open/close cycles, after a warm-up tenth."""
    fd_growth: dict[str, float | None] = {}
    rss_growth: dict[str, float | None] = {}
    evidence: dict[str, Any] = {}
    for kind in COMPARED:
        target = targets[kind]
        stem = work / f"cycle-{kind}"
        open_close_cycles(target.pool(), stem, max(100, plan.cycles // 10))
        before_fd, before_rss = settled_fds(target.pid), rss_mib(target.pid)
        open_close_cycles(target.pool(), stem, plan.cycles)
        after_fd, after_rss = settled_fds(target.pid), rss_mib(target.pid)
        fd_growth[kind] = delta(after_fd, before_fd)
        rss_growth[kind] = delta(after_rss, before_rss)
        evidence[kind] = {"fds": [before_fd, after_fd], "rss_mib": [before_rss, after_rss]}
    cycles = f"{plan.cycles:,} open/close cycles"
    table.add_limited(
        "cycles_fd_growth",
        f"Descriptor growth over {cycles}",
        "fds",
        fd_growth,
        target="0",
        maximum=0,
    )
    table.add_limited(
        "cycles_rss_growth",
        f"Memory growth over {cycles}",
        "MiB",
        rss_growth,
        target="<= 1 MiB",
        maximum=1.0,
    )
    return evidence


def measure_large_log(table: Table, targets: Targets, work: Path, plan: Plan) -> None:
    """Attach on an empty and on a large log, and new sessions on logs of two sizes."""
    line = record_line()
    sizes = (0, plan.log_records)
    logs = {
        (kind, size): work / f"log-{kind}-{size}.ndjson" for kind in ALL_KINDS for size in sizes
    }
    for (_, size), path in logs.items():
        path.write_bytes(line * size)
    clients = {kind: Client(targets[kind].address) for kind in ALL_KINDS}
    _attach_rows(table, clients, logs, plan)
    _opening_rows(table, clients, work, plan)
    close_all(clients.values())


def _attach_rows(
    table: Table, clients: dict[str, Client], logs: dict[tuple[str, int], Path], plan: Plan
) -> None:
    """Attach to an open session on each log, per (server kind, records in the log).

    The subjects alternate in rounds; a server that parses the whole log gets one
    call per round on the large log.
    """
    names = {key: clients[key[0]].initialize(path, INITIALIZE_NEW) for key, path in logs.items()}

    def attach(key: tuple[str, int]) -> list[float]:
        slow = key[0] == KIND_REFERENCE and key[1] > 0
        call = functools.partial(clients[key[0]].initialize, logs[key])
        return timed_ms(call, 1 if slow else plan.latency_batch)

    samples = collect(list(logs), plan.latency_rounds, attach)
    for key, name in names.items():
        clients[key[0]].close_session(name)
    p50 = medians(samples)
    for size in (0, plan.log_records):
        table.add(
            f"attach_{size}",
            f"Attach (UNSPECIFIED, open session), {size:,}-record log, p50",
            "ms",
            {kind: p50[kind, size] for kind in ALL_KINDS},
        )
    table.add_limited(
        "attach_growth",
        f"  growth 0 -> {plan.log_records:,} records (p50 ratio)",
        "x",
        {k: ratio(p50[k, plan.log_records], p50[k, 0]) for k in ALL_KINDS},
        target="<= 1.2",
        maximum=1.2,
    )


OPEN_TARGET_MS = 5.0  # a new session on an existing log, p50, whatever the log's size
OPEN_GROWTH_TARGET = 1.2  # p50 on the largest log / p50 on the smaller one


def _opening_rows(table: Table, clients: dict[str, Client], work: Path, plan: Plan) -> None:
    """Open a log as a new user does, on a log of each size, per server kind.

    The first time a session opens it, again once that session has closed it
    unchanged, and after another process appended a record. Each log is written
    once and renamed for each round, so every "first" is a path the server never
    saw (the generated server remembers nothing of a file it closed). The NI-style
    server parses the whole log on every open: it runs on the smaller log only.
    """
    cases = ("first", "again", "appended")
    sizes = (plan.log_records, plan.huge_log_records)
    p50: dict[tuple[str, int], dict[str, float]] = {}
    for size in sizes:
        kinds = ALL_KINDS if size == sizes[0] else COMPARED
        samples: dict[str, dict[str, list[float]]] = {c: {k: [] for k in kinds} for c in cases}
        log = work / f"open-{size}.ndjson"
        _write_records(log, size)
        try:
            for round_number, kind in alternating(kinds, plan.latency_rounds):
                fresh = log.rename(work / f"open-{size}-{kind}-{round_number}.ndjson")
                samples["first"][kind].append(timed_open(clients[kind], fresh))
                samples["again"][kind].append(timed_open(clients[kind], fresh))
                with fresh.open("ab") as handle:
                    handle.write(record_line())
                samples["appended"][kind].append(timed_open(clients[kind], fresh))
                fresh.rename(log)
        finally:
            log.unlink(missing_ok=True)
        for case in cases:
            p50[case, size] = medians(samples[case])
    small, large = sizes
    for case, label in (
        ("first", "Open a {:,}-record log no session has opened before, p50"),
        ("again", "  {:,} records, again after a session closed it unchanged, p50"),
        ("appended", "  {:,} records, again after another process appended a record, p50"),
    ):
        for size in sizes:
            row = table.add(f"open_{size}_{case}", label.format(size), "ms", p50[case, size])
            row.target = f"<= {OPEN_TARGET_MS:g} ms"
            row.judge(row.values.get(KIND_GENERATED), maximum=OPEN_TARGET_MS)
        table.add_limited(
            f"open_growth_{case}",
            f"  growth {small:,} -> {large:,} records ({case}, p50 ratio)",
            "x",
            {k: ratio(p50[case, large][k], p50[case, small][k]) for k in COMPARED},
            target=f"<= {OPEN_GROWTH_TARGET}",
            maximum=OPEN_GROWTH_TARGET,
        )


def _write_records(path: Path, count: int) -> None:
    """Write a log of `count` identical records, a block at a time."""
    line, block = record_line(), 10_000
    with path.open("wb") as handle:
        for start in range(0, count, block):
            handle.write(line * min(block, count - start))


# The generated client's three calls, at most this x the same calls as raw stub calls.
CLIENT_SHARE_TARGET = 1.1


def measure_plugin(table: Table, targets: Targets, work: Path, plan: Plan) -> None:
    """A measurement's client side: initialize, log one record, close.

    Through the generated client (JsonLoggerClient with the address given, so
    the location is known once; the process's shared connection and channel
    pool reuse one channel) against the generated and the reference-style
    server; the baseline is the same three RPCs as raw stub calls on one reused
    channel against the empty-handler server. A second row runs the generated
    client against the empty-handler server, to separate the client library's
    share from the server's: at most CLIENT_SHARE_TARGET times the raw calls.
    The client asks for INITIALIZE_SERVER_SESSION (a measurement that opens the
    session for itself), so it always closes it: with AUTO it would skip the
    Close on the empty handler's reply.
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
    samples = collect(
        list(actions), plan.latency_rounds, lambda name: timed_ms(actions[name], plan.latency_batch)
    )
    raw.close()
    p50 = medians(samples)
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
    share = table.add(
        "plugin_client_share",
        "  same, generated client against the empty-handler server",
        "ms",
        {KIND_GENERATED: p50["client->baseline"], KIND_BASELINE: p50["stubs->baseline"]},
    )
    share.target = f"<= {CLIENT_SHARE_TARGET}x base"
    share.judge(share.ratio, maximum=CLIENT_SHARE_TARGET)


Step = Callable[[Table, Targets, Path, Plan], object]
# What a run measures, in order; a step's result, if any, is evidence for the JSON.
STEPS: tuple[tuple[str, Step], ...] = (
    ("throughput", measure_throughput),
    ("init_close", measure_init_close),
    ("scaling", measure_scaling),
    ("cycles", measure_cycles),
    ("large_log", measure_large_log),
    ("plugin", measure_plugin),
    ("database", measure_database),
    ("visa", measure_visa),
)


def measure_all(plan: Plan, only: list[str] | None = None) -> tuple[Table, dict[str, Any]]:
    """Start the servers, take the steps against them, stop them; return the rows and evidence.

    `only` names the steps to take (default: all of STEPS).
    """
    table = Table()
    evidence: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as scratch:
        work = Path(scratch)
        targets: Targets = {}
        try:
            for kind in ALL_KINDS:
                targets[kind] = start_target(kind, work)
            for name, step in STEPS:
                if only and name not in only:
                    continue
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
    return table, evidence
