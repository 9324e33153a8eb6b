"""Counting FLOPs, and the published numbers of three ImageNet models.

Used in chapter 09 (Parameter efficiency).

Parameters say how much a model stores; FLOPs say how much it computes per
image. A convolution reuses each weight at every position, so a CNN computes
far more per parameter than a ViT's linear layers do on few tokens; chapter 09
plots both.

:func:`count_flops` runs the model once under
``torch.utils.flop_counter.FlopCounterMode``, which sees every matrix
product, convolution and attention product torch dispatches and counts a
multiply-add as **2 FLOPs**. Element-wise work (residual additions,
normalisation, activations, softmax, pooling) is not counted: it is small
next to the products, and the published counts leave it out too. (One
consequence: the blur of :func:`~minimodels.pooling.blur_pool2d` counts 0
FLOPs with our kernels, written as element-wise sums, but 9 multiply-adds
per output pixel with torch's, a depthwise convolution.)

The model runs on PyTorch's ``meta`` device: shapes only, no arithmetic, so
counting ViT-B/16 takes a fraction of a second. It also avoids a trap: on a
real CPU, ``nn.MultiheadAttention``'s fused inference path and the CPU
flash-attention kernel are invisible to the counter (torch 2.14: torchvision's
ViT-B/16 shows 22.5 GFLOPs there, instead of 35.1 on ``meta``).

:func:`reference_models` puts torchvision's ResNet-18, ResNet-50 and ViT-B/16
next to each other with the ImageNet-1k accuracy and "GFLOPS" that torchvision
publishes with their weights. Those "GFLOPS" count multiply-adds, i.e. they
are exactly half of what :func:`count_flops` returns (tests/test_flops.py
checks all three).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .train import eval_mode

__all__ = ["count_flops", "ReferenceModel", "reference_models"]


def count_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs (a multiply-add counts 2) of one forward pass of ``model``.

    The input is zeros of shape ``input_shape``. The model is counted in eval mode under
    ``torch.no_grad``, on a copy moved to the ``meta`` device (``model`` itself is not
    touched; a model built on ``meta`` is used as it is). ``input_shape`` includes the
    batch: FLOPs grow with B, so pass ``(1, C, H, W)`` for a per-image count.
    """
    if not all(isinstance(s, int) and s > 0 for s in input_shape):
        raise ValueError(
            "count_flops expects input_shape as positive ints, e.g. (1, 1, 28, 28), "
            f"got {input_shape}"
        )
    tensors = list(model.parameters()) + list(model.buffers())
    on_meta = all(t.is_meta for t in tensors)
    meta_model = model if on_meta else copy.deepcopy(model).to("meta")
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), eval_mode(meta_model), counter:
        meta_model(torch.zeros(input_shape, device="meta"))
    return int(counter.get_total_flops())


@dataclass(frozen=True)
class ReferenceModel:
    """One torchvision ImageNet classifier: our counts, torchvision's published ones."""

    name: str  # torchvision's builder, e.g. "resnet50"
    parameters: int  # counted on the model built with weights=None
    # count_flops at 1 x 3 x 224 x 224, in billions (a multiply-add counts 2)
    gflops: float
    # ImageNet-1k top-1 accuracy (%) of the IMAGENET1K_V1 weights, torchvision's
    # metadata
    published_top1: float
    # torchvision's "GFLOPS" (meta["_ops"]): billions of multiply-adds, = gflops / 2
    published_gflops: float
    # top-1 of torchvision's IMAGENET1K_V2 weights (a newer, longer training recipe:
    # Vryniotis 2021), where there are any; still ImageNet-1k only
    v2_top1: float | None = None


_REFERENCES = (
    ("resnet18", "ResNet18_Weights"),
    ("resnet50", "ResNet50_Weights"),
    ("vit_b_16", "ViT_B_16_Weights"),
)


def reference_models() -> list[ReferenceModel]:
    """ResNet-18, ResNet-50 and ViT-B/16 at 224 x 224: parameters, FLOPs, accuracy.

    The accuracy is the published one. Builds each with ``weights=None`` on the ``meta``
    device (nothing is downloaded or allocated) and reads the published numbers from the
    ``IMAGENET1K_V1`` weights' metadata: ``meta["_metrics"]["ImageNet-1K"]["acc@1"]``
    and ``meta["_ops"]`` (and the ``IMAGENET1K_V2`` weights' accuracy where they
    exist). Cite them as torchvision's numbers.
    """
    import torchvision.models as tvm

    rows = []
    for name, weights_enum in _REFERENCES:
        weights = getattr(tvm, weights_enum)
        meta = weights.IMAGENET1K_V1.meta
        v2 = getattr(weights, "IMAGENET1K_V2", None)
        with torch.device("meta"):
            model = getattr(tvm, name)(weights=None)
        rows.append(
            ReferenceModel(
                name=name,
                parameters=sum(p.numel() for p in model.parameters()),
                gflops=count_flops(model, (1, 3, 224, 224)) / 1e9,
                published_top1=meta["_metrics"]["ImageNet-1K"]["acc@1"],
                published_gflops=meta["_ops"],
                v2_top1=None
                if v2 is None
                else v2.meta["_metrics"]["ImageNet-1K"]["acc@1"],
            )
        )
    return rows
