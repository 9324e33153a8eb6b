"""Chapter 12: noise, blur and occlusion of increasing strength; the final table."""

from __future__ import annotations

import torch

from ..cache import cached
from ..data import load_mnist5k
from ..patches import PatchEmbedding
from .runner import SEEDS, request, train_groups
from .seeds import stats

__all__ = ["NOISE_SIGMAS", "BLUR_SIGMAS", "OCCLUDED_FRACTIONS", "robustness"]

NOISE_SIGMAS = (0.0, 0.2, 0.4, 0.6, 0.8)
BLUR_SIGMAS = (0.0, 0.5, 1.0, 1.5, 2.0)
OCCLUDED_FRACTIONS = (0.0, 0.25, 0.5, 0.75)
OCCLUSION_PATCH = 7  # pixels: the ViTs' patch grid, so blacked out = dropped patches


def robustness(seeds=SEEDS, progress: bool = True) -> dict:
    """Chapter 12: noise, blur and occlusion of increasing strength; the final
    comparison table.

    The three-seed comparison uses the experiment-size models of chapters 09
    and 11 (no new training; the hybrid has one seed); the full recipes of
    chapters 04 and 07 (one seed) are measured the same way and fill the cost
    table.
    """
    return cached(
        "results-robustness",
        {"seeds": list(seeds)},
        lambda: _robustness(seeds, progress),
    )


def _robustness(seeds, progress: bool) -> dict:
    import time

    from ..corruptions import (
        gaussian_blur,
        gaussian_noise,
        occlude_patches,
        random_patch_subsets,
    )
    from ..flops import count_flops

    x, y = load_mnist5k().test.tensors
    groups = {
        "CNN": [request("cnn-small", s) for s in seeds],
        "ViT": [request("vit-small", s) for s in seeds],
        "hybrid": [request("hybrid-small", s) for s in seeds[:1]],  # illustrative
        "CNN recipe": [request("cnn", 0)],
        "ViT recipe": [request("vit", 0)],
    }
    runs = train_groups(groups, progress=progress)

    def acc(model, images, keep=None) -> float:
        preds = []
        with torch.no_grad():
            for i in range(0, len(images), 500):
                kw = {} if keep is None else {"keep": keep[i : i + 500]}
                preds.append(model(images[i : i + 500], **kw).argmax(1))
        return (torch.cat(preds) == y[: len(images)]).float().mean().item()

    out: dict = {
        "noise": list(NOISE_SIGMAS),
        "blur": list(BLUR_SIGMAS),
        "occlusion": list(OCCLUDED_FRACTIONS),
    }
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
        out[name] = {  # per strength: mean and 95% interval over seeds
            k: [stats(col) for col in zip(*v)] for k, v in res.items() if v
        }
        model, batch = models[0].model, x[:500]
        with torch.no_grad():
            model(batch)  # warm-up
            start = time.perf_counter()
            for _ in range(3):
                model(batch)
            seconds = (time.perf_counter() - start) / 3
        out[name]["table"] = {
            "test_acc": stats([t.test_acc for t in models]),
            "parameters": models[0].parameters,
            "flops": count_flops(model, (1, 1, 28, 28)),
            "images_per_second": len(batch) / seconds,
        }
    # Training seconds only where they are comparable: the full recipes, trained in the
    # main process with all cores (chapters 04 and 07); pooled runs train on one core
    # each.
    for name in ("CNN recipe", "ViT recipe"):
        out[name]["table"]["train_seconds"] = runs[name][0].history.seconds
    return out
