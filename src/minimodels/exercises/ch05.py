"""Exercise checks of chapter 05 (Patch embedding)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from einops import rearrange

from ..patches import linear_to_conv_weight, patchify
from ..shapes import format_shape
from .core import ExerciseError, call, compare, passed

__all__ = ["check_patchify", "check_linear_to_conv", "check_patch_embedding_size"]


# (B, C, H, W, P): square and non-square images, one and several channels, P = 1.
_PATCHIFY_CASES = [
    (2, 1, 28, 28, 7),
    (1, 3, 8, 12, 4),
    (2, 2, 6, 9, 3),
    (1, 3, 10, 4, 2),
    (1, 1, 3, 5, 1),
]

# Layouts a patchify can plausibly get wrong, each with what to say about it.
_PATCHIFY_MISTAKES = [
    (
        "b c (h p1) (w p2) -> b (h w) (c p1 p2)",
        "the values of a patch are flattened channel first. ViT (and this course) "
        "flattens each patch as (p1 p2 c): pixel rows, then pixel columns, with the "
        "C channels of a pixel side by side.",
    ),
    (
        "b c (h p1) (w p2) -> b (h w) (p2 p1 c)",
        "within a patch the pixel columns come before the rows. "
        "Flatten a patch row by row: (p1 p2 c).",
    ),
    (
        "b c (h p1) (w p2) -> b (w h) (p1 p2 c)",
        "the tokens are in column order. Token n must be the patch in grid row "
        "n // (W/P), column n % (W/P): (h w).",
    ),
    (
        "b c (p1 h) (p2 w) -> b (h w) (p1 p2 c)",
        "each 'patch' collects pixels P apart, spread over the whole image. "
        "In the pattern the grid index comes first and the position inside the "
        "patch second: (h p1), not (p1 h).",
    ),
]


def check_patchify(patchify_fn: Callable) -> None:
    """Chapter 05, cutting images into patches.

    Verifies that ``patchify_fn(images, patch_size)`` turns ``(B, C, H, W)``
    images into ``(B, N, P*P*C)`` patches, N = (H/P)(W/P), with the layout of
    :func:`minimodels.patches.patchify`: tokens row by row, each patch
    flattened as (pixel row, pixel column, channel). Tried on five batches:
    square and non-square images, C = 1, 2 and 3, P = 1, 2, 3, 4 and 7, so a
    hard-coded size, a swapped height and width, channels flattened first, or
    tokens in column order is caught and named.
    """
    g = torch.Generator().manual_seed(5)
    for B, C, H, W, P in _PATCHIFY_CASES:
        images = torch.rand(B, C, H, W, generator=g, dtype=torch.float64)
        what = (
            f"patchify on images of shape {format_shape(images.shape)} "
            f"with patch_size={P}"
        )
        got = call(patchify_fn, images.clone(), P, name="patchify")
        expected = patchify(images, P)
        if (
            isinstance(got, torch.Tensor)
            and got.shape == expected.shape
            and not torch.equal(got.to(expected.dtype), expected)
        ):
            for pattern, advice in _PATCHIFY_MISTAKES:
                alternative = rearrange(images, pattern, p1=P, p2=P)
                if torch.equal(got.to(expected.dtype), alternative) and not torch.equal(
                    alternative, expected
                ):
                    raise ExerciseError(f"{what}: right shape, but {advice}")
        compare(
            got,
            expected,
            name=what,
            atol=0,
            rtol=0,
            hint=(
                f"expected (B, N, P*P*C) = {format_shape(expected.shape)}: "
                f"N = (H/P)(W/P) = {H // P}*{W // P} tokens of P*P*C = {P * P * C} "
                "values; read H, W and C from images.shape."
            ),
        )
    passed(
        "patchify",
        "same patches as minimodels.patches.patchify on "
        f"{len(_PATCHIFY_CASES)} batches, square and not, with 1 to 3 channels.",
    )


# (D, P, C): one channel (where channel order cannot show), several, P = 1.
_CONV_CASES = [(8, 4, 1), (5, 2, 3), (6, 3, 2), (4, 1, 3), (3, 7, 3)]


def check_linear_to_conv(linear_to_conv: Callable) -> None:
    """Chapter 05, a patch embedding's weight as a convolution kernel.

    Verifies that ``linear_to_conv(weight, patch_size, channels)`` turns the
    ``(D, P*P*C)`` weight of a linear patch embedding into the ``(D, C, P, P)``
    kernel of the equivalent convolution (kernel size = stride = P): the same
    tensor as :func:`minimodels.patches.linear_to_conv_weight`, and therefore a
    convolution whose output equals the linear embedding of the patches. Tried
    with C = 1, 2 and 3 and P = 1 to 7, so a plain ``reshape(D, C, P, P)``,
    which is right only when C = 1, is caught and explained.
    """
    g = torch.Generator().manual_seed(6)
    for D, P, C in _CONV_CASES:
        weight = torch.randn(D, P * P * C, generator=g, dtype=torch.float64)
        what = (
            f"linear_to_conv on a ({D}, {P * P * C}) weight "
            f"with patch_size={P}, channels={C}"
        )
        got = call(linear_to_conv, weight.clone(), P, C, name="linear_to_conv")
        expected = linear_to_conv_weight(weight, P, C)
        if (
            isinstance(got, torch.Tensor)
            and got.shape == expected.shape
            and not torch.equal(got.to(weight.dtype), expected)
        ):
            if torch.equal(got.to(weight.dtype), weight.reshape(D, C, P, P)):
                raise ExerciseError(
                    f"{what}: a plain reshape to (D, C, P, P) reads the P*P*C values "
                    "as (c p1 p2), but patchify lays them out as (p1 p2 c), channels "
                    "last. (With C = 1 the two agree, which is why a reshape can "
                    "look right.) Use rearrange with 'd (p1 p2 c) -> d c p1 p2'."
                )
            if torch.equal(got.to(weight.dtype), expected.transpose(-1, -2)):
                raise ExerciseError(
                    f"{what}: the kernel is transposed: its last two axes must be "
                    "(p1, p2), pixel row then column."
                )
        compare(
            got,
            expected,
            name=what,
            atol=0,
            rtol=0,
            hint=(
                "the kernel has shape (D, C, P, P); the weight's P*P*C values per "
                "row are ordered (p1 p2 c)."
            ),
        )
        # The point of the exercise: the convolution now computes the linear
        # embedding.
        images = torch.rand(2, C, 2 * P, 3 * P, generator=g, dtype=torch.float64)
        tokens = patchify(images, P) @ weight.T  # (B, N, D)
        conv = (
            F.conv2d(images, got.to(weight.dtype), stride=P).flatten(2).transpose(1, 2)
        )  # (B, N, D)
        compare(conv, tokens, name=f"the convolution with your kernel ({what})")
    passed(
        "linear_to_conv",
        f"on {len(_CONV_CASES)} weights "
        "the convolution equals the linear patch embedding.",
    )


# (H, W, C, P, D): MNIST with this chapter's sizes, ViT-B/16 at 224 px, non-square,
# C = 2.
_SIZE_CASES = [
    (28, 28, 1, 4, 64),
    (28, 28, 1, 7, 32),
    (224, 224, 3, 16, 768),
    (32, 48, 3, 8, 10),
    (12, 20, 2, 2, 5),
]


def check_patch_embedding_size(patch_embedding_size: Callable) -> None:
    """Chapter 05, tokens and parameters of a patch embedding.

    Verifies that ``patch_embedding_size(height, width, channels, patch_size, dim)``
    returns the pair ``(N, parameters)``: ``N = (H/P)(W/P)`` tokens and
    ``D * P*P*C + D`` weights and biases of the linear embedding (positions
    not included). Tried on five configurations, among them ViT-B/16 at
    224 px and non-square images, so a square assumption, a forgotten bias or
    channel count, or parameters that depend on the image size are caught.
    """
    for H, W, C, P, D in _SIZE_CASES:
        expected = ((H // P) * (W // P), D * P * P * C + D)
        where = (
            f"patch_embedding_size(height={H}, width={W}, channels={C}, "
            f"patch_size={P}, dim={D})"
        )
        got = call(patch_embedding_size, H, W, C, P, D, name="patch_embedding_size")
        if got is None:
            raise ExerciseError(
                f"{where} returned None; expected the pair (N, parameters) = "
                f"{expected}. Did you forget `return`?"
            )
        try:
            pair = tuple(got)
        except TypeError:
            raise ExerciseError(
                f"{where} returned {got!r}; "
                f"expected a pair (N, parameters) = {expected}."
            ) from None
        if len(pair) != 2:
            raise ExerciseError(
                f"{where} returned {len(pair)} values {got!r}; "
                f"expected a pair (N, parameters) = {expected}."
            )
        n, params = pair
        if n != expected[0]:
            hint = " The grid has H/P rows and W/P columns of patches."
            if n == (H // P) ** 2 or n == (W // P) ** 2:
                hint = " The image is not always square: use both height and width."
            elif n == H * W // P:
                hint = " Each patch covers P*P pixels, so N = H*W / P**2."
            raise ExerciseError(
                f"{where}: the number of tokens should be {expected[0]}, "
                f"got {n!r}.{hint}"
            )
        if params != expected[1]:
            hint = ""
            if params == D * P * P * C:
                hint = " Did you forget the bias (one per output feature, D in all)?"
            elif params == D * P * P + D:
                hint = " Each patch holds P*P*C values: count the channels."
            elif params == expected[1] * n or params == D * (P * P * C + 1) * n:
                hint = (
                    " The same weights serve every patch: "
                    "the count does not depend on N."
                )
            raise ExerciseError(
                f"{where}: the embedding should have {expected[1]} parameters, "
                f"got {params!r}.{hint}"
            )
    passed(
        "patch_embedding_size",
        f"correct on {len(_SIZE_CASES)} configurations, ViT-B/16 included.",
    )
