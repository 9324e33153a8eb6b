"""Max and average pooling from scratch. Built in chapter 03 (Pooling and receptive fields).

Pooling summarises each K x K window of every channel by one number: its
maximum or its mean. Like convolution it slides a window, so it reuses the
same windows (``Tensor.unfold``), but each channel is
pooled on its own and nothing is learned. The output size follows the same
formula as convolution (:func:`minimodels.conv.conv_output_size`).

With a stride S > 1 pooling *downsamples*: the output keeps one value per S x S
block. Chapter 03 measures how this breaks exact shift equivariance
(aliasing, Zhang 2019) and :class:`BlurPool2d`-style fixes are measured in
chapter 10.
"""

from __future__ import annotations

import torch
from torch import nn

from .conv import pad2d

__all__ = ["max_pool2d", "avg_pool2d", "MaxPool2d", "AvgPool2d", "GlobalAvgPool"]


def _windows(x: torch.Tensor, kernel_size: int, stride: int | None, padding: int, fill: float, name: str):
    """Every K x K window of every channel, as a view ``(B, C, H_out, W_out, K, K)``."""
    if x.ndim != 4:
        raise ValueError(f"{name} expects input of shape (B, C, H, W), got {x.ndim}-D input of shape {tuple(x.shape)}")
    stride = kernel_size if stride is None else stride
    if kernel_size < 1 or stride < 1:
        raise ValueError(f"{name}: kernel_size and stride must be at least 1, got {kernel_size} and {stride}")
    if not 0 <= padding <= kernel_size // 2:
        # torch's rule too: more padding would create windows that see only padding.
        raise ValueError(f"{name}: padding must be between 0 and kernel_size // 2 = {kernel_size // 2}, got {padding}")
    B, C, H, W = x.shape
    if kernel_size > H + 2 * padding or kernel_size > W + 2 * padding:
        raise ValueError(
            f"{name}: kernel {kernel_size}x{kernel_size} is larger than the padded input "
            f"{H + 2 * padding}x{W + 2 * padding} (input {H}x{W}, padding {padding})"
        )
    x = pad2d(x, padding, "zeros", value=fill)
    # Tensor.unfold gives the windows as a strided view: no copy. (Copying them
    # out with F.unfold, as im2col does for convolution, gains nothing here:
    # each window is reduced on its own, with no matrix product to feed.)
    return x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)


def max_pool2d(x: torch.Tensor, kernel_size: int, stride: int | None = None, padding: int = 0) -> torch.Tensor:
    """Maximum over each K x K window. ``stride`` defaults to ``kernel_size``.

    Padding is -inf, so it never wins the maximum (as in ``F.max_pool2d``).
    """
    windows = _windows(x, kernel_size, stride, padding, float("-inf"), "max_pool2d")
    return windows.amax(dim=(-2, -1))  # (B, C, H_out, W_out)


def avg_pool2d(x: torch.Tensor, kernel_size: int, stride: int | None = None, padding: int = 0) -> torch.Tensor:
    """Mean over each K x K window. ``stride`` defaults to ``kernel_size``.

    Padding counts as zeros in the mean (``count_include_pad=True``, torch's default).
    """
    windows = _windows(x, kernel_size, stride, padding, 0.0, "avg_pool2d")
    return windows.mean(dim=(-2, -1))  # (B, C, H_out, W_out)


class MaxPool2d(nn.Module):
    """Module form of :func:`max_pool2d`."""

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, padding={self.padding}"


class AvgPool2d(MaxPool2d):
    """Module form of :func:`avg_pool2d`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class GlobalAvgPool(nn.Module):
    """``(B, C, H, W) -> (B, C)``: the mean of each channel over all positions.

    Invariant to any permutation of positions, hence to circular shifts: the
    head that makes a CNN's prediction shift-invariant (Lin et al. 2014).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"GlobalAvgPool expects input of shape (B, C, H, W), got shape {tuple(x.shape)}")
        return x.mean(dim=(2, 3))
