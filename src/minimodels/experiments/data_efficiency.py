"""Chapter 11: test error against training-set size, per family and augmentation;
how many more images the ViT needs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .. import recipes
from .budget import Convergence, axis_requests, convergence
from .results import Interval, cached_result, over_seeds
from .runner import SEEDS, request, train_groups

__all__ = [
    "SizePoint",
    "DataEfficiency",
    "TRAIN_SIZES",
    "VARIANTS",
    "VERDICT_VARIANTS",
    "CHECKED_SIZES",
    "HYBRID_SIZES",
    "samples_for",
    "data_efficiency_requests",
    "data_efficiency",
    "size_to_reach",
    "data_multiplier",
]

TRAIN_SIZES = (250, 500, 1000, 2000, 3500)  # 3,500: the whole training split
VARIANTS = {
    # name: (recipe, max_shift)
    "CNN": ("cnn-small", 0),
    "CNN + shifts": ("cnn-small", 2),
    "ViT": ("vit-small", 0),
    "ViT + shifts": ("vit-small", 2),
}
# What the 2-core CPU affords (the CNN costs about 0.5 ms per training image, the ViT
# 0.23, the hybrid 0.7): the variants the verdict reads, without augmentation (the
# data alone), train with every seed at every size; the shifted ones with every seed
# on the whole training split (chapter 10's models) and with one below it. The
# half budget (one seed) checks convergence at the smallest and the largest size.
VERDICT_VARIANTS = ("CNN", "ViT")
CHECKED_SIZES = (250, 3500)
# The hybrid (the ViT behind a convolutional stem) costs three times the ViT per
# image: one seed, three sizes, the full budget (an illustrative variant).
HYBRID_SIZES = (250, 1000, 3500)


def samples_for(n: int, budget: int) -> int:
    """Images seen by a run on ``n`` images at ``budget``: the budget, but at most
    ``budget / 2,000`` epochs (80 at the full budget). Without the cap a run on 250
    images would see each one 640 times; the budget axis checks that the cap does
    not stop a run before its plateau (it halves with the budget)."""
    return min(budget, n * budget // 2000)


def data_efficiency_requests(
    seeds=SEEDS, sizes=TRAIN_SIZES
) -> dict[tuple[str, int, int], list[dict]]:
    """Chapter 11's learning curves: (name, size, budget) -> runs.

    A subset of fewer images is drawn afresh for each seed (nested within a seed).
    """
    out = {}
    largest = max(sizes)
    for name, (recipe, shift) in VARIANTS.items():
        for n in sizes:
            every = name in VERDICT_VARIANTS or n == largest
            axis = axis_requests(
                lambda s, b, recipe=recipe, shift=shift, n=n: request(
                    recipe, s, n_train=n, max_shift=shift, samples=samples_for(n, b)
                ),
                seeds if every else seeds[:1],
            )
            if n not in CHECKED_SIZES:
                del axis[recipes.BUDGETS[0]]
            out.update({(name, n, b): reqs for b, reqs in axis.items()})
    full = recipes.BUDGETS[-1]
    for n in HYBRID_SIZES:
        if n in sizes:
            out[("hybrid", n, full)] = [
                request(
                    "hybrid-small", seeds[0], n_train=n, samples=samples_for(n, full)
                )
            ]
    return out


@dataclass(frozen=True)
class SizePoint:
    """One variant on one training-set size, at the full budget, over seeds."""

    test_acc: Interval
    val_acc: Interval  # at the end of training
    parameters: int
    images_seen: int
    budget: Convergence | None = None  # at the sizes checked (CHECKED_SIZES)


@dataclass(frozen=True)
class DataEfficiency:
    """Chapter 11's measurements: a learning curve (size -> point) per variant."""

    sizes: list[int]
    curves: dict[str, dict[int, SizePoint]]  # "CNN", ..., "hybrid"


def data_efficiency(
    seeds=SEEDS, sizes=TRAIN_SIZES, progress: bool = True
) -> DataEfficiency:
    """Chapter 11: test accuracy against training-set size, per family and
    augmentation, at both budgets."""
    spec = {"seeds": list(seeds), "sizes": list(sizes)}
    return cached_result(
        "results-data",
        spec,
        DataEfficiency,
        lambda: _data_efficiency(seeds, sizes, progress),
    )


def _data_efficiency(seeds, sizes, progress: bool) -> DataEfficiency:
    half, full = recipes.BUDGETS
    runs = train_groups(data_efficiency_requests(seeds, sizes), progress)
    curves: dict[str, dict[int, SizePoint]] = {n: {} for n in [*VARIANTS, "hybrid"]}
    for (name, n, budget), group in runs.items():
        if budget != full:
            continue
        halves = runs.get((name, n, half))
        curves[name][n] = SizePoint(
            test_acc=over_seeds(t.test_acc for t in group),
            val_acc=over_seeds(t.val_acc for t in group),
            parameters=group[0].parameters,
            images_seen=group[0].images_seen,
            budget=None if halves is None else convergence(halves, group),
        )
    return DataEfficiency(list(sizes), curves)


def size_to_reach(curve: dict[int, SizePoint], accuracy: float) -> float | None:
    """Training-set size at which a learning curve (size -> point) reaches mean test
    accuracy ``accuracy``: log-linear interpolation between its sizes; None when its
    largest size stays below."""
    pts = sorted((n, p.test_acc.mean) for n, p in curve.items())
    if pts[0][1] >= accuracy:
        return float(pts[0][0])
    for (n0, a0), (n1, a1) in zip(pts, pts[1:]):
        if a0 < accuracy <= a1:
            t = (accuracy - a0) / (a1 - a0)
            return float(math.exp(math.log(n0) + t * (math.log(n1) - math.log(n0))))
    return None


def data_multiplier(
    curves: dict[str, dict[int, SizePoint]], model: str, reference: str, n: int
):
    """How many times more images ``model`` needs to reach the accuracy
    ``reference`` reaches with ``n`` images: (multiplier, reference accuracy).

    The multiplier is None when ``model`` does not reach it within its largest size
    (then it needs more than ``largest / n`` times)."""
    target = curves[reference][n].test_acc.mean
    needed = size_to_reach(curves[model], target)
    return (None if needed is None else needed / n), target
