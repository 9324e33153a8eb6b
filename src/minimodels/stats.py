"""Statistics for results over seeds: a mean with its 95% interval, and the test
set's own sampling error.

Used by the benchmarks and the evidence chapters (08-13). Three seeds give a
mean and a spread, but three numbers say little about where the mean would
settle: the t-interval (Student 1908) widens the spread by the quantile of the
t distribution with ``n - 1`` degrees of freedom, 4.30 for three seeds at 95%.
Separately, an accuracy measured on ``n`` test images is itself a sample: its
binomial standard error ``sqrt(p (1 - p) / n)`` is about 0.5 points for
``p = 0.97`` on 1,000 images, a floor below which two models cannot be told
apart on that test set, however many seeds.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import torch

__all__ = ["Interval", "t_quantile", "t_interval", "binomial_se", "summary_line"]


class Interval(NamedTuple):
    """A mean over runs with a two-sided confidence interval, and the runs' values."""

    mean: float
    low: float
    high: float
    values: tuple[float, ...]

    def text(self, spec: str = ".1%") -> str:
        """For a table: "97.9% (97.1%-98.7%)", or "97.9% (1 seed)" for one value."""
        if len(self.values) == 1:
            return f"{self.mean:{spec}} (1 seed)"
        return f"{self.mean:{spec}} ({self.low:{spec}}-{self.high:{spec}})"


def _t_cdf(x: float, df: int) -> float:
    """P(T <= x) for Student's t with ``df`` degrees of freedom, ``x >= 0``,
    by the trapezoid rule on the density (exact to about 1e-7 here)."""
    t = torch.linspace(0.0, x, 20_001, dtype=torch.float64)
    log_norm = (
        math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    )
    density = torch.exp(log_norm - (df + 1) / 2 * torch.log1p(t * t / df))
    return 0.5 + torch.trapezoid(density, t).item()


def t_quantile(probability: float, df: int) -> float:
    """The ``probability`` quantile (above 0.5) of Student's t with ``df`` degrees
    of freedom, by bisection on its distribution function."""
    if not 0.5 < probability < 1:
        raise ValueError(f"probability must be in (0.5, 1), got {probability}")
    if df < 1:
        raise ValueError(f"df must be at least 1, got {df}")
    low, high = 0.0, 1.0
    while _t_cdf(high, df) < probability:
        high *= 2
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if _t_cdf(mid, df) < probability else (low, mid)
    return (low + high) / 2


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean of ``values`` and its two-sided t-interval; one value gives a zero-width
    interval (nothing to say about the spread)."""
    xs = tuple(float(v) for v in values)
    if not xs:
        raise ValueError("t_interval needs at least one value")
    mean = sum(xs) / len(xs)
    if len(xs) == 1:
        return Interval(mean, mean, mean, xs)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
    half = t_quantile((1 + confidence) / 2, len(xs) - 1) * sd / math.sqrt(len(xs))
    return Interval(mean, mean - half, mean + half, xs)


def binomial_se(accuracy: float, n: int) -> float:
    """Standard error of an accuracy measured on ``n`` independent test images."""
    if n < 1 or not 0 <= accuracy <= 1:
        raise ValueError(f"need n >= 1 and 0 <= accuracy <= 1, got {n}, {accuracy}")
    return math.sqrt(accuracy * (1 - accuracy) / n)


def summary_line(
    label: str, accuracies: Sequence[float], seconds: Sequence[float]
) -> str:
    """One line per recipe for the benchmarks, e.g. ``ViT recipe: mean test accuracy
    0.978 over 3 seeds (95% interval 0.975-0.981), slowest run 95.1 s``."""
    ci = t_interval(accuracies)
    runs = f"{len(ci.values)} seed" + ("s" if len(ci.values) != 1 else "")
    return (
        f"{label}: mean test accuracy {ci.mean:.3f} over {runs} "
        f"(95% interval {ci.low:.3f}-{ci.high:.3f}), slowest run {max(seconds):.1f} s"
    )
