"""Numbers over seeds, as the evidence chapters store them."""

from __future__ import annotations

import torch

from ..stats import t_interval

__all__ = ["summarise", "stats"]


def summarise(values) -> tuple[float, float]:
    """(mean, sample standard deviation) of a list of numbers; the spread is 0 for one
    value."""
    t = torch.tensor([float(v) for v in values], dtype=torch.float64)
    return float(t.mean()), float(t.std(unbiased=True)) if len(t) > 1 else 0.0


def stats(values) -> dict:
    """The values, their mean and standard deviation, and the 95% t-interval of the
    mean (``low``, ``high``; zero width for one value)."""
    values = [float(v) for v in values]
    mean, std = summarise(values)
    ci = t_interval(values)
    return {"values": values, "mean": mean, "std": std, "low": ci.low, "high": ci.high}
