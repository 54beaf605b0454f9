"""A throughput row: clients log as fast as they can, the servers alternating in rounds."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from _bench.figures import alternating, median, medians
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
from _bench.table import Table

Targets = dict[str, Target]


@dataclass(frozen=True)
class Load:
    """What a throughput row's clients do: log to these resources, from these processes."""

    resources: Callable[[str], list[str]]  # one per client, given the server's kind
    shared: bool  # every client attaches to the session of the first resource
    processes: int  # client processes the clients are spread over
    make_client: Callable[[str], LogClient]  # a client of a server's address


def _rounds(
    targets: Targets, load: Load, plan: Plan
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Each target's records/s and CPU (cores) in every round, the targets alternating.

    `targets` maps a kind to its server; the kind names its clients' resources.
    """
    rates: dict[str, list[float]] = {kind: [] for kind in targets}
    busy: dict[str, list[float]] = {kind: [] for kind in targets}
    for _, kind in alternating(list(targets), plan.rounds):
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

    The ratio is the median of each round's generated/baseline ratio: the two
    runs of a round are adjacent in time, so they share the machine's conditions.
    The CPU is each server's median use while logging, in cores (None without /proc).
    """
    rates, busy = _rounds({kind: targets[kind] for kind in COMPARED}, load, plan)
    row = table.add(key, label, "records/s", medians(rates))
    ratios = _per_round(rates[KIND_GENERATED], rates[KIND_BASELINE])
    row.ratio = median(ratios)
    row.rounds = (min(ratios), max(ratios))
    return _cpu(busy)


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


# A row with a target, as its floor row measures it: key, label, load, least gen/floor wanted.
Targeted = tuple[str, str, Load, float]
FLOOR_TARGET = 0.9  # every throughput row: the generated server at 90% of its floor at least


def floor_rows(
    table: Table,
    servers: Targets,
    rows: Iterable[Targeted],
    plan: Plan,
    suffix: str = "_floor",
    *,
    judge: bool = True,
) -> dict[str, dict[str, float | None]]:
    """Add a floor row per row in `rows`, the floor server alternating with the baseline.

    A floor server (`servers[KIND_FLOOR]`) is the baseline plus only the work no
    server of the row can leave out (see `servicers`); its row shows it as
    generated. With `judge`, the generated server (`servers[KIND_GENERATED]`) takes
    the same rounds as a third subject, and the row's gen/floor is the median of
    each round's generated/floor ratio: runs adjacent in time, so a drift of the
    machine between the row and its floor row cannot decide its target. Without
    `judge`, the rows are measured only (another floor's figures). Stops the floor
    server; returns the CPU per floor row (the floor's as generated).
    """
    floor = servers[KIND_FLOOR]
    subjects = {KIND_FLOOR: floor, KIND_BASELINE: servers[KIND_BASELINE]}
    if judge:
        subjects[KIND_GENERATED] = servers[KIND_GENERATED]
    cpu: dict[str, dict[str, float | None]] = {}
    try:
        for key, label, load, minimum in rows:
            rates, busy = _rounds(subjects, load, plan)
            floor_key = f"{key}{suffix}"
            shown = {KIND_GENERATED: rates[KIND_FLOOR], KIND_BASELINE: rates[KIND_BASELINE]}
            floor_row = table.add(floor_key, label, "records/s", medians(shown))
            ratios = _per_round(rates[KIND_FLOOR], rates[KIND_BASELINE])
            floor_row.ratio = median(ratios)
            floor_row.rounds = (min(ratios), max(ratios))
            used = _cpu(busy)
            cpu[floor_key] = {KIND_GENERATED: used[KIND_FLOOR], KIND_BASELINE: used[KIND_BASELINE]}
            if not judge:
                continue
            row = table.get(key)
            over_floor = _per_round(rates[KIND_GENERATED], rates[KIND_FLOOR])
            row.floor_ratio = median(over_floor)
            row.floor_rounds = (min(over_floor), max(over_floor))
            row.target = f">= {minimum}x floor"
            row.judge(row.floor_ratio, minimum=minimum)
    finally:
        stop_target(floor)
    return cpu
