"""Chapter 12: noise, blur and occlusion of increasing strength; the final table."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..data import load_mnist5k
from ..patches import PatchEmbedding
from .results import Interval, cached_result, over_seeds
from .runner import SEEDS, request, train_groups

__all__ = [
    "NOISE_SIGMAS",
    "BLUR_SIGMAS",
    "OCCLUDED_FRACTIONS",
    "Cost",
    "ModelRobustness",
    "Robustness",
    "robustness",
    "CHANCE",
    "above_chance",
    "recipe_accuracy",
    "robustness_requests",
]

NOISE_SIGMAS = (0.0, 0.2, 0.4, 0.6, 0.8)
BLUR_SIGMAS = (0.0, 0.5, 1.0, 1.5, 2.0)
OCCLUDED_FRACTIONS = (0.0, 0.25, 0.5, 0.75)
OCCLUSION_PATCH = 7  # pixels: the ViTs' patch grid, so blacked out = dropped patches
CHANCE = 0.1  # ten balanced classes


def recipe_accuracy(seeds=SEEDS) -> dict[str, Interval]:
    """The tuned recipes' test accuracy over three seeds ("CNN recipe", "ViT
    recipe"), each retrained on train + val: the runs :func:`robustness_requests`
    asks for (trained by ``make models``), read from the cache."""
    runs = train_groups(
        {k: v for k, v in robustness_requests(seeds).items() if "recipe" in k},
        progress=False,
    )
    return {name: over_seeds(t.test_acc for t in group) for name, group in runs.items()}


def above_chance(points: list[Interval], chance: float = CHANCE) -> list[Interval]:
    """A robustness curve as the share of the clean accuracy *above chance* that each
    strength keeps: (accuracy - chance) / (clean - chance), seed by seed, then mean
    and 95% interval over seeds. ``points[0]`` is the clean accuracy. 1: nothing lost;
    0: guessing. A plain ratio of accuracies would credit a model at chance with
    ``chance / clean`` of its accuracy "kept", and flatter the less accurate model."""
    clean = points[0].values
    if any(c <= chance for c in clean):
        raise ValueError(f"clean accuracy must be above chance ({chance}), got {clean}")
    return [
        over_seeds((a - chance) / (c - chance) for a, c in zip(p.values, clean))
        for p in points
    ]


@dataclass(frozen=True)
class Cost:
    """A model's row of the final table."""

    test_acc: Interval
    parameters: int
    flops: int  # forward FLOPs per image
    images_per_second: float  # inference, 500 images a batch, this machine
    # Training seconds, only where comparable: the full recipes, trained with all cores
    train_seconds: float | None = None


@dataclass(frozen=True)
class ModelRobustness:
    """One model's accuracy per strength of each corruption, over seeds."""

    noise: list[Interval]
    blur: list[Interval]
    occlusion: list[Interval]
    dropped: list[Interval] | None  # a ViT: the same patches dropped, not blacked out
    table: Cost


@dataclass(frozen=True)
class Robustness:
    """Chapter 12's measurements: the strengths, and each model's results."""

    noise: list[float]  # noise standard deviations
    blur: list[float]  # blur sigmas (pixels)
    occlusion: list[float]  # occluded fractions of the patches
    models: dict[str, ModelRobustness]  # "CNN", "ViT", "hybrid", "CNN recipe", ...


def robustness(seeds=SEEDS, progress: bool = True) -> Robustness:
    """Chapter 12: noise, blur and occlusion of increasing strength; the final
    comparison table.

    The experiment-size models of chapters 09 and 11 and the full recipes of
    chapters 04 and 07, three seeds each (the hybrid, illustrative, has one), are
    measured alike; the recipes fill the cost table.
    """
    return cached_result(
        "results-robustness",
        {"seeds": list(seeds)},
        Robustness,
        lambda: _robustness(seeds, progress),
    )


def robustness_requests(seeds=SEEDS) -> dict[str, list[dict]]:
    """Chapter 12's models: the experiment-size families and the tuned recipes,
    three seeds each (the hybrid, illustrative, one)."""
    return {
        "CNN": [request("cnn-small", s) for s in seeds],
        "ViT": [request("vit-small", s) for s in seeds],
        "hybrid": [request("hybrid-small", s) for s in seeds[:1]],
        "CNN recipe": [request("cnn", s) for s in seeds],
        "ViT recipe": [request("vit", s) for s in seeds],
    }


def _robustness(seeds, progress: bool) -> Robustness:
    import time

    from ..corruptions import (
        gaussian_blur,
        gaussian_noise,
        occlude_patches,
        random_patch_subsets,
    )
    from ..flops import count_flops

    x, y = load_mnist5k().test.tensors
    runs = train_groups(robustness_requests(seeds), progress=progress)

    def acc(model, images, keep=None) -> float:
        preds = []
        with torch.no_grad():
            for i in range(0, len(images), 500):
                kw = {} if keep is None else {"keep": keep[i : i + 500]}
                preds.append(model(images[i : i + 500], **kw).argmax(1))
        return (torch.cat(preds) == y[: len(images)]).float().mean().item()

    out: dict[str, ModelRobustness] = {}
    for name, models in runs.items():
        res: dict[str, list] = {"noise": [], "blur": [], "occlusion": [], "dropped": []}
        for t in models:
            m = t.model
            res["noise"].append(
                [acc(m, gaussian_noise(x, s, seed=0)) for s in NOISE_SIGMAS]
            )
            res["blur"].append([acc(m, gaussian_blur(x, s)) for s in BLUR_SIGMAS])
            res["occlusion"].append(
                [
                    acc(m, occlude_patches(x, f, OCCLUSION_PATCH, seed=0))
                    for f in OCCLUDED_FRACTIONS
                ]
            )
            if isinstance(
                getattr(m, "patch_embed", None), PatchEmbedding
            ):  # a ViT: drop the patches (Naseer et al. 2021)
                res["dropped"].append(
                    [
                        acc(
                            m,
                            x,
                            keep=random_patch_subsets(
                                len(x), m.num_patches, 1 - f, seed=0
                            ),
                        )
                        for f in OCCLUDED_FRACTIONS
                    ]
                )
        # per strength: mean and 95% interval over seeds
        per_strength = {k: [over_seeds(col) for col in zip(*v)] for k, v in res.items()}
        dropped = per_strength.pop("dropped") or None  # only ViTs drop patches
        model, batch = models[0].model, x[:500]
        with torch.no_grad():
            model(batch)  # warm-up
            start = time.perf_counter()
            for _ in range(3):
                model(batch)
            seconds = (time.perf_counter() - start) / 3
        # Training seconds only where they are comparable: the full recipes, trained
        # in the main process with all cores (chapters 04 and 07); pooled runs train
        # on one core each.
        timed = name in ("CNN recipe", "ViT recipe")
        out[name] = ModelRobustness(
            **per_strength,
            dropped=dropped,
            table=Cost(
                test_acc=over_seeds(t.test_acc for t in models),
                parameters=models[0].parameters,
                flops=count_flops(model, (1, 1, 28, 28)),
                images_per_second=len(batch) / seconds,
                train_seconds=models[0].history.seconds if timed else None,
            ),
        )
    strengths = list(NOISE_SIGMAS), list(BLUR_SIGMAS), list(OCCLUDED_FRACTIONS)
    return Robustness(*strengths, models=out)
