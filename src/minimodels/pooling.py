"""Max and average pooling from scratch.

Built in chapter 03 (Pooling and receptive fields).

Pooling summarises each K x K window of every channel by one number: its
maximum or its mean. Like convolution it slides a window, so it reuses the
same windows (``Tensor.unfold``), but each channel is
pooled on its own and nothing is learned. The output size follows the same
formula as convolution (:func:`minimodels.conv.conv_output_size`).

With a stride S > 1 pooling *downsamples*: the output keeps one value per S x S
block. Chapter 03 measures how this breaks exact shift equivariance
(aliasing, Zhang 2019), and chapter 10 measures the fix of Zhang (2019):
:func:`blur_pool2d` low-pass filters each channel with a small binomial kernel
*before* subsampling, and :class:`MaxBlurPool2d` splits a stride-2 max pool
into a dense (stride-1) max followed by that blurred subsampling.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .conv import pad2d
from .shapes import check_images

__all__ = [
    "max_pool2d",
    "avg_pool2d",
    "MaxPool2d",
    "AvgPool2d",
    "GlobalAvgPool",
    "binomial_kernel",
    "blur_pool2d",
    "max_blur_pool2d",
    "BlurPool2d",
    "MaxBlurPool2d",
]

KERNELS = ("ours", "torch")


def _windows(
    x: torch.Tensor,
    kernel_size: int,
    stride: int | None,
    padding: int,
    fill: float,
    name: str,
):
    """Every K x K window of every channel, as a view ``(B, C, H_out, W_out, K, K)``."""
    check_images(x, name, what="input")
    stride = kernel_size if stride is None else stride
    if kernel_size < 1 or stride < 1:
        raise ValueError(
            f"{name}: kernel_size and stride must be at least 1, "
            f"got {kernel_size} and {stride}"
        )
    if not 0 <= padding <= kernel_size // 2:
        # torch's rule too: more padding would create windows that see only padding.
        raise ValueError(
            f"{name}: padding must be between 0 and "
            f"kernel_size // 2 = {kernel_size // 2}, got {padding}"
        )
    B, C, H, W = x.shape
    if kernel_size > H + 2 * padding or kernel_size > W + 2 * padding:
        raise ValueError(
            f"{name}: kernel {kernel_size}x{kernel_size} is larger than "
            f"the padded input {H + 2 * padding}x{W + 2 * padding} "
            f"(input {H}x{W}, padding {padding})"
        )
    x = pad2d(x, padding, "zeros", value=fill)
    # Tensor.unfold gives the windows as a strided view: no copy. (Copying them
    # out with F.unfold, as im2col does for convolution, gains nothing here:
    # each window is reduced on its own, with no matrix product to feed.)
    return x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)


def max_pool2d(
    x: torch.Tensor, kernel_size: int, stride: int | None = None, padding: int = 0
) -> torch.Tensor:
    """Maximum over each K x K window. ``stride`` defaults to ``kernel_size``.

    Padding is -inf, so it never wins the maximum (as in ``F.max_pool2d``).
    """
    windows = _windows(x, kernel_size, stride, padding, float("-inf"), "max_pool2d")
    return windows.amax(dim=(-2, -1))  # (B, C, H_out, W_out)


def avg_pool2d(
    x: torch.Tensor, kernel_size: int, stride: int | None = None, padding: int = 0
) -> torch.Tensor:
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
        stride = self.stride or self.kernel_size
        return (
            f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}"
        )


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
        check_images(x, "GlobalAvgPool", what="input")
        return x.mean(dim=(2, 3))


# ---------------------------------------------------------------------------
# Blur pooling (Zhang 2019, "Making convolutional networks shift-invariant again")
# ---------------------------------------------------------------------------


def binomial_kernel(dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """The 3 x 3 binomial low-pass filter ``[1, 2, 1]^T [1, 2, 1] / 16``, ``(K, K)``.

    The 3-tap filter of Zhang (2019), there called "Tri-3"; it sums to 1, so a
    constant image stays constant.
    """
    a = torch.tensor([1.0, 2.0, 1.0], dtype=dtype, device=device)
    return torch.outer(a, a) / 16


def _check_blur(x: torch.Tensor, stride: int, name: str, min_size: int = 2) -> None:
    check_images(x, name, what="input")
    if stride < 1:
        raise ValueError(f"{name}: stride must be at least 1, got {stride}")
    if min(x.shape[-2:]) < min_size:
        # Reflecting one pixel needs a neighbour to reflect.
        raise ValueError(
            f"{name} needs H and W of at least {min_size}, "
            f"got {x.shape[-2]}x{x.shape[-1]}"
        )


def blur_pool2d(x: torch.Tensor, stride: int = 2) -> torch.Tensor:
    """Blur each channel (:func:`binomial_kernel`), then keep every ``stride``-th pixel.

    ``(B, C, H, W) -> (B, C, ceil(H / stride), ceil(W / stride))``. Blurring first
    removes the frequencies that subsampling would fold back as aliases, so a
    one-pixel shift of the input changes the output a little instead of
    reshuffling it (Zhang 2019). Padding is one pixel of *reflection*,
    as in the paper's code (``Downsample(pad_type='reflect')`` in
    adobe/antialiased-cnns): unlike zeros it does not darken the border.
    """
    _check_blur(x, stride, "blur_pool2d")
    B, C, H, W = x.shape
    H_out, W_out = (H - 1) // stride + 1, (W - 1) // stride + 1
    x = pad2d(x, 1, "reflect")  # (B, C, H + 2, W + 2)
    # The 2-D filter is the outer product of [1, 2, 1] / 4 with itself, so it is
    # applied as two 1-D passes, each a weighted sum of three strided slices:
    # 6 multiply-adds per output pixel instead of 9, and no window copies.
    rows = lambda u: x[:, :, u : u + stride * (H_out - 1) + 1 : stride]  # noqa: E731
    x = (rows(0) + 2 * rows(1) + rows(2)) / 4  # (B, C, H_out, W + 2)
    cols = lambda v: x[..., v : v + stride * (W_out - 1) + 1 : stride]  # noqa: E731
    return (cols(0) + 2 * cols(1) + cols(2)) / 4  # (B, C, H_out, W_out)


def _blur_pool2d_torch(x: torch.Tensor, stride: int = 2) -> torch.Tensor:
    """:func:`blur_pool2d` with torch's kernels: depthwise ``F.conv2d`` (groups = C)."""
    _check_blur(x, stride, "blur_pool2d")
    C = x.shape[1]
    kernel = binomial_kernel(x.dtype, x.device).expand(
        C, 1, 3, 3
    )  # (C, 1, K, K): one filter per channel
    return F.conv2d(
        F.pad(x, (1, 1, 1, 1), mode="reflect"), kernel, stride=stride, groups=C
    )


