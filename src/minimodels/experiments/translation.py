"""Chapter 10: accuracy and consistency under shifts; what helps."""

from __future__ import annotations

from dataclasses import dataclass

from .. import recipes
from ..data import load_mnist5k
from .budget import HALF_SEEDS, Convergence, convergence
from .parameters import size_family_requests
from .results import Interval, cached_result, over_seeds
from .runner import SEEDS, request, train_groups

__all__ = [
    "SHIFT_DISTANCES",
    "SHIFT_IMAGES",
    "ShiftCurve",
    "ShiftVariant",
    "MatchedShifts",
    "MATCHED_POINTS",
    "Translation",
    "translation_requests",
    "translation",
]

SHIFT_DISTANCES = (0, 1, 2, 3, 4, 6, 7, 8)  # pixels; 4: the CNN's stride, 7: a patch
SHIFT_IMAGES = 500  # test images per shift and direction (a class-balanced prefix)
# Two models count as matched when their clean test accuracies (means over their
# seeds) differ by at most this many points: then a difference in consistency is not
# one model being merely less sure of everything.
MATCHED_POINTS = 1.0


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
        # the position embedding as the control: none (a ViT is then exactly
        # invariant to circular whole-patch shifts) and fixed sine-cosine
        "ViT, no positions": [
            request("vit-small", s, model={"pos_embedding": "none"}) for s in seeds
        ],
        "ViT, sine-cosine positions": [
            request("vit-small", s, model={"pos_embedding": "sincos"}) for s in seeds
        ],
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
class MatchedShifts:
    """One model of each family at matched clean accuracy (chapter 09's size sweep,
    at either budget of its axis), on the test images it classifies correctly: the
    share of predictions a shift leaves unchanged, and the share that noise of the
    same L2 norm leaves unchanged (:func:`minimodels.shifts.shift_vs_noise`); per
    distance, over the seeds trained at that budget. Keys: "CNN", "ViT"."""

    models: dict[str, str]  # family -> "CNN w2 at 80,000 images seen", ...
    test_acc: dict[str, Interval]  # family -> clean test accuracy
    shift: dict[str, list[Interval]]
    noise: dict[str, list[Interval]]


@dataclass(frozen=True)
class Translation:
    """Chapter 10's measurements."""

    distances: list[int]  # pixels
    full: dict[str, ShiftCurve]  # the CNN and ViT recipes
    variants: dict[str, ShiftVariant]  # the experiment-size models
    matched: MatchedShifts | None  # None: no pair within MATCHED_POINTS


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
    sizes = size_family_requests(seeds)  # (name, budget) -> runs
    runs_by_name = train_groups(
        {**full, **variants, **halves, **sizes}, progress=progress
    )
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
    sized = {key: runs_by_name[key] for key in sizes}
    matched = _matched(sized, images, test[1][:SHIFT_IMAGES])
    return Translation(list(SHIFT_DISTANCES), full_curves, out, matched)


def _matched(sized: dict, images, labels) -> MatchedShifts | None:
    """The CNN and the ViT of the size sweep whose clean test accuracies are closest
    (a pair trained with three seeds first, where one is within MATCHED_POINTS)."""
    from ..shifts import shift_vs_noise

    def accuracy(key) -> float:
        return over_seeds(t.test_acc for t in sized[key]).mean

    pairs = [
        (abs(accuracy(c) - accuracy(v)), -len(sized[c]) - len(sized[v]), c, v)
        for c in sized
        if c[0].startswith("CNN")
        for v in sized
        if v[0].startswith("ViT")
    ]
    close = [p for p in pairs if 100 * p[0] <= MATCHED_POINTS + 1e-9]
    if not close:
        return None
    _, _, *keys = min(close, key=lambda p: (p[1], p[0]))
    out: dict = {"models": {}, "test_acc": {}, "shift": {}, "noise": {}}
    for family, key in zip(("CNN", "ViT"), keys):
        runs = sized[key]
        measured = [
            shift_vs_noise(t.model, images, labels, SHIFT_DISTANCES) for t in runs
        ]
        out["models"][family] = f"{key[0]} at {key[1]:,} images seen"
        out["test_acc"][family] = over_seeds(t.test_acc for t in runs)
        for kind in ("shift", "noise"):
            per_seed = [getattr(m, kind) for m in measured]
            out[kind][family] = [over_seeds(d) for d in zip(*per_seed)]
    return MatchedShifts(**out)
