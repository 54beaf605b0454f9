"""Figures from samples: subjects alternating in rounds, medians, and sums that allow gaps.

A reading is None where the platform has no /proc; a figure made from one is too.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def alternating(subjects: Sequence[T], rounds: int) -> Iterator[tuple[int, T]]:
    """(round, subject) pairs, the order of the subjects reversed every other round."""
    for round_number in range(rounds):
        order = subjects if round_number % 2 == 0 else list(reversed(subjects))
        for subject in order:
            yield round_number, subject


def collect(
    subjects: Sequence[T], rounds: int, sample: Callable[[T], list[float]]
) -> dict[T, list[float]]:
    """The samples of each subject, `sample(subject)` once a round, the subjects alternating."""
    samples: dict[T, list[float]] = {subject: [] for subject in subjects}
    for _, subject in alternating(subjects, rounds):
        samples[subject] += sample(subject)
    return samples


def median(values: Sequence[float]) -> float:
    """The median of `values`."""
    return float(statistics.median(values))


def medians(samples: dict[T, list[float]]) -> dict[T, float]:
    """The median of each subject's samples."""
    return {subject: median(values) for subject, values in samples.items()}


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """Numerator / denominator, or None when either is missing or the denominator is 0."""
    return numerator / denominator if numerator is not None and denominator else None


def delta(after: float | None, before: float | None) -> float | None:
    """After - before, or None when either is missing."""
    return after - before if after is not None and before is not None else None


def per_1000(high: float | None, low: float | None, count: int) -> float | None:
    """How much (high - low) is per 1,000 of `count`, or None when either is missing."""
    difference = delta(high, low)
    return difference * 1000 / count if difference is not None else None
