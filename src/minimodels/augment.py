"""Batch data augmentation for small images. Introduced in chapter 07 (ViT).

Small-data ViTs need augmentation far more than CNNs (Steiner et al. 2021,
"How to train your ViT?"): a CNN's convolutions already assume that a shifted
digit is the same digit; a ViT has to be shown. ``random_shift`` shows it.
"""

from __future__ import annotations

import torch

from .shapes import check_images

__all__ = ["random_shift"]


def random_shift(
    images: torch.Tensor, max_shift: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Move each image by its own random integer offset.

    The offset ``(dy, dx)`` lies in ``[-max_shift, max_shift]``^2.

    Pixels shifted in from outside are 0 (background), none wrap around.
    images: ``(B, C, H, W)``; returns the same shape. Draws from ``generator``
    (default: torch's global generator, which ``fit`` seeds).
    """
    check_images(images, "random_shift")
    if max_shift < 0:
        raise ValueError(f"max_shift must be at least 0, got {max_shift}")
    if max_shift == 0:
        return images
    B, C, H, W = images.shape
    m = max_shift
    padded = torch.nn.functional.pad(images, (m, m, m, m))  # (B, C, H + 2m, W + 2m)
    offsets = torch.randint(
        0, 2 * m + 1, (2, B), generator=generator, device=images.device
    )
    rows = offsets[0].view(B, 1) + torch.arange(H, device=images.device)  # (B, H)
    cols = offsets[1].view(B, 1) + torch.arange(W, device=images.device)  # (B, W)
    batch = torch.arange(B, device=images.device).view(B, 1, 1)
    # out[b, :, i, j] = padded[b, :, rows[b, i], cols[b, j]]
    out = padded.permute(0, 2, 3, 1)[
        batch, rows.view(B, H, 1), cols.view(B, 1, W)
    ]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()
