"""2-D convolution from scratch, three ways. Built in chapter 02 (Convolution).

* :func:`conv2d_loops` is the definition, one output pixel at a time::

      out[b, o, i, j] = bias[o]
          + sum_{c, u, v} x_pad[b, c, i*S + u, j*S + v] * weight[o, c, u, v]

  (as deep-learning libraries do, this is cross-correlation: the kernel is not
  flipped).
* :func:`conv2d_unfold` computes the same thing as one matrix product: every
  K x K window is copied into a column ("im2col", Chellapilla et al. 2006), so
  the convolution becomes ``weight (O, C*K*K) @ columns (C*K*K, H'*W')``.
* :class:`Conv2d` is a trainable layer built on :func:`conv2d_unfold`.

Both functions accept zero or circular padding. With circular padding and
stride 1 a convolution commutes exactly with circular shifts of the input
(translation equivariance); chapter 02 measures how zero padding and strides
break it.
"""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import nn

from .shapes import check_images

__all__ = [
    "conv_output_size",
    "pad2d",
    "conv2d_loops",
    "conv2d_unfold",
    "Conv2d",
    "PADDING_MODES",
]

PADDING_MODES = ("zeros", "circular")
_COLUMN_BYTES = 2 * 2**20  # im2col slice size: what a core's L2 cache holds, about


def conv_output_size(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0
) -> int:
    """Output length along one axis.

    ``floor((size + 2 * padding - kernel_size) / stride) + 1``.
    """
    return (size + 2 * padding - kernel_size) // stride + 1


def pad2d(
    x: torch.Tensor, padding: int, mode: str = "zeros", value: float = 0.0
) -> torch.Tensor:
    """Pad the last two axes of ``x`` by ``padding`` on every side.

    ``mode="zeros"`` fills with ``value``; ``mode="circular"`` wraps around, as
    if the image tiled the plane (so a circular shift of the input is a shift of
    the padded input too). ``mode="reflect"`` mirrors the image about its edge
    pixels, which are not repeated (``[x2, x1, x0, x1, x2, ...]``, as ``F.pad``):
    the padding of blur filters (chapters 10 and 12), not offered by
    :class:`Conv2d`.
    """
    if mode not in PADDING_MODES + ("reflect",):
        raise ValueError(
            f"padding_mode must be one of {PADDING_MODES + ('reflect',)}, got {mode!r}"
        )
    if padding == 0:
        return x
    H, W = x.shape[-2:]
    if mode == "circular":
        if padding > min(H, W):
            raise ValueError(
                f"circular padding {padding} is larger than the input ({H}x{W})"
            )
        rows = torch.arange(-padding, H + padding, device=x.device) % H
        cols = torch.arange(-padding, W + padding, device=x.device) % W
        return x[..., rows, :][..., cols]
    if mode == "reflect":
        if padding >= min(H, W):
            raise ValueError(
                f"reflect padding {padding} needs an input larger than "
                f"{padding}x{padding}, got {H}x{W}"
            )

        def mirror(n: int) -> torch.Tensor:
            i = torch.arange(
                -padding, n + padding, device=x.device
            ).abs()  # -1 -> 1, -2 -> 2, ...
            return torch.where(
                i > n - 1, 2 * (n - 1) - i, i
            )  # n -> n - 2, n + 1 -> n - 3, ...

        return x[..., mirror(H), :][..., mirror(W)]
    out = x.new_full((*x.shape[:-2], H + 2 * padding, W + 2 * padding), value)
    out[..., padding : padding + H, padding : padding + W] = x
    return out


def _as_pair_int(value, name: str) -> int:
    if isinstance(value, (tuple, list)):
        if len(value) != 2 or value[0] != value[1]:
            raise ValueError(f"{name} must be one int (square), got {value}")
        value = value[0]
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value


def check_conv_args(
    x, weight, bias, stride, padding, padding_mode
) -> tuple[int, int, int, int]:
    """Validate a conv2d call; return ``(H_out, W_out, stride, padding)``.

    Errors name what was expected and what was got.
    """
    check_images(x, "conv2d", what="input")
    if weight.ndim != 4:
        raise ValueError(
            "conv2d expects weight of shape (C_out, C_in, K, K), "
            f"got {weight.ndim}-D weight of shape {tuple(weight.shape)}"
        )
    B, C, H, W = x.shape
    C_out, C_in, K_h, K_w = weight.shape
    if C != C_in:
        raise ValueError(
            f"input has {C} channels but weight expects {C_in} "
            f"(input {tuple(x.shape)}, weight {tuple(weight.shape)})"
        )
    if bias is not None and tuple(bias.shape) != (C_out,):
        raise ValueError(
            f"bias must have shape ({C_out},) to match weight, got {tuple(bias.shape)}"
        )
    stride, padding = _as_pair_int(stride, "stride"), _as_pair_int(padding, "padding")
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    if padding < 0:
        raise ValueError(f"padding must be at least 0, got {padding}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(
            f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}"
        )
    if K_h > H + 2 * padding or K_w > W + 2 * padding:
        raise ValueError(
            f"kernel {K_h}x{K_w} is larger than the padded input "
            f"{H + 2 * padding}x{W + 2 * padding} "
            f"(input {H}x{W}, padding {padding})"
        )
    return (
        conv_output_size(H, K_h, stride, padding),
        conv_output_size(W, K_w, stride, padding),
        stride,
        padding,
    )


