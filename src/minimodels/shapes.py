"""Input checks at the door: one function for every layer that takes images.

Every layer of the package that takes ``(B, C, H, W)`` images (convolutions,
pooling, patches, the two models, the shift and corruption tools) checks its
input here, so a wrong rank, a wrong number of channels or a size that does
not divide into patches fails at once, with one kind of message that names
the layer, what it expected and what it got, instead of a shape error deep
inside an einops pattern or a matrix product (timm's ``PatchEmbed`` checks
divisibility the same way).
"""

from __future__ import annotations

import torch

__all__ = ["check_images", "format_shape"]


def format_shape(shape) -> str:
    """A shape as Python prints a tuple: ``(3,)``, ``(10, 28, 28)``."""
    return (
        "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    )


def check_images(
    x: torch.Tensor,
    name: str,
    *,
    channels: int | None = None,
    size: int | None = None,
    divisible_by: int | None = None,
    what: str = "images",
) -> tuple[int, int, int, int]:
    """``(B, C, H, W)`` of ``x``, or a ``ValueError``.

    The error names ``name``, what it expects and what came.

    channels: the C it must have; size: the H = W it must have (square images);
    divisible_by: a patch size P that must divide H and W; what: the word for
    the input in the message ("images", "input").
    """
    C_text = "C" if channels is None else str(channels)
    HW_text = "H, W" if size is None else f"{size}, {size}"
    expected = f"{name} expects {what} of shape (B, {C_text}, {HW_text})"
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{expected}, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(
            f"{expected}, got {x.ndim}-D input of shape {format_shape(x.shape)}"
        )
    B, C, H, W = x.shape
    if (channels is not None and C != channels) or (
        size is not None and (H, W) != (size, size)
    ):
        raise ValueError(f"{expected}, got shape {format_shape(x.shape)}")
    if divisible_by is not None:
        P = divisible_by
        if P < 1:
            raise ValueError(f"{name}: patch_size must be at least 1, got {P}")
        if H % P or W % P:
            raise ValueError(
                f"{name}: image size {H}x{W} is not divisible by patch size {P} "
                f"(remainder {H % P}x{W % P}); crop or pad to a multiple of {P}"
            )
    return B, C, H, W
