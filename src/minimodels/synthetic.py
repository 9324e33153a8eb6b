"""Seeded images of simple shapes, for experiments where we control everything.

Introduced in chapter 01; the translation, locality and data-efficiency chapters
use it because here, unlike in MNIST, we know where every object is and can move
it.

Each image is a single white shape (square, disc, triangle or cross) of random
size at a random position on a black ``size x size`` canvas. The label is the
shape. The same ``seed`` always gives the same images, positions and labels.
"""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

__all__ = ["SHAPES", "make_shapes", "draw_shapes"]

SHAPES = ("square", "disc", "triangle", "cross")


def draw_shapes(
    labels: torch.Tensor, centers: torch.Tensor, radii: torch.Tensor, size: int
) -> torch.Tensor:
    """Render shapes into ``(B, 1, size, size)`` float images with ink = 1.

    labels: ``(B,)`` index into :data:`SHAPES`; centers: ``(B, 2)`` integer
    (row, column) pixel of each shape's centre; radii: ``(B,)`` half-width in
    pixels. Exposed so experiments can redraw the same shape elsewhere.
    """
    if not (labels.shape[0] == centers.shape[0] == radii.shape[0]):
        raise ValueError(
            f"labels, centers and radii must have the same length, got "
            f"{labels.shape[0]}, {centers.shape[0]}, {radii.shape[0]}"
        )
    rows = torch.arange(size).view(1, size, 1)
    cols = torch.arange(size).view(1, 1, size)
    dy = (rows - centers[:, 0].view(-1, 1, 1)).float()  # (B, H, 1)
    dx = (cols - centers[:, 1].view(-1, 1, 1)).float()  # (B, 1, W)
    r = radii.view(-1, 1, 1).float()
    arm = torch.clamp(torch.round(r / 3), min=1)  # half-thickness of the cross's bars
    masks = torch.stack(
        [
            (dy.abs() <= r) & (dx.abs() <= r),  # square
            dy**2 + dx**2 <= r**2 + 0.5,  # disc (+0.5 rounds the rim outward)
            (dy.abs() <= r) & (2 * dx.abs() <= dy + r),  # triangle, apex up
            ((dy.abs() <= r) & (dx.abs() <= arm)) | ((dx.abs() <= r) & (dy.abs() <= arm)),  # cross
        ],
        dim=1,
    )  # (B, len(SHAPES), H, W)
    chosen = masks[torch.arange(labels.shape[0]), labels]  # (B, H, W)
    return chosen.float().unsqueeze(1)  # (B, 1, H, W)


def make_shapes(
    n: int,
    *,
    seed: int,
    size: int = 28,
    radius: tuple[int, int] = (3, 7),
    noise: float = 0.0,
) -> TensorDataset:
    """``n`` labelled shape images as ``TensorDataset(images, labels, centers)``.

    images: ``(n, 1, size, size)`` float32 in [0, 1]; labels: ``(n,)`` int64,
    balanced over :data:`SHAPES` up to rounding; centers: ``(n, 2)`` int64 (row,
    column). Radii are drawn uniformly from ``radius`` (inclusive) and the
    shape always lies fully inside the canvas. ``noise`` adds Gaussian pixel
    noise of that standard deviation (then clips to [0, 1]).
    """
    r_min, r_max = radius
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if not 1 <= r_min <= r_max:
        raise ValueError(f"radius must be (min, max) with 1 <= min <= max, got {radius}")
    if 2 * r_max + 1 > size:
        raise ValueError(
            f"a shape of radius {r_max} needs a canvas of at least {2 * r_max + 1} pixels, got size={size}"
        )
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % len(SHAPES)
    labels = labels[torch.randperm(n, generator=g)]
    radii = torch.randint(r_min, r_max + 1, (n,), generator=g)
    # Centre uniform over positions that keep the whole shape on the canvas.
    span = (size - 2 * radii).unsqueeze(1)  # (n, 1) number of valid positions
    centers = radii.unsqueeze(1) + (torch.rand(n, 2, generator=g) * span).long()
    images = draw_shapes(labels, centers, radii, size)
    if noise > 0:
        images = (images + noise * torch.randn(images.shape, generator=g)).clamp_(0, 1)
    return TensorDataset(images, labels, centers)
