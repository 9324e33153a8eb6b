"""The budget axis of chapters 09-11: has a model been trained to a plateau?

Every model a verdict reads trains at the full budget (``recipes.BUDGETS[-1]``
images seen) with every seed, and once more at half of it with the seeds of
:data:`HALF_SEEDS`. Doubling the budget is the test: a model has *converged*
when its validation accuracy moves by less than ``recipes.CONVERGED_POINTS``
between the two, compared seed by seed (same initialisation, same subset), so
that what is compared is the training length alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .. import recipes
from .runner import SEEDS, Trained

__all__ = [
    "HALF_SEEDS",
    "CREDIBLE_ACCURACY",
    "Convergence",
    "axis_requests",
    "convergence",
]

HALF_SEEDS = (0,)  # the smaller budget of the axis: one seed, paired with the same seed
# The credibility floor of an experiment-size model trained with shifts on the whole
# training split (mean test accuracy over three seeds): below it a comparison would
# measure an underfit model. Models without augmentation need only be converged.
CREDIBLE_ACCURACY = 0.955


def axis_requests(
    make: Callable[[int, int], dict], seeds=SEEDS
) -> dict[int, list[dict]]:
    """budget -> requests: ``make(seed, budget)`` for every seed at the full budget
    and for :data:`HALF_SEEDS` at the half budget."""
    half, full = recipes.BUDGETS
    return {
        half: [make(s, half) for s in seeds if s in HALF_SEEDS],
        full: [make(s, full) for s in seeds],
    }


@dataclass(frozen=True)
class Convergence:
    """What doubling the training budget did to a model's validation accuracy."""

    budgets: list[int]  # images seen: half, full
    seeds: list[int]  # the seeds trained at both budgets
    half_val: float  # mean validation accuracy of those seeds at the half budget
    full_val: float  # ... and at the full budget
    change: float  # full - half, in points
    converged: bool  # abs(change) < recipes.CONVERGED_POINTS


def convergence(half: list[Trained], full: list[Trained]) -> Convergence:
    """How much doubling the budget moved validation accuracy, seed by seed (the
    full-budget runs of the half-budget runs' seeds)."""
    by_seed = {t.spec["seed"]: t for t in full}
    pairs = [(h, by_seed[h.spec["seed"]]) for h in half if h.spec["seed"] in by_seed]
    if not pairs:
        raise ValueError("convergence needs a full-budget run for a half-budget seed")
    half_val = sum(h.val_acc for h, _ in pairs) / len(pairs)
    full_val = sum(f.val_acc for _, f in pairs) / len(pairs)
    change = 100 * (full_val - half_val)
    return Convergence(
        budgets=[pairs[0][0].images_seen, pairs[0][1].images_seen],
        seeds=[h.spec["seed"] for h, _ in pairs],
        half_val=half_val,
        full_val=full_val,
        change=change,
        converged=abs(change) < recipes.CONVERGED_POINTS,
    )
