"""Chapter 08: receptive fields against attention distances, how much each token
mixes with the others, and a task that needs long-range information."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..data import load_mnist5k
from .results import Interval, cached_result, over_seeds
from .runner import SEEDS, request, train_groups

__all__ = [
    "DIAGONAL_MODELS",
    "DiagonalModel",
    "Locality",
    "diagonal_requests",
    "locality",
]

DIAGONAL_MODELS = {
    # name: (recipe, model arguments, epochs); tens of seconds per run on one core
    # (the chapter lists them)
    "local CNN": ("cnn-small", dict(widths=(16,), convs_per_stage=3), 10),
    "SmallCNN": ("cnn-small", {}, 10),
    "ViT": ("vit-small", dict(patch_size=14), 40),
}


def diagonal_requests(seeds=SEEDS) -> dict[str, list[dict]]:
    """The runs of chapter 08's long-range task, by model name."""
    return {
        name: [
            request(
                recipe,
                s,
                data="diagonal",
                max_shift=0,
                samples=None,
                model=model,
                training={"epochs": epochs},
            )
            for s in seeds
        ]
        for name, (recipe, model, epochs) in DIAGONAL_MODELS.items()
    }


@dataclass(frozen=True)
class DiagonalModel:
    """One model of the long-range task, over seeds."""

    test_acc: Interval
    parameters: int
    seconds: float  # mean training seconds per run (one core each)
    curves: list[list[float]]  # validation accuracy per seed, per epoch


@dataclass(frozen=True)
class Locality:
    """Chapter 08's measurements."""

    cnn_rf: list[tuple[str, int]]  # CNN recipe: (convolution, receptive field in px)
    vit_mad: list[
        list[float]
    ]  # ViT recipe: mean attention distance (px), per block, head
    image_size: int
    patch_size: int
    other_token_weight: list[float]  # per block: attention weight on the other tokens
    embed_vs_conv: float  # max |patch embedding - strided convolution|
    diagonal: dict[str, DiagonalModel]  # the long-range task, by model name


def locality(seeds=SEEDS, progress: bool = True) -> Locality:
    """Chapter 08: receptive fields vs attention distances, mixing, the long-range
    task."""
    return cached_result(
        "results-locality",
        {"seeds": list(seeds)},
        Locality,
        lambda: _locality(seeds, progress),
    )


def _locality(seeds, progress: bool) -> Locality:
    from ..attention_distance import mean_attention_distance
    from ..patches import linear_to_conv_weight
    from ..receptive_field import receptive_field

    runs = train_groups(
        {
            "CNN recipe": [request("cnn", 0)],
            "ViT recipe": [request("vit", 0)],
            **diagonal_requests(seeds),
        },
        progress=progress,
    )
    (cnn,), (vit,) = runs.pop("CNN recipe"), runs.pop("ViT recipe")
    images = load_mnist5k().test.tensors[0][:500]  # a class-balanced prefix
    stack = nn.Sequential(*cnn.model.stages)
    rf = [
        (layer.layer, layer.size)
        for layer in receptive_field(stack)
        if layer.layer.startswith("Conv")
    ]
    mad = mean_attention_distance(vit.model, images)  # (depth, heads), pixels
    with torch.no_grad():
        attn = vit.model.features(images)["attention"]  # per block (B, h, N, N)
        self_weight = [a.diagonal(dim1=-2, dim2=-1).mean().item() for a in attn]
        pe = vit.model.patch_embed
        P = vit.model.patch_size
        conv = torch.nn.functional.conv2d(
            images, linear_to_conv_weight(pe.proj.weight, P, 1), pe.proj.bias, stride=P
        )  # (B, D, H / P, W / P)
        embed_vs_conv = (
            (pe(images) - conv.flatten(2).transpose(1, 2)).abs().max().item()
        )
    return Locality(
        cnn_rf=rf,
        vit_mad=mad.tolist(),
        image_size=vit.model.image_size,
        patch_size=vit.model.patch_size,
        other_token_weight=[1 - w for w in self_weight],
        embed_vs_conv=embed_vs_conv,
        diagonal={
            name: DiagonalModel(
                test_acc=over_seeds(t.test_acc for t in ts),
                parameters=ts[0].parameters,
                seconds=over_seeds(t.history.seconds for t in ts).mean,
                curves=[t.history.val_acc for t in ts],
            )
            for name, ts in runs.items()
        },
    )
