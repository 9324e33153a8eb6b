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

__all__ = ["SHAPES", "make_shapes", "draw_shapes", "make_diagonal_pairs"]

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
            ((dy.abs() <= r) & (dx.abs() <= arm))
            | ((dx.abs() <= r) & (dy.abs() <= arm)),  # cross
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
        raise ValueError(
            f"radius must be (min, max) with 1 <= min <= max, got {radius}"
        )
    if 2 * r_max + 1 > size:
        raise ValueError(
            f"a shape of radius {r_max} needs a canvas of at least "
            f"{2 * r_max + 1} pixels, got size={size}"
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


def make_diagonal_pairs(
    n: int, *, seed: int, size: int = 28, radius: tuple[int, int] = (3, 5)
) -> TensorDataset:
    """A task that needs long-range information: ``n`` images of four shapes.

    One shape per quadrant. Exactly two of the four shapes are the same; the label says
    where the pair is: 1 if it sits on the main diagonal (top-left and bottom-right), 0
    if on the anti-diagonal (top-right and bottom-left). The other two shapes differ
    from the pair and from each other, and every shape in an image has its own size. So
    the *bag* of shapes in an image (what a model sees if it only detects shapes and
    then averages over positions) is distributed the same way in both classes: a model
    must relate shapes that are about ``size / 2`` pixels apart to do better than chance
    (chapter 08).

    Returns ``TensorDataset(images, labels)``: ``(n, 1, size, size)`` float32 in
    [0, 1] and ``(n,)`` int64, balanced up to rounding.
    """
    r_min, r_max = radius
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if size % 2:
        raise ValueError(f"size must be even (four equal quadrants), got {size}")
    half = size // 2
    if not 1 <= r_min <= r_max or 2 * r_max + 3 > half:
        raise ValueError(
            "radius must be (min, max) with 1 <= min <= max and "
            "a shape of 2 max + 1 pixels plus a 1-pixel "
            f"margin fitting a quadrant of {half} pixels, "
            f"got radius={radius}, size={size}"
        )
    g = torch.Generator().manual_seed(seed)
    labels = (torch.arange(n) % 2)[torch.randperm(n, generator=g)]
    # Three distinct shapes per image: the pair's shape, then the two odd ones out.
    kinds = torch.argsort(torch.rand(n, len(SHAPES), generator=g), dim=1)[
        :, :3
    ]  # (n, 3)
    pair, odd1, odd2 = kinds.unbind(1)
    # Quadrants in order top-left, top-right, bottom-left, bottom-right.
    diagonal = torch.stack([pair, odd1, odd2, pair], dim=1)
    anti = torch.stack([odd1, pair, pair, odd2], dim=1)
    quad_shapes = torch.where(labels.view(n, 1) == 1, diagonal, anti)  # (n, 4)
    radii = torch.randint(r_min, r_max + 1, (n, 4), generator=g)
    # Centre of each shape: anywhere in its quadrant that keeps a 1-pixel margin.
    span = half - 2 * radii - 2  # valid offsets per shape, >= 1
    offsets = (
        1
        + radii.unsqueeze(-1)
        + (torch.rand(n, 4, 2, generator=g) * span.unsqueeze(-1)).long()
    )
    corners = torch.tensor(
        [[0, 0], [0, half], [half, 0], [half, half]]
    )  # (4, 2) row, column
    centers = corners + offsets  # (n, 4, 2)
    images = draw_shapes(
        quad_shapes.reshape(-1), centers.reshape(-1, 2), radii.reshape(-1), size
    )
    images = images.view(n, 4, size, size).amax(
        dim=1, keepdim=True
    )  # the quadrants do not overlap
    return TensorDataset(images, labels)
