"""The results: a row per figure, with its value per server, ratio and target."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from _bench.servers import KIND_BASELINE, KIND_FLOOR, KIND_GENERATED


@dataclass
class Row:
    """One line of the table; values are per target kind."""

    key: str
    label: str
    unit: str
    values: dict[str, float | None] = field(default_factory=dict)
    ratio: float | None = None  # generated / baseline
    # generated / floor: of what a server doing only the work no server can skip
    # reaches (a throughput row: the median of its rounds, in which the floor server
    # is a third subject), or of its value in this row.
    floor_ratio: float | None = None
    # A throughput row's lowest and highest generated/floor of a single round.
    floor_rounds: tuple[float, float] | None = None
    # A throughput row's lowest and highest ratio of a single round: how far one
    # round can be from the median that `ratio` is.
    rounds: tuple[float, float] | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    def judge(
        self,
        value: float | None,
        *,
        minimum: float = float("-inf"),
        maximum: float = float("inf"),
    ) -> None:
        """Record whether `value` is within the target (unknown when there is no value)."""
        self.met = None if value is None else minimum <= value <= maximum


class Table:
    """The rows in the order they are measured."""

    def __init__(self) -> None:
        """Start empty."""
        self.rows: list[Row] = []

    def add(
        self,
        key: str,
        label: str,
        unit: str,
        values: Mapping[str, float | None],
        *,
        ratio: bool = True,
    ) -> Row:
        """Add a row; with `ratio`, its ratios are generated / baseline and / floor where known."""
        row = Row(key, label, unit, dict(values))
        generated, baseline = values.get(KIND_GENERATED), values.get(KIND_BASELINE)
        if ratio and generated is not None and baseline:
            row.ratio = generated / baseline
        floor = values.get(KIND_FLOOR)
        if ratio and generated is not None and floor:
            row.floor_ratio = generated / floor
        self.rows.append(row)
        return row

    def add_limited(
        self,
        key: str,
        label: str,
        unit: str,
        values: Mapping[str, float | None],
        *,
        target: str,
        maximum: float,
    ) -> Row:
        """Add a row with no ratio whose generated value should stay at or below `maximum`.

        `target` is how the table shows that limit.
        """
        row = self.add(key, label, unit, values, ratio=False)
        row.target = target
        row.judge(row.values.get(KIND_GENERATED), maximum=maximum)
        return row
