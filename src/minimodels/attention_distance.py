"""Mean attention distance: how far a ViT's heads look.

Used in chapter 08 (Locality and long range).

Dosovitskiy et al. (2021, fig. 7 right, and appendix D.7) measure, for every
head of every block, the distance in pixels between a query patch and the
patches it attends to, weighted by the attention weights and averaged over
queries and images: "analogous to receptive field size in CNNs". Some heads
in the first blocks already look across most of the image, others stay
local; with depth all heads look far. A CNN's first layer, by construction,
looks only K / 2 pixels away.

:func:`mean_attention_distance` computes it for a :class:`~minimodels.vit.ViT`
from ``model.features(images)["attention"]``; :func:`attention_distance` does
the same for one block's weights, and :func:`patch_distances` holds the
distances between patch centres.
"""

from __future__ import annotations

import torch
from torch import nn

from .shapes import check_images
from .train import eval_mode

__all__ = ["patch_distances", "attention_distance", "mean_attention_distance"]


def patch_distances(grid_size: int, patch_size: int) -> torch.Tensor:
    """``(N, N)`` Euclidean distances in pixels between patch centres.

    The patches form a ``grid_size x grid_size`` grid: patch ``n`` sits in row
    ``n // grid_size``, column ``n % grid_size`` (the order of
    :func:`~minimodels.patches.patchify`); neighbouring centres are
    ``patch_size`` pixels apart.
    """
    rows, cols = torch.meshgrid(
        torch.arange(grid_size), torch.arange(grid_size), indexing="ij"
    )
    centres = (
        torch.stack([rows.flatten(), cols.flatten()], dim=1).double() * patch_size
    )  # (N, 2)
    return torch.cdist(centres, centres)  # (N, N)


def attention_distance(
    weights: torch.Tensor, patch_size: int, class_token: bool = False
) -> torch.Tensor:
    """Mean attention distance per head, in pixels, of one block's attention weights.

    ``weights`` has shape ``(B, h, T, T)``. For each patch query, the distance to
    every patch key weighted by its attention weight, summed; then the mean over
    queries and images: ``(h,)``. With ``class_token`` the first token is dropped
    as query and as key and each query's remaining weights are renormalised to
    sum to 1, so the number says where among the *patches* a head looks.
    """
    if weights.ndim != 4 or weights.shape[-1] != weights.shape[-2]:
        raise ValueError(
            "attention_distance expects weights of shape (B, h, T, T), "
            f"got shape {tuple(weights.shape)}"
        )
    if class_token:
        weights = weights[..., 1:, 1:]
        weights = weights / weights.sum(
            dim=-1, keepdim=True
        )  # renormalise over the patch keys
    N = weights.shape[-1]
    grid_size = round(N**0.5)
    if grid_size * grid_size != N:
        which = (
            "after dropping the class token" if class_token else "without a class token"
        )
        raise ValueError(
            "attention_distance expects the patch tokens of a square grid, "
            f"got {N} tokens ({which})"
        )
    distances = patch_distances(grid_size, patch_size).to(
        weights.device, weights.dtype
    )  # (N, N)
    per_query = (weights * distances).sum(
        dim=-1
    )  # (B, h, N): each query's expected distance
    return per_query.mean(dim=(0, 2))  # (h,)


@torch.no_grad()
def mean_attention_distance(
    model: nn.Module, images: torch.Tensor, batch_size: int = 256
) -> torch.Tensor:
    """``(depth, heads)`` mean attention distances in pixels of a ViT on ``images``.

    Patches are ``model.patch_size`` pixels apart (also with a convolutional
    stem, whose tokens still sit on that grid), so values lie between 0 (every
    patch attends to itself) and the grid's diagonal, ``(H / P - 1) P sqrt(2)``.
    Runs in eval mode, ``batch_size`` images at a time; the result is on the CPU.
    """
    check_images(images, "mean_attention_distance")
    device = next(model.parameters()).device
    class_token = getattr(model, "cls_token", None) is not None
    total = None
    with eval_mode(model):
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size].to(device)
            attention = model.features(batch)["attention"]  # depth x (b, h, T, T)
            per_block = torch.stack(
                [
                    attention_distance(w, model.patch_size, class_token)
                    for w in attention
                ]
            )  # (depth, h)
            total = (
                per_block * len(batch)
                if total is None
                else total + per_block * len(batch)
            )
    return (total / len(images)).cpu()
