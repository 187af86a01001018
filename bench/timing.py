"""Timing helpers for a noisy machine: interleaved repeats, medians, and ratios in the same run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Comparison:
    ours_seconds: float
    theirs_seconds: float

    @property
    def ratio(self) -> float:
        return self.ours_seconds / self.theirs_seconds


def per_call_seconds(call: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        call()
    return (time.perf_counter() - start) / number


def compare(
    ours: Callable[[], object], theirs: Callable[[], object], number: int = 2000, repeats: int = 9
) -> Comparison:
    """Median per-call time of each, measured alternately so drift hits both equally."""
    ours(), theirs()  # warm caches and lazy imports outside the measurement
    ours_runs: list[float] = []
    theirs_runs: list[float] = []
    for _ in range(repeats):
        ours_runs.append(per_call_seconds(ours, number))
        theirs_runs.append(per_call_seconds(theirs, number))
    return Comparison(statistics.median(ours_runs), statistics.median(theirs_runs))


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]