def max_blur_pool2d(x: torch.Tensor) -> torch.Tensor:
    """Zhang's (2019) anti-aliased replacement for ``max_pool2d(x, 2)``.

    A 2 x 2 max pool with stride 1 (dense: nothing is dropped yet), then
    :func:`blur_pool2d` with stride 2. The output has ``floor(H / 2) x floor(W / 2)``
    pixels, the same as ``max_pool2d(x, 2)`` for every H, W >= 3 (H - 1 rows after
    the max, H + 1 after padding, ``floor((H + 1 - 3) / 2) + 1 = floor(H / 2)``).
    """
    _check_blur(x, 2, "max_blur_pool2d", min_size=3)
    return blur_pool2d(max_pool2d(x, 2, stride=1), stride=2)


class BlurPool2d(nn.Module):
    """Module form of :func:`blur_pool2d`; no parameters (the filter is fixed).

    ``kernels="torch"`` computes the same function with ``F.conv2d`` (faster on a CPU).
    """

    def __init__(self, stride: int = 2, *, kernels: str = "ours"):
        super().__init__()
        if kernels not in KERNELS:
            raise ValueError(f"kernels must be one of {KERNELS}, got {kernels!r}")
        self.stride, self.kernels = stride, kernels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        blur = blur_pool2d if self.kernels == "ours" else _blur_pool2d_torch
        return blur(x, self.stride)

    def extra_repr(self) -> str:
        return f"stride={self.stride}, kernels={self.kernels!r}"


class MaxBlurPool2d(nn.Module):
    """Module form of :func:`max_blur_pool2d`, a drop-in for ``MaxPool2d(2)``.

    No parameters.
    """

    def __init__(self, *, kernels: str = "ours"):
        super().__init__()
        if kernels not in KERNELS:
            raise ValueError(f"kernels must be one of {KERNELS}, got {kernels!r}")
        self.kernels = kernels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernels == "ours":
            return max_blur_pool2d(x)
        _check_blur(x, 2, "max_blur_pool2d", min_size=3)
        return _blur_pool2d_torch(F.max_pool2d(x, 2, stride=1), stride=2)

    def extra_repr(self) -> str:
        return f"kernels={self.kernels!r}"
