"""A convolutional stem for the ViT: the hybrid model. Used in chapters 09 and 11.

A ViT's linear patch embedding (:class:`~minimodels.patches.PatchEmbedding`)
sees each ``P x P`` patch once, through one matrix, with a stride as large as
its kernel. Xiao et al. (2021, "Early convolutions help transformers see
better") replace it by a few small stride-2 convolutions and find the ViT
trains faster, more stably and more accurately for the same compute.

:class:`ConvStem` is that idea in this course's CNN vocabulary: ``log2(P)``
stages of ``[3x3 conv -> BatchNorm -> ReLU -> 2x2 max pool]`` (the stage of
:class:`~minimodels.cnn.SmallCNN`), each halving H and W, so after the last
one every position stands for one ``P x P`` patch and the map flattens into
the same ``(B, N, D)`` tokens, in the same row-by-row order, that the patch
embedding gives. Positions, blocks and pooling after it are unchanged. (Xiao
et al. downsample with stride-2 convolutions and end with a 1x1 convolution;
pooling keeps the stem built from the pieces of chapters 02-04.)

``ViT(embedding=ConvStem(P, C, D))`` uses it (the ViT takes any module that
turns images into ``(B, N, D)`` tokens; ``recipes.build`` makes one from the
recipe entry ``"stem": "conv"``). Chapter 09 counts what it costs in parameters
and FLOPs; chapter 11 measures what it buys with little data.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor, nn

from .conv import Conv2d
from .pooling import KERNELS, MaxPool2d
from .shapes import check_images

__all__ = ["ConvStem", "conv_stem_parameters"]


def _stages(patch_size: int) -> int:
    if patch_size < 2 or patch_size & (patch_size - 1):
        raise ValueError(
            "a convolutional stem halves H and W once per stage, "
            "so the patch size must be a power of two "
            f"(2, 4, 8, ...), got {patch_size}"
        )
    return patch_size.bit_length() - 1  # log2(P)


def _widths(patch_size: int, dim: int) -> list[int]:
    """Channels of each stage: D / 2 for all but the last, D for the last."""
    return [dim // 2] * (_stages(patch_size) - 1) + [dim]


def conv_stem_parameters(patch_size: int, in_channels: int, dim: int) -> int:
    """Parameter count of ``ConvStem(patch_size, in_channels, dim)``, from its widths.

    Each stage: ``9 C_in C_out`` kernel weights (no bias: BatchNorm's shift
    replaces it) plus ``2 C_out`` BatchNorm scales and shifts.
    """
    total, c = 0, in_channels
    for width in _widths(patch_size, dim):
        total += 9 * c * width + 2 * width
        c = width
    return total


class ConvStem(nn.Module):
    """``(B, C, H, W)`` images -> ``(B, N, D)`` tokens, ``N = H W / P^2``.

    The images go through ``log2(P)`` conv stages.

    patch_size: P, a power of two; in_channels: C; dim: D, the width of the
    tokens (earlier stages have D / 2 channels). kernels: "ours" builds the
    convolutions and pools from :mod:`minimodels.conv` and
    :mod:`minimodels.pooling`, "torch" from ``torch.nn`` (the same function
    and parameter names, faster).
    """

    def __init__(
        self, patch_size: int, in_channels: int, dim: int, *, kernels: str = "ours"
    ):
        super().__init__()
        widths = _widths(patch_size, dim)  # checks patch_size
        if kernels not in KERNELS:
            raise ValueError(f"kernels must be one of {KERNELS}, got {kernels!r}")
        if dim < 2:
            raise ValueError(
                "ConvStem needs dim of at least 2 "
                f"(earlier stages have dim // 2 channels), got {dim}"
            )
        self.patch_size, self.in_channels, self.dim = patch_size, in_channels, dim
        conv = Conv2d if kernels == "ours" else nn.Conv2d
        downsample = MaxPool2d if kernels == "ours" else nn.MaxPool2d
        layers: list[nn.Module] = []
        c = in_channels
        for width in widths:
            layers += [
                conv(c, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(),
                downsample(2),
            ]
            c = width
        self.layers = nn.Sequential(*layers)
        # As in SmallCNN: torch's kernels are faster in channels-last order.
        self.channels_last = kernels == "torch"
        if self.channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, images: Tensor) -> Tensor:
        check_images(
            images, "ConvStem", channels=self.in_channels, divisible_by=self.patch_size
        )
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        maps = self.layers(images)  # (B, D, H / P, W / P)
        return rearrange(
            maps, "b d h w -> b (h w) d"
        )  # (B, N, D), row by row as patchify
