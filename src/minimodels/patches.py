"""Images as sequences of patches. Built in chapter 05 (Patch embedding).

A Vision Transformer (Dosovitskiy et al. 2021, sec. 3.1, eq. 1) cuts an image
of ``H x W`` pixels into ``N = H*W / P^2`` non-overlapping ``P x P`` patches,
flattens each into a vector of ``P*P*C`` numbers and maps it linearly to a
``D``-dimensional token. The same linear map serves every patch, so this is
exactly a convolution with kernel size = stride = P (:func:`linear_to_conv_weight`
converts one into the other); chapter 05 shows the outputs are equal.

Position embeddings tell the model where each token came from: learned
(ViT's choice) or the fixed 2-D sine-cosine table of :func:`sincos_position_embedding`.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from .shapes import check_images

__all__ = [
    "patchify",
    "unpatchify",
    "linear_to_conv_weight",
    "PatchEmbedding",
    "sincos_position_embedding",
]


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """``(B, C, H, W)`` images -> ``(B, N, P*P*C)`` flattened patches, row by row.

    Token ``n`` is the patch in grid row ``n // (W/P)``, column ``n % (W/P)``.
    """
    check_images(images, "patchify", divisible_by=patch_size)
    return rearrange(
        images, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch_size, p2=patch_size
    )


def unpatchify(
    patches: torch.Tensor, patch_size: int, height: int, width: int
) -> torch.Tensor:
    """Inverse of :func:`patchify`: ``(B, N, P*P*C)`` -> ``(B, C, H, W)``."""
    if patches.ndim != 3:
        raise ValueError(
            "unpatchify expects patches of shape (B, N, P*P*C), "
            f"got shape {tuple(patches.shape)}"
        )
    if height % patch_size or width % patch_size:
        raise ValueError(
            f"unpatchify: image size {height}x{width} is not divisible "
            f"by patch size {patch_size}"
        )
    grid_h, grid_w = height // patch_size, width // patch_size
    B, N, F = patches.shape
    if N != grid_h * grid_w or F % (patch_size * patch_size):
        raise ValueError(
            f"unpatchify: {N} patches of {F} values do not tile a {height}x{width} "
            f"image with {patch_size}x{patch_size} patches "
            f"(expected {grid_h * grid_w} patches of P*P*C values)"
        )
    return rearrange(
        patches,
        "b (h w) (p1 p2 c) -> b c (h p1) (w p2)",
        h=grid_h,
        p1=patch_size,
        p2=patch_size,
    )


def linear_to_conv_weight(
    weight: torch.Tensor, patch_size: int, channels: int
) -> torch.Tensor:
    """A patch embedding's ``(D, P*P*C)`` weight as a ``(D, C, P, P)`` conv kernel.

    With kernel size = stride = P, the convolution with this kernel computes
    the same numbers as the linear map applied to :func:`patchify`'s output.
    """
    return rearrange(
        weight, "d (p1 p2 c) -> d c p1 p2", p1=patch_size, p2=patch_size, c=channels
    )


class PatchEmbedding(nn.Module):
    """Linear patch embedding: ``(B, C, H, W)`` -> ``(B, N, D)`` tokens.

    ViT eq. 1, without positions.
    """

    def __init__(self, patch_size: int, in_channels: int, dim: int):
        super().__init__()
        self.patch_size, self.in_channels = patch_size, in_channels
        self.proj = nn.Linear(patch_size * patch_size * in_channels, dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_images(
            images,
            "PatchEmbedding",
            channels=self.in_channels,
            divisible_by=self.patch_size,
        )
        return self.proj(patchify(images, self.patch_size))  # (B, N, D)


def sincos_position_embedding(
    grid_h: int, grid_w: int, dim: int, temperature: float = 10_000.0
) -> torch.Tensor:
    """Fixed 2-D sine-cosine position embeddings, ``(grid_h * grid_w, D)``.

    A quarter of the ``D`` features encodes the row with sines, a quarter with
    cosines, and the same for the column, at geometrically spaced frequencies
    (the 1-D scheme of Vaswani et al. 2017 applied per axis, as in Beyer et al.
    2022's "better plain ViT baselines"). ``D`` must be divisible by 4.
    """
    if dim % 4:
        raise ValueError(
            f"sincos_position_embedding needs dim divisible by 4, got {dim}"
        )
    rows, cols = torch.meshgrid(
        torch.arange(grid_h), torch.arange(grid_w), indexing="ij"
    )
    freqs = 1.0 / temperature ** (
        torch.arange(dim // 4) / (dim // 4 - 1 if dim > 4 else 1)
    )  # (D/4,)
    r = rows.flatten()[:, None] * freqs[None, :]  # (N, D/4)
    c = cols.flatten()[:, None] * freqs[None, :]
    return torch.cat([r.sin(), r.cos(), c.sin(), c.cos()], dim=1)  # (N, D)