def conv2d_loops(
    x, weight, bias=None, stride=1, padding=0, padding_mode="zeros"
) -> torch.Tensor:
    """The definition: a Python loop over output pixels. Slow; for teaching and tests.

    x: ``(B, C, H, W)``; weight: ``(C_out, C, K, K)``; bias: ``(C_out,)`` or None.
    Returns ``(B, C_out, H_out, W_out)``.
    """
    H_out, W_out, stride, padding = check_conv_args(
        x, weight, bias, stride, padding, padding_mode
    )
    C_out, _, K_h, K_w = weight.shape
    x = pad2d(x, padding, padding_mode)
    rows = []
    for i in range(H_out):
        row = []
        for j in range(W_out):
            window = x[
                :, :, i * stride : i * stride + K_h, j * stride : j * stride + K_w
            ]  # (B, C, K, K)
            row.append(torch.einsum("bcuv,ocuv->bo", window, weight))  # (B, C_out)
        rows.append(torch.stack(row, dim=-1))  # (B, C_out, W_out)
    out = torch.stack(rows, dim=-2)  # (B, C_out, H_out, W_out)
    if bias is not None:
        out = out + bias.view(1, C_out, 1, 1)
    return out


def conv2d_unfold(
    x, weight, bias=None, stride=1, padding=0, padding_mode="zeros"
) -> torch.Tensor:
    """im2col + matrix product: the same result as :func:`conv2d_loops`, fast.

    ``Tensor.unfold`` along H and then W gives every K x K window as a strided
    *view* ``(B, C, H_out, W_out, K, K)``, no copy. Flattening each window into a
    column of length ``C*K*K`` (this copy is "im2col", Chellapilla et al. 2006)
    turns the convolution into one matrix product with the flattened kernels,
    ``(C_out, C*K*K) @ (C*K*K, H_out*W_out)``, which a tuned GEMM computes fast.
    """
    H_out, W_out, stride, padding = check_conv_args(
        x, weight, bias, stride, padding, padding_mode
    )
    C_out, C, K_h, K_w = weight.shape
    x = pad2d(x, padding, padding_mode)
    windows = x.unfold(2, K_h, stride).unfold(
        3, K_w, stride
    )  # (B, C, H_out, W_out, K, K), a view
    kernels = weight.reshape(C_out, C * K_h * K_w)  # (C_out, C*K*K)
    # The columns take K*K/stride^2 times the memory of the input. Built for the
    # whole batch at once they fall out of the CPU's cache and the copy, not the
    # arithmetic, dominates (2-3x slower on 32-channel 28x28 layers), so we build
    # and multiply them a few images at a time: the same product, in slices.
    per_image = C * K_h * K_w * H_out * W_out * x.element_size()
    images_per_slice = max(1, _COLUMN_BYTES // per_image)
    slices = []
    for part in windows.split(images_per_slice):
        columns = rearrange(
            part, "b c h w u v -> b (c u v) (h w)"
        )  # (b, C*K*K, H_out*W_out): the copy
        # An explicit batched product: `kernels @ columns` lets torch.matmul fold the
        # batch into one large product, which costs extra copies when grads are tracked.
        slices.append(
            torch.bmm(kernels.expand(len(part), -1, -1), columns)
        )  # (b, C_out, H_out*W_out)
    out = torch.cat(slices)
    if bias is not None:
        out = out + bias.view(1, C_out, 1)
    return rearrange(out, "b o (h w) -> b o h w", h=H_out, w=W_out)


class Conv2d(nn.Module):
    """A trainable 2-D convolution on top of :func:`conv2d_unfold`.

    Same arguments, parameter shapes and initialisation as ``torch.nn.Conv2d``
    (square kernels, ``padding_mode`` "zeros" or "circular"), so weights copy
    across in either direction.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
        padding_mode: str = "zeros",
    ):
        super().__init__()
        if padding_mode not in PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.padding_mode = padding_mode
        self.weight = nn.Parameter(
            torch.empty(out_channels, in_channels, kernel_size, kernel_size)
        )
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # torch.nn.Conv2d's default: Kaiming-uniform with a = sqrt(5), i.e.
        # U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_channels * self.kernel_size**2)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv2d_unfold(
            x, self.weight, self.bias, self.stride, self.padding, self.padding_mode
        )

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, "
            f"kernel_size={self.kernel_size}, stride={self.stride}"
        )
        if self.padding:
            s += f", padding={self.padding}"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        if self.bias is None:
            s += ", bias=False"
        return s
