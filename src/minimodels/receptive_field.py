"""Receptive fields, computed and measured.

Built in chapter 03 (Pooling and receptive fields).

The *receptive field* of a unit in a feature map is the set of input pixels that
can change its value. For a stack of convolutions and poolings it is a square,
and two numbers describe each layer ``l``:

* its side ``r_l`` in input pixels (the receptive field *size*), and
* its *jump* ``j_l``: how many input pixels apart two neighbouring units of the
  layer's output are (the product of the strides so far, the "total stride").

:func:`receptive_field` computes them analytically with the recursion of
Araujo et al. (2019, "Computing Receptive Fields of Convolutional Neural
Networks", section on single-path networks), from a list of
``(K, stride, padding)`` triples or from our modules directly.

:func:`effective_receptive_field` measures what a network actually uses: the
gradient of one output unit with respect to the input (Luo et al. 2016). It is
zero outside the analytic receptive field, and inside it is typically much
more concentrated, roughly Gaussian, around the centre.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterable, NamedTuple, Sequence

import torch
from torch import nn

from .conv import Conv2d
from .pooling import (
    MaxPool2d,
)  # AvgPool2d subclasses MaxPool2d: same kernel_size / stride / padding
from .train import eval_mode

__all__ = ["LayerRF", "receptive_field", "effective_receptive_field"]

# Layers that act on each position separately: they leave the receptive field unchanged.
POINTWISE = (
    nn.ReLU, nn.GELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Identity,
    nn.BatchNorm2d, nn.Dropout, nn.Dropout2d,
)  # fmt: skip


class LayerRF(NamedTuple):
    """The receptive field of the output of one layer, in input pixels.

    layer: a short description, e.g. ``"Conv2d K3 s1 p1"``.
    size: side r of the square receptive field of one output unit.
    jump: distance, in input pixels, between neighbouring output units (total stride).
    start: input row (= column) of the first pixel in the receptive field of output
        unit 0; negative when it reaches into the padding. Unit ``i`` sees rows
        ``start + i * jump`` to ``start + i * jump + size - 1``.
    """

    layer: str
    size: int
    jump: int
    start: int


def _check_int(value, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{what} must be an int of at least {minimum}, got {value!r}")
    return value


def _square(value, what: str) -> int:
    """One number from torch's ``int`` or ``(n, n)`` layer arguments."""
    if isinstance(value, tuple):
        if len(set(value)) != 1:
            raise ValueError(f"{what} must be the same along H and W, got {value}")
        value = value[0]
    return _check_int(value, what, 0)


def _spatial_layers(layers, prefix: str = "") -> Iterable[tuple[str, int, int, int]]:
    """Yield ``(description, K, stride, padding)`` for every layer that moves pixels."""
    if isinstance(layers, nn.Module) and not isinstance(
        layers, (nn.Sequential, nn.ModuleList)
    ):
        layers = [layers]
    if not isinstance(layers, (list, tuple, nn.Sequential, nn.ModuleList)):
        raise ValueError(
            "layers must be a list of layers or an nn.Sequential, "
            f"got {type(layers).__name__}"
        )
    for i, layer in enumerate(layers):
        where = f"{prefix}layer {i}"
        if isinstance(layer, (Conv2d, MaxPool2d)):
            K = layer.kernel_size
            stride = (
                K if layer.stride is None else layer.stride
            )  # pooling's default stride is K
            yield (
                f"{type(layer).__name__} K{K} s{stride} p{layer.padding}",
                K,
                stride,
                layer.padding,
            )
        elif isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            # torch's layers (SmallCNN(kernels="torch")): square, single numbers only
            K, stride, padding = (
                _square(getattr(layer, name), f"{where}: {name}")
                for name in ("kernel_size", "stride", "padding")
            )
            yield (
                f"{type(layer).__name__} K{K} s{stride} p{padding}",
                K,
                stride,
                padding,
            )
        elif isinstance(layer, POINTWISE):
            continue
        elif isinstance(layer, (nn.Sequential, nn.ModuleList)):
            yield from _spatial_layers(layer, prefix=f"{where}.")
        elif isinstance(layer, nn.Module):
            raise ValueError(
                f"receptive_field does not know how {where} "
                f"({type(layer).__name__}) moves pixels; it handles "
                "Conv2d, MaxPool2d and AvgPool2d (minimodels' or torch's) and "
                "pointwise layers "
                "(ReLU, BatchNorm2d, ...). "
                "For a classifier pass its convolutional part, "
                "e.g. nn.Sequential(*model.stages)."
            )
        elif isinstance(layer, (tuple, list)) and len(layer) in (2, 3):
            K = _check_int(layer[0], f"{where}: kernel size", 1)
            stride = _check_int(layer[1], f"{where}: stride", 1)
            padding = (
                _check_int(layer[2], f"{where}: padding", 0) if len(layer) == 3 else 0
            )
            yield f"K{K} s{stride} p{padding}", K, stride, padding
        else:
            raise ValueError(
                f"{where} must be a (kernel_size, stride) or "
                "(kernel_size, stride, padding) tuple "
                f"or a minimodels layer, got {layer!r}"
            )


