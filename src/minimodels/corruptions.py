"""Corrupted test images, seeded. Used in chapter 12 (Robustness and performance).

Chapter 12 asks how CNNs and ViTs degrade when test images are damaged in ways
training never showed them, in the spirit of Hendrycks & Dietterich (2019)'s
corruption benchmarks and of Naseer et al. (2021, "Intriguing properties of
vision transformers"), who occlude and drop patches:

* :func:`gaussian_noise`: additive pixel noise, clipped back to [0, 1];
* :func:`gaussian_blur`: a separable Gaussian low-pass filter;
* :func:`occlude_patches`: black out a random fraction of the P x P patches;
* :func:`random_patch_subsets`: random sets of patch indices to *keep*, for
  ``ViT.forward(x, keep=...)`` (token dropping: the ViT never sees the rest,
  instead of seeing black patches).

Every random function takes a ``seed`` and draws from its own generator, so a
corruption is the same for every model compared and on every rerun, and does
not disturb the global random state that ``fit`` seeds.
"""

from __future__ import annotations

import math

import torch
from einops import repeat

from .conv import pad2d
from .shapes import check_images

__all__ = [
    "gaussian_noise",
    "gaussian_kernel1d",
    "gaussian_blur",
    "occlude_patches",
    "random_patch_subsets",
]


def _check_fraction(fraction: float, name: str) -> None:
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {fraction}")


def _count(fraction: float, total: int) -> int:
    """``fraction * total`` rounded to the nearest int, halves up (0.5 * 49 -> 25)."""
    return math.floor(fraction * total + 0.5)


def _generator(seed: int) -> torch.Generator:
    # A CPU generator whatever the images' device: the same seed gives the same
    # corruption on a laptop and on a GPU.
    return torch.Generator().manual_seed(seed)


def gaussian_noise(images: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    """``clip(images + sigma * noise, 0, 1)``; noise: standard normal, from ``seed``.

    images: ``(B, C, H, W)`` in [0, 1]; sigma: the noise's standard deviation,
    in the same units (0.1 is a tenth of the full intensity range).
    """
    check_images(images, "gaussian_noise")
    if sigma < 0:
        raise ValueError(f"gaussian_noise: sigma must be at least 0, got {sigma}")
    noise = torch.randn(
        images.shape, generator=_generator(seed), dtype=images.dtype
    ).to(images.device)
    return (images + sigma * noise).clamp(0.0, 1.0)


def gaussian_kernel1d(sigma: float, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The sampled, normalised Gaussian ``exp(-i^2 / (2 sigma^2))``.

    Sampled for ``i = -r .. r``, ``r = ceil(3 sigma)``. Three standard deviations hold
    99.7% of the mass. torchvision builds the same kernel from ``kernel_size = 2r + 1``
    and ``sigma``.
    """
    if sigma <= 0:
        raise ValueError(f"gaussian_kernel1d: sigma must be positive, got {sigma}")
    radius = math.ceil(3 * sigma)
    i = torch.arange(-radius, radius + 1, dtype=dtype)
    kernel = torch.exp(-(i**2) / (2 * sigma**2))
    return kernel / kernel.sum()  # (2r + 1,)


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur each channel with a Gaussian of standard deviation ``sigma`` pixels.

    ``sigma = 0`` returns ``images``. The 2-D Gaussian is the outer product of two 1-D
    ones, so it is applied as a pass along H then one along W: ``2 (2r + 1)``
    multiply-adds per pixel instead of ``(2r + 1)^2``. The border is reflected, as
    ``torchvision.transforms.functional.gaussian_blur`` does (tests compare the two with
    ``kernel_size = 2 ceil(3 sigma) + 1``); the radius must be smaller than the image.
    """
    B, C, H, W = check_images(images, "gaussian_blur")
    if sigma < 0:
        raise ValueError(f"gaussian_blur: sigma must be at least 0, got {sigma}")
    if sigma == 0:
        return images
    kernel = gaussian_kernel1d(sigma, images.dtype).to(images.device)  # (K,)
    radius = len(kernel) // 2
    if radius >= min(H, W):
        raise ValueError(
            f"gaussian_blur: sigma {sigma} needs a kernel radius of "
            f"ceil(3 sigma) = {radius} pixels, "
            "which reflect padding allows only for images larger than "
            f"{radius}x{radius}; got {H}x{W}"
        )
    x = pad2d(images, radius, "reflect")  # (B, C, H + 2r, W + 2r)
    x = (
        x.unfold(2, len(kernel), 1) @ kernel
    )  # windows along H: (B, C, H, W + 2r, K) @ (K,) -> (B, C, H, W + 2r)
    return x.unfold(3, len(kernel), 1) @ kernel  # (B, C, H, W)


def occlude_patches(
    images: torch.Tensor, fraction: float, patch_size: int = 4, seed: int = 0
) -> torch.Tensor:
    """Set a random ``fraction`` of each image's non-overlapping ``P x P`` patches to 0.

    Every image gets its own random set of ``round(fraction * N)`` patches
    (``N = H W / P^2``), drawn from ``seed``. With ``P`` equal to a ViT's patch
    size the blacked-out regions are whole tokens (Naseer et al. 2021 occlude
    this way).
    """
    B, C, H, W = check_images(images, "occlude_patches", divisible_by=patch_size)
    _check_fraction(fraction, "occlude_patches: fraction")
    grid_h, grid_w = H // patch_size, W // patch_size
    N = grid_h * grid_w
    order = torch.rand(B, N, generator=_generator(seed)).argsort(
        dim=1
    )  # a random permutation per image
    keep = torch.ones(B, N, dtype=images.dtype)
    keep.scatter_(
        1, order[:, : _count(fraction, N)], 0.0
    )  # (B, N): 0 for occluded patches
    mask = repeat(
        keep, "b (h w) -> b 1 (h p1) (w p2)", h=grid_h, p1=patch_size, p2=patch_size
    )  # (B, 1, H, W)
    return images * mask.to(images.device)


def random_patch_subsets(
    batch: int, num_patches: int, keep_fraction: float, seed: int = 0
) -> torch.Tensor:
    """For each of ``batch`` images, a random set of patch indices to keep.

    Returns ``(B, M)`` int64, each row sorted: ``M = round(keep_fraction * N)``
    (at least 1) distinct indices in ``[0, N)``, ``N = num_patches``, each row its
    own draw from ``seed``. Pass it to
    ``ViT.forward(x, keep=...)`` to drop the other patch tokens.
    """
    if batch < 1 or num_patches < 1:
        raise ValueError(
            "random_patch_subsets: batch and num_patches must be at least 1, "
            f"got {batch} and {num_patches}"
        )
    _check_fraction(keep_fraction, "random_patch_subsets: keep_fraction")
    M = max(1, _count(keep_fraction, num_patches))
    order = torch.rand(batch, num_patches, generator=_generator(seed)).argsort(dim=1)
    return order[:, :M].sort(dim=1).values  # (B, M)
