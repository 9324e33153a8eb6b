"""Chapter 09: accuracy against parameters and FLOPs for both families."""

from __future__ import annotations

import math
from dataclasses import asdict

from .. import recipes
from ..cache import cached
from ..train import count_parameters
from .runner import SEEDS, request, train_groups
from .seeds import stats

__all__ = [
    "CNN_WIDTHS",
    "VIT_DIMS",
    "size_family_requests",
    "parameter_efficiency",
    "params_to_match",
]

CNN_WIDTHS = (4, 8, 16)  # SmallCNN widths (w, 2w, 4w)
VIT_DIMS = (16, 32, 64)  # ViT widths D (2 blocks, D / 16 heads, MLP 2D)


def size_family_requests(seeds=SEEDS) -> dict[str, list[dict]]:
    """Chapter 09's families: three sizes each, no augmentation, experiment budget."""
    out = {}
    for w in CNN_WIDTHS:
        out[f"CNN w{w}"] = [
            request("cnn-small", s, model={"widths": (w, 2 * w, 4 * w)}) for s in seeds
        ]
    for d in VIT_DIMS:
        model = {"dim": d, "heads": max(1, d // 16), "mlp_dim": 2 * d}
        out[f"ViT D{d}"] = [request("vit-small", s, model=model) for s in seeds]
    return out


def parameter_efficiency(seeds=SEEDS, progress: bool = True) -> dict:
    """Chapter 09: accuracy against parameters and FLOPs for both families;
    torchvision's references."""
    return cached(
        "results-parameters",
        {"seeds": list(seeds)},
        lambda: _parameter_efficiency(seeds, progress),
    )


def _parameter_efficiency(seeds, progress: bool) -> dict:
    from ..flops import count_flops, reference_models
    from ..vit import ViT

    rows = []
    for name, runs in train_groups(
        size_family_requests(seeds), progress=progress
    ).items():
        model = runs[0].model
        rows.append(
            {
                "name": name,
                "family": "CNN" if name.startswith("CNN") else "ViT",
                "parameters": runs[0].parameters,
                "flops": count_flops(model, (1, 1, 28, 28)),
                "images_seen": runs[0].images_seen,
                **stats([t.test_acc for t in runs]),
                "val": stats([t.val_acc for t in runs]),
                "curves": [t.history.val_acc for t in runs],
                "curve_epochs": runs[0].history.val_epochs,
            }
        )
    # Weight sharing in a ViT: the same blocks serve any number of tokens; only the
    # position table grows with the image.
    vit_args = recipes.RECIPES["vit"].model
    small, large = ViT(**vit_args, image_size=28), ViT(**vit_args, image_size=56)
    growth = count_parameters(large) - count_parameters(small)
    position_growth = large.pos_embedding.numel() - small.pos_embedding.numel()
    refs = [asdict(r) for r in reference_models()]
    return {
        "rows": rows,
        "vit_growth_28_to_56": growth,
        "position_growth_28_to_56": position_growth,
        "references": refs,
    }


def params_to_match(rows: list[dict], family: str, accuracy: float) -> float | None:
    """Parameters ``family`` needs to reach ``accuracy``: log-linear interpolation
    between its sizes.

    None when no size of the family reaches it (then the family needs more than its
    largest).
    """
    pts = sorted((r["parameters"], r["mean"]) for r in rows if r["family"] == family)
    for (p0, a0), (p1, a1) in zip(pts, pts[1:]):
        if a0 >= accuracy:
            return float(p0)
        if a0 < accuracy <= a1:
            t = (accuracy - a0) / (a1 - a0)
            return float(math.exp(math.log(p0) + t * (math.log(p1) - math.log(p0))))
    return float(pts[0][0]) if pts and pts[0][1] >= accuracy else None
