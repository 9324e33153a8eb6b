"""Exercise checks of chapter 01 (Images as tensors)."""

from __future__ import annotations

from typing import Callable

import torch

from .core import call, compare, passed

__all__ = ["check_mean_images"]


def _mean_images_reference(
    images: torch.Tensor, labels: torch.Tensor, num_classes: int
) -> torch.Tensor:
    return torch.stack([images[labels == k, 0].mean(0) for k in range(num_classes)])


def check_mean_images(
    mean_images: Callable, images: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Chapter 01, mean image per digit.

    Verifies that ``mean_images(images, labels)`` returns a ``(10, H, W)``
    tensor whose row ``k`` is the pixel-wise mean of the images labelled ``k``:
    on the given MNIST images, and on a small random batch with a different
    size (so a hard-coded 28 or 4,000 is caught). Returns the result on the
    given images, for plotting.
    """
    g = torch.Generator().manual_seed(1)
    small_labels = torch.arange(30) % 10
    small = torch.rand(30, 1, 5, 7, generator=g)
    for x, y, what in [
        (small, small_labels, "a random (30, 1, 5, 7) batch"),
        (images, labels, "MNIST"),
    ]:
        got = call(mean_images, x, y, name="mean_images")
        compare(
            got,
            _mean_images_reference(x, y, 10),
            name=f"mean_images on {what}",
            hint=(
                "select the images of one digit with a boolean mask, labels == k, "
                "then average over dim 0."
            ),
        )
    passed("mean_images", "correct on a random batch and on MNIST.")
    return got
