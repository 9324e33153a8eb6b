"""Chapter 10: accuracy and consistency under shifts; what helps."""

from __future__ import annotations

from dataclasses import dataclass

from .. import recipes
from ..data import load_mnist5k
from .budget import HALF_SEEDS, Convergence, convergence
from .results import Interval, cached_result, over_seeds
from .runner import SEEDS, request, train_groups

__all__ = [
    "SHIFT_DISTANCES",
    "SHIFT_IMAGES",
    "ShiftCurve",
    "ShiftVariant",
    "Translation",
    "translation_requests",
    "translation",
]

SHIFT_DISTANCES = (0, 1, 2, 3, 4, 6, 7, 8)  # pixels; 4: the CNN's stride, 7: a patch
SHIFT_IMAGES = 500  # test images per shift and direction (a class-balanced prefix)


def translation_requests(seeds=SEEDS) -> dict[str, list[dict]]:
    """Chapter 10's variants at the experiment budget (the plain ones are chapter
    09's runs, the shifted ones chapter 11's on the whole training split)."""
    return {
        "CNN": [request("cnn-small", s) for s in seeds],
        "CNN + shifts": [request("cnn-small", s, max_shift=2) for s in seeds],
        # what helps, illustrated with one seed each (no verdict reads them)
        "CNN + blur pool": [
            request("cnn-small", s, model={"downsample": "blur"}) for s in seeds[:1]
        ],
        "CNN + circular padding": [
            request("cnn-small", s, model={"padding_mode": "circular"})
            for s in seeds[:1]
        ],
        "ViT": [request("vit-small", s) for s in seeds],
        "ViT + shifts": [request("vit-small", s, max_shift=2) for s in seeds],
    }


@dataclass(frozen=True)
class ShiftCurve:
    """One model (one seed) under shifts: per distance of ``Translation.distances``."""

    test_acc: float  # unshifted, the whole test split
    accuracy: list[float]  # on the shifted images, mean over four directions
    consistency: list[float]  # share of predictions unchanged by the shift


@dataclass(frozen=True)
class ShiftVariant:
    """One experiment-size variant under shifts, over seeds, per distance."""

    test_acc: Interval
    accuracy: list[Interval]
    consistency: list[Interval]
    budget: Convergence | None = None  # for the models the verdict reads


@dataclass(frozen=True)
class Translation:
    """Chapter 10's measurements."""

    distances: list[int]  # pixels
    full: dict[str, ShiftCurve]  # the CNN and ViT recipes
    variants: dict[str, ShiftVariant]  # the experiment-size models


def translation(seeds=SEEDS, progress: bool = True) -> Translation:
    """Chapter 10: accuracy and consistency under shifts; what helps."""
    return cached_result(
        "results-translation",
        {"seeds": list(seeds)},
        Translation,
        lambda: _translation(seeds, progress),
    )


def _translation(seeds, progress: bool) -> Translation:
    from ..shifts import shift_robustness

    test = load_mnist5k().test.tensors
    images, labels = test[0][:SHIFT_IMAGES], test[1][:SHIFT_IMAGES]

    def curve(model):
        return shift_robustness(model, images, labels, SHIFT_DISTANCES)

    # The full recipes (chapters 04 and 07), both trained with shifts.
    full = {"CNN recipe": [request("cnn", 0)], "ViT recipe": [request("vit", 0)]}
    variants = translation_requests(seeds)
    # The verdict's two models at half the budget (chapter 09's runs): converged?
    halves = {
        ("half", name): [
            request(recipe, s, samples=recipes.BUDGETS[0])
            for s in seeds
            if s in HALF_SEEDS
        ]
        for name, recipe in (("CNN", "cnn-small"), ("ViT", "vit-small"))
    }
    runs_by_name = train_groups({**full, **variants, **halves}, progress=progress)
    full_curves = {}
    for name in full:
        (t,) = runs_by_name[name]
        c = curve(t.model)
        full_curves[name] = ShiftCurve(
            t.test_acc, list(c.accuracy), list(c.consistency)
        )
    out = {}
    for name in variants:
        runs = runs_by_name[name]
        curves = [curve(t.model) for t in runs]
        half = runs_by_name.get(("half", name))
        out[name] = ShiftVariant(  # per distance: mean and 95% interval over seeds
            test_acc=over_seeds(t.test_acc for t in runs),
            accuracy=[over_seeds(a) for a in zip(*(c.accuracy for c in curves))],
            consistency=[over_seeds(a) for a in zip(*(c.consistency for c in curves))],
            budget=None if half is None else convergence(half, runs),
        )
    return Translation(list(SHIFT_DISTANCES), full_curves, out)
