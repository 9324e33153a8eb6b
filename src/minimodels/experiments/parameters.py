"""Chapter 09: accuracy against parameters and training compute for both families."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .. import recipes
from ..flops import ReferenceModel
from ..train import count_parameters
from .budget import Convergence, axis_requests, convergence
from .results import Interval, cached_result, over_seeds
from .runner import SEEDS, request, train_groups

__all__ = [
    "CNN_WIDTHS",
    "VIT_DIMS",
    "TARGETS",
    "SizeRow",
    "ParameterEfficiency",
    "size_family_requests",
    "CONTROLS",
    "PERMUTED",
    "UNSHARED",
    "control_requests",
    "parameter_efficiency",
    "params_to_match",
    "flops_to_reach",
]

CNN_WIDTHS = (2, 4, 8)  # SmallCNN widths (w, 2w, 4w), two convolutions per stage
VIT_DIMS = (16, 32, 64)  # ViT widths D (2 blocks, D / 16 heads, MLP 2D)
TARGETS = (0.95, 0.97)  # accuracies whose cost in parameters and FLOPs is measured


def _size_models() -> dict[str, tuple[str, dict]]:
    out = {
        f"CNN w{w}": ("cnn-small", {"widths": (w, 2 * w, 4 * w)}) for w in CNN_WIDTHS
    }
    for d in VIT_DIMS:
        out[f"ViT D{d}"] = (
            "vit-small",
            {"dim": d, "heads": max(1, d // 16), "mlp_dim": 2 * d},
        )
    return out


# Chapter 09's controls: name -> (recipe, model overrides, data set). Pixel-permuted
# digits take locality away and keep everything else (the pixel values, the labels,
# the parameters): what a family loses is what its locality prior was worth. The
# locally connected CNN keeps the convolutions' windows but gives every position its
# own filters: what weight sharing saves.
CONTROLS: dict[str, tuple[str, dict, str]] = {
    "CNN w8, permuted pixels": ("cnn-small", {}, "mnist5k-permuted"),
    "ViT D32, permuted pixels": ("vit-small", {}, "mnist5k-permuted"),
    "CNN w2, no weight sharing": (
        "cnn-small",
        {"widths": (2, 4, 8), "weight_sharing": False},
        "mnist5k",
    ),
}
PERMUTED = {  # a model of the size sweep -> its control on permuted pixels
    "CNN w8": "CNN w8, permuted pixels",
    "ViT D32": "ViT D32, permuted pixels",
}
UNSHARED = {"CNN w2": "CNN w2, no weight sharing"}


def _axis(name: str, recipe: str, model: dict, data: str, seeds) -> dict:
    axis = axis_requests(
        lambda s, b: request(recipe, s, model=model, samples=b, data=data), seeds
    )
    return {(name, b): reqs for b, reqs in axis.items()}


def size_family_requests(seeds=SEEDS) -> dict[tuple[str, int], list[dict]]:
    """Chapter 09's families, three sizes each, no augmentation (the architecture
    alone): (name, budget) -> runs, at both budgets of the axis."""
    out = {}
    for name, (recipe, model) in _size_models().items():
        out.update(_axis(name, recipe, model, "mnist5k", seeds))
    return out


def control_requests(seeds=SEEDS) -> dict[tuple[str, int], list[dict]]:
    """Chapter 09's controls (:data:`CONTROLS`), like the size sweep: (name,
    budget) -> runs, at both budgets, no augmentation."""
    out = {}
    for name, (recipe, model, data) in CONTROLS.items():
        out.update(_axis(name, recipe, model, data, seeds))
    return out


@dataclass(frozen=True)
class SizeRow:
    """One model size of chapter 09, at the full budget (over seeds) and the half."""

    name: str  # "CNN w4", "ViT D32", ...
    family: str  # "CNN" or "ViT"
    parameters: int
    flops: int  # forward FLOPs per image
    images_seen: int
    test_acc: Interval
    val_acc: Interval  # at the end of training
    curves: list[list[float]]  # validation accuracy per seed ...
    curve_images: list[int]  # ... after this many images seen
    flops_to_reach: list[float | None]  # per TARGETS: training FLOPs, mean over seeds
    budget: Convergence
    half_test_acc: Interval  # test accuracy at the half budget


@dataclass(frozen=True)
class ParameterEfficiency:
    """Chapter 09's measurements."""

    rows: list[SizeRow]
    controls: dict[str, SizeRow]  # CONTROLS by name: permuted pixels, no sharing
    budgets: list[int]
    vit_growth_28_to_56: int  # parameters the ViT recipe gains from 28 to 56 px images
    position_growth_28_to_56: int  # ... of which in its position table
    references: list[ReferenceModel]  # torchvision's ImageNet classifiers