def receptive_field(layers: Sequence | nn.Module) -> list[LayerRF]:
    """The receptive field after each spatial layer of a stack, from the input onwards.

    ``layers``: a list of ``(K, stride)`` or ``(K, stride, padding)`` tuples, or
    modules (``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ours or torch's with square
    kernels, strides and paddings; pointwise layers such
    as ``ReLU`` and ``BatchNorm2d`` are skipped; ``nn.Sequential`` and
    ``nn.ModuleList`` are walked). Returns one :class:`LayerRF` per spatial
    layer; an empty stack gives ``[]`` (a pixel sees itself: size 1, jump 1).
    """
    # Araujo et al. 2019 solve from the output back to the input: with r_l and u_l
    # the size and left edge, measured on layer l's map, of the field of one unit of
    # the last layer L (r_L = 1, u_L = 0),
    #     r_{l-1} = stride_l * r_l + (K_l - stride_l),
    #     u_{l-1} = stride_l * u_l - padding_l,
    # which unrolls to r_0 = 1 + sum_l (K_l - 1) * prod_{i<l} stride_i on the input.
    # We run the same sum forwards, so that every layer's field comes out on the
    # way. At the input one pixel sees itself (size 1) and pixels are 1 apart
    # (jump 1).
    size, jump, start = 1, 1, 0
    out = []
    for name, K, stride, padding in _spatial_layers(layers):
        # A K x K window spans K units of the previous layer, which are `jump` input
        # pixels apart: it adds (K - 1) * jump pixels to the previous field.
        size += (K - 1) * jump
        # Padding shifts the first window `padding` units of the previous layer to the
        # left, i.e. padding * jump input pixels.
        start -= padding * jump
        # Neighbouring outputs are `stride` previous units apart.
        jump *= stride
        out.append(LayerRF(name, size, jump, start))
    return out


def effective_receptive_field(
    model: Callable[[torch.Tensor], torch.Tensor],
    input_shape: tuple[int, int, int],
    *,
    channel: int | None = None,
    n_samples: int = 16,
    seed: int = 0,
) -> torch.Tensor:
    """The gradient map of the centre output unit w.r.t. the input (Luo et al. 2016).

    ``model`` maps ``(B, C, H, W)`` images to ``(B, C_out, H_out, W_out)`` feature
    maps. For ``n_samples`` standard-normal inputs of shape ``input_shape`` =
    ``(C, H, W)`` we back-propagate from the output unit at ``(H_out // 2,
    W_out // 2)`` (``channel``, or the sum over all channels when None) and
    return the mean over samples of ``|gradient|`` summed over input channels:
    an ``(H, W)`` map. A module is run in eval mode (so batch norm does not mix
    the samples) and its mode is restored afterwards.
    """
    if len(input_shape) != 3 or not all(
        isinstance(n, int) and n > 0 for n in input_shape
    ):
        raise ValueError(
            "input_shape must be (C, H, W) with positive ints, "
            f"got {tuple(input_shape)}"
        )
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}")
    with eval_mode(model) if isinstance(model, nn.Module) else contextlib.nullcontext():
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n_samples, *input_shape, generator=g).requires_grad_(
            True
        )  # (B, C, H, W)
        out = model(x)
        if out.ndim != 4:
            raise ValueError(
                "model must return a feature map (B, C, H, W), "
                f"got shape {tuple(out.shape)}; "
                f"for a classifier pass its convolutional part"
            )
        _, C_out, H_out, W_out = out.shape
        if channel is not None and not 0 <= channel < C_out:
            raise ValueError(
                f"channel must be between 0 and {C_out - 1}, got {channel}"
            )
        centre = out[:, :, H_out // 2, W_out // 2]  # (B, C_out)
        target = centre.sum(dim=1) if channel is None else centre[:, channel]  # (B,)
        (grad,) = torch.autograd.grad(
            target.sum(), x
        )  # samples are independent: one backward pass
    return grad.abs().sum(dim=1).mean(dim=0)  # (H, W)
