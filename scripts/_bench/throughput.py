"""A throughput row: clients log as fast as they can, the servers alternating in rounds."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from _bench.figures import alternating, median
from _bench.load import LogClient, log_records
from _bench.plan import Plan
from _bench.proc import CpuSampler
from _bench.servers import (
    COMPARED,
    KIND_BASELINE,
    KIND_FLOOR,
    KIND_GENERATED,
    Target,
    stop_target,
)
from _bench.table import Row, Table

Targets = dict[str, Target]


@dataclass(frozen=True)
class Load:
    """What a throughput row's clients do: log to these resources, from these processes."""

    resources: Callable[[str], list[str]]  # one per client, given the server's kind
    shared: bool  # every client attaches to the session of the first resource
    processes: int  # client processes the clients are spread over
    make_client: Callable[[str], LogClient]  # a client of a server's address


def _rounds(
    targets: Targets, load: Load, plan: Plan, rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Each target's records/s and CPU (cores) in every one of `rounds`, the targets alternating.

    `targets` maps a kind to its server; the kind names its clients' resources.
    """
    rates: dict[str, list[float]] = {kind: [] for kind in targets}
    busy: dict[str, list[float]] = {kind: [] for kind in targets}
    for _, kind in alternating(list(targets), rounds):
        target = targets[kind]
        sampler = CpuSampler(target.pid)
        records = log_records(
            target.address,
            load.resources(kind),
            load.shared,
            load.processes,
            plan,
            sampler.window,
            load.make_client,
        )
        rates[kind].append(records / plan.window_s)
        used = sampler.result()
        if used is not None:
            busy[kind].append(used)
    return rates, busy


def _per_round(numerators: list[float], denominators: list[float]) -> list[float]:
    """The ratio of two subjects' figures in each round."""
    return [a / b for a, b in zip(numerators, denominators, strict=True)]


def _cpu(busy: dict[str, list[float]]) -> dict[str, float | None]:
    """Each subject's median CPU use while logging, in cores (None without /proc)."""
    return {kind: (median(values) if values else None) for kind, values in busy.items()}


def throughput_row(
    table: Table,
    key: str,
    label: str,
    targets: Targets,
    load: Load,
    plan: Plan,
) -> dict[str, float | None]:
    """Add a records/s row, the generated and baseline servers alternating; return their CPU.

    For a row without a floor (the A/A rows, PostgreSQL's): `judged_rows` measures
    those with one. The CPU is each server's median use while logging, in cores
    (None without /proc).
    """
    rates, busy = _rounds({kind: targets[kind] for kind in COMPARED}, load, plan, plan.rounds)
    _add_row(table, key, label, rates[KIND_GENERATED], rates[KIND_BASELINE])
    return _cpu(busy)


def _add_row(
    table: Table, key: str, label: str, generated: list[float], baseline: list[float]
) -> Row:
    """Add a records/s row from two subjects' rates in the same rounds.

    Its ratio is the median of each round's generated/baseline ratio: the two
    runs of a round are adjacent in time, so they share the machine's conditions.
    """
    row = table.add(
        key,
        label,
        "records/s",
        {KIND_GENERATED: median(generated), KIND_BASELINE: median(baseline)},
    )
    ratios = _per_round(generated, baseline)
    row.ratio = median(ratios)
    row.rounds = (min(ratios), max(ratios))
    return row


def noise_row(
    table: Table, key: str, label: str, baselines: tuple[Target, Target], load: Load, plan: Plan
) -> None:
    """Add an A/A row: `load` on two identical baseline servers, the second in place of generated.

    Its ratio would be 1.00x on a quiet, fair machine; how far it lands from that is
    how far any ratio of this run can move for reasons that are not the server's.
    The second baseline is stopped afterwards.
    """
    first, second = baselines
    try:
        pair = {KIND_GENERATED: second, KIND_BASELINE: first}
        throughput_row(
            table, key, f"A/A: {label}, a second baseline as generated", pair, load, plan
        )
    finally:
        stop_target(second)


# A row with a target: key, label, its floor row's label, load, least gen/floor wanted.
Judged = tuple[str, str, str, Load, float]
FLOOR_TARGET = 0.9  # every throughput row: the generated server at 90% of its floor at least


def judged_rows(
    table: Table, servers: Targets, rows: Iterable[Judged], plan: Plan
) -> dict[str, dict[str, float | None]]:
    """Add each row and its floor row, measured in the same rounds; judge gen/floor.

    The generated server, the baseline and the floor server (`servers[KIND_FLOOR]`:
    the baseline plus only the work no server of the row can leave out, see
    `servicers`) alternate in `plan.judged_rounds` rounds. A row's gen/base and
    gen/floor are the medians of each round's ratios: runs adjacent in time, so a
    drift of the machine cannot decide a target, and each ratio has every round
    the row's time buys. The floor rows (the floor shown as generated) follow all
    the rows. Stops the floor server; returns the CPU per row and floor row.
    """
    cpu: dict[str, dict[str, float | None]] = {}
    floors: list[tuple[str, str, list[float], list[float]]] = []
    subjects = {kind: servers[kind] for kind in (KIND_FLOOR, KIND_BASELINE, KIND_GENERATED)}
    try:
        for key, label, floor_label, load, minimum in rows:
            rates, busy = _rounds(subjects, load, plan, plan.judged_rounds)
            row = _add_row(table, key, label, rates[KIND_GENERATED], rates[KIND_BASELINE])
            over_floor = _per_round(rates[KIND_GENERATED], rates[KIND_FLOOR])
            row.floor_ratio = median(over_floor)
            row.floor_rounds = (min(over_floor), max(over_floor))
            row.target = f">= {minimum}x floor"
            row.judge(row.floor_ratio, minimum=minimum)
            floor_key = f"{key}_floor"
            floors.append((floor_key, floor_label, rates[KIND_FLOOR], rates[KIND_BASELINE]))
            used = _cpu(busy)
            cpu[key] = {kind: used[kind] for kind in COMPARED}
            cpu[floor_key] = {KIND_GENERATED: used[KIND_FLOOR], KIND_BASELINE: used[KIND_BASELINE]}
    finally:
        stop_target(servers[KIND_FLOOR])
    for floor_key, floor_label, floor, baseline in floors:
        _add_row(table, floor_key, floor_label, floor, baseline)
    return cpu


def floor_rows(
    table: Table, servers: Targets, rows: Iterable[tuple[str, str, Load]], plan: Plan
) -> dict[str, dict[str, float | None]]:
    """Add a row per (key, label, load): a floor (shown as generated) against the baseline.

    For floors measured, not judged (orjson's). Stops the floor server; returns
    the CPU per row.
    """
    cpu: dict[str, dict[str, float | None]] = {}
    subjects = {KIND_FLOOR: servers[KIND_FLOOR], KIND_BASELINE: servers[KIND_BASELINE]}
    try:
        for key, label, load in rows:
            rates, busy = _rounds(subjects, load, plan, plan.rounds)
            _add_row(table, key, label, rates[KIND_FLOOR], rates[KIND_BASELINE])
            used = _cpu(busy)
            cpu[key] = {KIND_GENERATED: used[KIND_FLOOR], KIND_BASELINE: used[KIND_BASELINE]}
    finally:
        stop_target(servers[KIND_FLOOR])
    return cpu
