"""Timing that holds up on a noisy laptop.

Used by chapter timing cells and ``benchmarks/``.

Both report *ratios* (ours / torch) measured back to back, never absolute
times. Noise from other processes only ever adds time, so the fastest of
several runs is the most repeatable estimate of what the code itself costs
(the advice of Python's ``timeit``); the median is kept for reporting a
typical run.
"""

from __future__ import annotations

import platform
import statistics
import time
from typing import Callable

import torch

__all__ = ["run_times", "median_seconds", "best_seconds", "ratio", "describe_machine"]


def run_times(
    fn: Callable[[], object], repeats: int = 15, warmup: int = 3
) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls of ``fn()``.

    ``warmup`` untimed calls come first.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def median_seconds(
    fn: Callable[[], object], repeats: int = 15, warmup: int = 3
) -> float:
    """Median seconds of ``fn()``: a typical run."""
    return statistics.median(run_times(fn, repeats, warmup))


def best_seconds(fn: Callable[[], object], repeats: int = 15, warmup: int = 3) -> float:
    """Fastest seconds of ``fn()``: the run least disturbed by anything else."""
    return min(run_times(fn, repeats, warmup))


def ratio(
    ours: Callable[[], object],
    reference: Callable[[], object],
    repeats: int = 15,
    rounds: int = 3,
) -> float:
    """best_seconds(ours) / best_seconds(reference), the median over ``rounds`` rounds.

    Alternating the two in rounds spreads slow spells of a shared machine over both.
    """
    return statistics.median(
        best_seconds(ours, repeats) / best_seconds(reference, repeats)
        for _ in range(rounds)
    )


def describe_machine() -> str:
    """One line for a benchmark's output: torch version, threads and processor."""
    processor = platform.processor() or platform.machine()
    return f"torch {torch.__version__}, {torch.get_num_threads()} threads, {processor}"
