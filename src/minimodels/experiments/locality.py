"""Chapter 08: receptive fields against attention distances, how much each token
mixes with the others, and a task that needs long-range information."""

from __future__ import annotations

import torch
from torch import nn

from ..cache import cached
from ..data import load_mnist5k
from .runner import SEEDS, request, train_groups
from .seeds import stats, summarise

__all__ = ["DIAGONAL_MODELS", "diagonal_requests", "locality"]

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


def locality(seeds=SEEDS, progress: bool = True) -> dict:
    """Chapter 08: receptive fields vs attention distances, mixing, the long-range
    task."""
    return cached(
        "results-locality", {"seeds": list(seeds)}, lambda: _locality(seeds, progress)
    )


def _locality(seeds, progress: bool) -> dict:
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
    return {
        "cnn_rf": rf,
        "vit_mad": mad.tolist(),
        "image_size": vit.model.image_size,
        "patch_size": vit.model.patch_size,
        "other_token_weight": [1 - w for w in self_weight],
        "embed_vs_conv": embed_vs_conv,
        "diagonal": {
            name: {
                **stats([t.test_acc for t in ts]),
                "parameters": ts[0].parameters,
                "seconds": summarise([t.history.seconds for t in ts])[0],
                "curves": [t.history.val_acc for t in ts],
            }
            for name, ts in runs.items()
        },
    }
