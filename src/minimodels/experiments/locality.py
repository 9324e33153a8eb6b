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
    "DIAGONAL_EPOCHS",
    "DIAGONAL_MODELS",
    "ATTENTION_FREE",
    "AttentionAblation",
    "DiagonalModel",
    "Locality",
    "diagonal_requests",
    "locality",
]

# The long-range task's models, trained alike: the same 4,000 images, batches of 64 and
# epochs, so equal optimiser steps for both families (the ViT needs about 40 epochs;
# the CNN fewer, but gets as many). The ViT with the recipe's patch size (7 px: 16
# tokens) and with the quadrants as patches (14 px: 4 tokens); for each patch size the
# attention-free control: the same patches embedded, positions added, then averaged,
# with no attention (depth 0). If a control scores well above chance, the task is
# not long-range for that patch size.
DIAGONAL_EPOCHS = 40
DIAGONAL_MODELS = {
    # name: (recipe, model arguments)
    "SmallCNN": ("cnn-small", {}),
    "ViT, 7 px patches": ("vit-small", dict(patch_size=7)),
    "ViT, 14 px patches": ("vit-small", dict(patch_size=14)),
    "no attention, 7 px patches": ("vit-small", dict(patch_size=7, depth=0)),
    "no attention, 14 px patches": ("vit-small", dict(patch_size=14, depth=0)),
}
# each ViT beside its attention-free control
ATTENTION_FREE = {
    "ViT, 7 px patches": "no attention, 7 px patches",
    "ViT, 14 px patches": "no attention, 14 px patches",
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
                training={"epochs": DIAGONAL_EPOCHS},
            )
            for s in seeds
        ]
        for name, (recipe, model) in DIAGONAL_MODELS.items()
    }


@dataclass(frozen=True)
class DiagonalModel:
    """One model of the long-range task, over seeds."""

    test_acc: Interval
    parameters: int
    seconds: float  # mean training seconds per run (one core each)
    curves: list[list[float]]  # validation accuracy per seed, per epoch


@dataclass(frozen=True)
class AttentionAblation:
    """The ViT recipe's test accuracy with learned attention weights replaced by a
    null pattern at test time (:mod:`minimodels.attention_ablation`)."""

    intact: float  # nothing replaced
    per_block: dict[str, list[float]]  # mode -> accuracy with block i's replaced
    all_blocks: dict[str, float]  # mode -> accuracy with every block's replaced


@dataclass(frozen=True)
class Locality:
    """Chapter 08's measurements. Each attention statistic of the trained ViT recipe
    comes with its null baselines: the same network untrained (seed 0, as built) and
    uniform attention."""

    cnn_rf: list[tuple[str, int]]  # CNN recipe: (convolution, receptive field, px)
    # CNN recipe, per stage: linear-probe test accuracy of its features averaged over
    # positions (probes.linear_probe); the same stages untrained: the null
    cnn_probe: list[float]
    untrained_cnn_probe: list[float]
    vit_mad: list[list[float]]  # ViT recipe: mean attention distance, px, (block, head)
    untrained_mad: list[list[float]]  # the same, untrained
    uniform_mad: float  # attention spread evenly over all patches
    image_size: int
    patch_size: int
    other_token_weight: list[float]  # per block: attention weight on other tokens
    untrained_other_token_weight: list[float]
    uniform_other_token_weight: float  # (N - 1) / N
    ablation: AttentionAblation
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


def _attention_ablation(vit: nn.Module, test) -> AttentionAblation:
    from ..attention_ablation import ATTENTION_NULLS, replaced_attention
    from ..train import evaluate

    def accuracy() -> float:
        return evaluate(vit, test)[1]

    blocks = range(len(vit.blocks))
    per_block, all_blocks = {}, {}
    for mode in ATTENTION_NULLS:
        per_block[mode] = []
        for b in blocks:
            with replaced_attention(vit, [b], mode):
                per_block[mode].append(accuracy())
        with replaced_attention(vit, blocks, mode):
            all_blocks[mode] = accuracy()
    return AttentionAblation(accuracy(), per_block, all_blocks)


def _other_token_weight(vit: nn.Module, images: torch.Tensor) -> list[float]:
    """Per block: the mean attention weight a token puts on the other tokens."""
    with torch.no_grad():
        attn = vit.features(images)["attention"]  # per block (B, h, N, N)
    return [1 - a.diagonal(dim1=-2, dim2=-1).mean().item() for a in attn]


def _locality(seeds, progress: bool) -> Locality:
    from .. import recipes
    from ..attention_distance import mean_attention_distance, patch_distances
    from ..patches import linear_to_conv_weight
    from ..probes import linear_probe, pooled_stages
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
    split = load_mnist5k()  # read (and its checksum verified) once
    images = split.test.tensors[0][:500]  # a class-balanced prefix
    stack = nn.Sequential(*cnn.model.stages)
    rf = [
        (layer.layer, layer.size)
        for layer in receptive_field(stack)
        if layer.layer.startswith("Conv")
    ]
    mad = mean_attention_distance(vit.model, images)  # (depth, heads), pixels
    untrained = recipes.build("vit", 0).model.eval()  # the null: as initialised
    grid = vit.model.image_size // vit.model.patch_size
    tokens = vit.model.num_patches
    with torch.no_grad():
        pe = vit.model.patch_embed
        P = vit.model.patch_size
        conv = torch.nn.functional.conv2d(
            images, linear_to_conv_weight(pe.proj.weight, P, 1), pe.proj.bias, stride=P
        )  # (B, D, H / P, W / P)
        embed_vs_conv = (
            (pe(images) - conv.flatten(2).transpose(1, 2)).abs().max().item()
        )
    probes = {}
    for name, net in (
        ("trained", cnn.model),
        ("untrained", recipes.build("cnn", 0).model),
    ):
        train_f = pooled_stages(net, split.train.tensors[0])
        test_f = pooled_stages(net, split.test.tensors[0])
        probes[name] = [
            linear_probe(a, split.train.tensors[1], b, split.test.tensors[1])
            for a, b in zip(train_f, test_f)
        ]
    return Locality(
        cnn_rf=rf,
        cnn_probe=probes["trained"],
        untrained_cnn_probe=probes["untrained"],
        vit_mad=mad.tolist(),
        untrained_mad=mean_attention_distance(untrained, images).tolist(),
        uniform_mad=patch_distances(grid, vit.model.patch_size).mean().item(),
        image_size=vit.model.image_size,
        patch_size=vit.model.patch_size,
        other_token_weight=_other_token_weight(vit.model, images),
        untrained_other_token_weight=_other_token_weight(untrained, images),
        uniform_other_token_weight=(tokens - 1) / tokens,
        ablation=_attention_ablation(vit.model, split.test),
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
