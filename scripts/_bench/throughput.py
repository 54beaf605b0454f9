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
    rates: dict[str, list[float]] = {kind: [] for kind in COMPARED}
    busy: dict[str, list[float]] = {kind: [] for kind in COMPARED}
    for _, kind in alternating(COMPARED, plan.rounds):
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
    row = table.add(key, label, "records/s", medians(rates))
    pairs = zip(rates[KIND_GENERATED], rates[KIND_BASELINE], strict=True)
    ratios = [generated / baseline for generated, baseline in pairs]
    row.ratio = median(ratios)
    row.rounds = (min(ratios), max(ratios))
    return {k: (median(v) if v else None) for k, v in busy.items()}


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
    servers: tuple[Target, Target],
    rows: Iterable[Targeted],
    plan: Plan,
    suffix: str = "_floor",
    *,
    judge: bool = True,
) -> dict[str, dict[str, float | None]]:
    """Add a floor row per row in `rows`: its load on (baseline, floor), the floor as generated.

    A floor server is the baseline plus only the work no server of the row can
    leave out (see `servicers`). The row's target is on generated / floor, the
    ratio of the two rows' ratios to the baseline: each is a median of rounds in
    which its server alternated with the same baseline, so the baseline cancels.
    Without `judge`, the rows are measured only (another floor's figures).
    Stops the floor server; returns the CPU per row.
    """
    baseline, floor = servers
    pair = {KIND_GENERATED: floor, KIND_BASELINE: baseline}
    cpu: dict[str, dict[str, float | None]] = {}
    try:
        for key, label, load, minimum in rows:
            floor_key = f"{key}{suffix}"
            cpu[floor_key] = throughput_row(table, floor_key, label, pair, load, plan)
            row, ratio = table.get(key), table.get(floor_key).ratio
            if not judge:
                continue
            if row.ratio is not None and ratio:
                row.floor_ratio = row.ratio / ratio
            row.target = f">= {minimum}x floor"
            row.judge(row.floor_ratio, minimum=minimum)
    finally:
        stop_target(floor)
    return cpu


def as_floor(resources: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    """`resources` with the floor's own in the generated column, where the floor stands."""
    return lambda kind: resources(KIND_FLOOR if kind == KIND_GENERATED else kind)