def parameter_efficiency(seeds=SEEDS, progress: bool = True) -> ParameterEfficiency:
    """Chapter 09: accuracy against parameters and training FLOPs for both families,
    at both budgets; torchvision's references."""
    return cached_result(
        "results-parameters",
        {"seeds": list(seeds)},
        ParameterEfficiency,
        lambda: _parameter_efficiency(seeds, progress),
    )


def _first_reaching(curve: list[float], images: list[int], target: float):
    """Images seen when a validation curve first reaches ``target`` (None: never)."""
    return next((n for acc, n in zip(curve, images) if acc >= target), None)


def _parameter_efficiency(seeds, progress: bool) -> ParameterEfficiency:
    from ..flops import count_flops, reference_models
    from ..vit import ViT

    half, full = recipes.BUDGETS
    groups = {**size_family_requests(seeds), **control_requests(seeds)}
    runs = train_groups(groups, progress=progress)

    def row(name: str) -> SizeRow:
        group, halves = runs[(name, full)], runs[(name, half)]
        first = group[0]
        flops = count_flops(first.model, (1, 1, 28, 28))
        epochs = first.history.val_epochs
        images = [e * first.spec["n_train"] for e in epochs]
        curves = [t.history.val_acc for t in group]
        # Training FLOPs (3 x forward FLOPs x images seen: forward, and a backward
        # pass of about twice its cost) until the validation curve first reaches the
        # target, mean over seeds; None unless every seed gets there.
        to_reach = []
        for target in TARGETS:
            seen = [_first_reaching(c, images, target) for c in curves]
            to_reach.append(None if None in seen else 3 * flops * sum(seen) / len(seen))
        return SizeRow(
            name=name,
            family="CNN" if name.startswith("CNN") else "ViT",
            parameters=first.parameters,
            flops=flops,
            images_seen=first.images_seen,
            test_acc=over_seeds(t.test_acc for t in group),
            val_acc=over_seeds(t.val_acc for t in group),
            curves=curves,
            curve_images=images,
            flops_to_reach=to_reach,
            budget=convergence(halves, group),
            half_test_acc=over_seeds(t.test_acc for t in halves),
        )

    rows = [row(name) for name in _size_models()]
    controls = {name: row(name) for name in CONTROLS}
    # Weight sharing in a ViT: the same blocks serve any number of tokens; only the
    # position table grows with the image.
    vit_args = recipes.RECIPES["vit"].model
    small, large = ViT(**vit_args, image_size=28), ViT(**vit_args, image_size=56)
    growth = count_parameters(large) - count_parameters(small)
    position_growth = large.pos_embedding.numel() - small.pos_embedding.numel()
    return ParameterEfficiency(
        rows=rows,
        controls=controls,
        budgets=list(recipes.BUDGETS),
        vit_growth_28_to_56=growth,
        position_growth_28_to_56=position_growth,
        references=list(reference_models()),
    )


def params_to_match(rows: list[SizeRow], family: str, accuracy: float) -> float | None:
    """Parameters ``family`` needs to reach ``accuracy`` (mean test accuracy):
    log-linear interpolation between its sizes.

    None when no size of the family reaches it (then the family needs more than its
    largest).
    """
    pts = sorted((r.parameters, r.test_acc.mean) for r in rows if r.family == family)
    for (p0, a0), (p1, a1) in zip(pts, pts[1:]):
        if a0 >= accuracy:
            return float(p0)
        if a0 < accuracy <= a1:
            t = (accuracy - a0) / (a1 - a0)
            return float(math.exp(math.log(p0) + t * (math.log(p1) - math.log(p0))))
    return float(pts[0][0]) if pts and pts[0][1] >= accuracy else None


def flops_to_reach(rows: list[SizeRow], family: str, target: float) -> float | None:
    """Training FLOPs the cheapest size of ``family`` spends until its validation
    accuracy first reaches ``target`` (mean over seeds); None if no size gets there
    with every seed. ``target`` is one of :data:`TARGETS`."""
    k = list(TARGETS).index(target)
    costs = [
        r.flops_to_reach[k]
        for r in rows
        if r.family == family and r.flops_to_reach[k] is not None
    ]
    return min(costs) if costs else None
