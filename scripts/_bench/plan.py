"""How much one run measures: the full run's settings and `--quick`'s."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """How much of everything a run measures; `--quick` scales it down.

    Every comparison alternates its subjects in rounds (the order reversed every
    other round), so a change in the machine's load hits all of them alike.
    """

    rounds: int  # throughput rounds per subject; figures are medians over them
    # Rounds of a row with a target, whose three subjects (generated, baseline, floor)
    # share them: the time of `rounds` rounds of two subjects and of three, together.
    judged_rounds: int
    window_s: float  # measured seconds of one throughput round (after the warm-up)
    warmup_s: float
    latency_rounds: int  # rounds of the latency rows
    latency_batch: int  # calls per subject and latency round
    session_levels: tuple[int, ...]  # open sessions under the scaling rows
    cycles: int  # open/close cycles of the leak rows
    log_records: int  # records in the large log
    huge_log_records: int  # records in the log of the opening rows' second size


FULL = Plan(7, 12, 1.2, 0.3, 20, 25, (10, 1_000, 10_000), 10_000, 20_000, 2_000_000)
# --quick checks that every row measures, not how well: shorter windows and fewer
# cycles, and a 50,000-record log where the full run writes 2,000,000 (480 MB).
QUICK = Plan(1, 1, 0.25, 0.1, 2, 10, (10, 1_000, 10_000), 1_000, 20_000, 50_000)
