"""SmallCNN: a compact convolutional network built from our own layers.

Built in chapter 04.

The architecture is the classic recipe (LeCun et al. 1998; He et al. 2016 for
batch norm and the global-pooling head), shrunk for 28 x 28 images:

    stage 1:     [Conv2d(K, padding K//2) -> BatchNorm -> ReLU] x convs_per_stage
    stage 2..S:  2x2 max pooling (``downsample``), then the same
    head:        global average pooling (``global_pool``) -> Linear(widths[-1], classes)

Each stage halves H and W and (usually) doubles the channels: features grow
more abstract and cover a larger part of the image (chapter 03 computes how
large). The global-pooling head makes the prediction blind to *where* in the
final feature map a feature fired, which matters for the translation chapter.

``features(x)`` returns every stage's output, for plots.

Two options serve the later, experimental chapters. ``downsample="blur"`` swaps the
max pools for Zhang's (2019) anti-aliased :class:`~minimodels.pooling.MaxBlurPool2d`
(chapter 10). ``kernels="torch"`` builds the same network from
``torch.nn.Conv2d`` / ``nn.MaxPool2d`` / ``nn.AvgPool2d``, with the same
parameter names, so a state_dict loads into either: tests/test_cnn.py shows
both compute the same function, which lets chapters 08-12 train their many
CNNs with torch's faster kernels on a 2-core CPU. ``weight_sharing=False``
replaces every convolution by a locally connected layer
(:class:`~minimodels.locally_connected.LocallyConnected2d`: the same windows, each
position its own filters), chapter 09's control for "CNNs are parameter-efficient
through weight sharing".
"""

from __future__ import annotations

import torch
from torch import nn

from .conv import PADDING_MODES, Conv2d
from .locally_connected import LocallyConnected2d
from .pooling import KERNELS, AvgPool2d, GlobalAvgPool, MaxBlurPool2d, MaxPool2d
from .shapes import check_images

__all__ = ["SmallCNN"]

DOWNSAMPLES = ("max", "avg", "blur")


def _downsample(kind: str, kernels: str) -> nn.Module:
    """The 2x downsampling between stages."""
    if kind == "blur":
        return MaxBlurPool2d(kernels=kernels)
    if kernels == "torch":
        return nn.MaxPool2d(2) if kind == "max" else nn.AvgPool2d(2)
    return MaxPool2d(2) if kind == "max" else AvgPool2d(2)


class SmallCNN(nn.Module):
    """A configurable CNN for small images; every argument is keyword-only.

    in_channels: channels of the input images (1 for MNIST, 3 for CIFAR-10).
    num_classes: outputs of the final linear layer.
    widths: channels of each stage; ``len(widths)`` stages, pooling between them.
    convs_per_stage: convolutions in each stage (depth = stages x this).
    kernel_size: side K of every kernel (odd, so "same" padding keeps H and W).
    downsample: the 2x downsampling between stages: "max" or "avg" (2x2, stride 2),
        or "blur" (max with stride 1, then a binomial blur with stride 2; Zhang 2019).
    padding_mode: "zeros" or "circular" padding in every convolution.
    batch_norm: BatchNorm2d after each convolution (Ioffe & Szegedy 2015).
    kernels: "ours" (the package's layers) or "torch" (torch's, same function and
        parameter names, faster).
    weight_sharing: False gives every position of every layer its own filters
        (:class:`~minimodels.locally_connected.LocallyConnected2d`, zero padding
        only); the layers then need the ``image_size`` (H = W) they will see.
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        num_classes: int = 10,
        widths: tuple[int, ...] = (32, 64, 128),
        convs_per_stage: int = 1,
        kernel_size: int = 3,
        downsample: str = "max",
        padding_mode: str = "zeros",
        batch_norm: bool = True,
        kernels: str = "ours",
        weight_sharing: bool = True,
        image_size: int = 28,
    ):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(
                f"kernel_size must be odd (for 'same' padding), got {kernel_size}"
            )
        if downsample not in DOWNSAMPLES:
            raise ValueError(
                f"downsample must be one of {DOWNSAMPLES}, got {downsample!r}"
            )
        if kernels not in KERNELS:
            raise ValueError(f"kernels must be one of {KERNELS}, got {kernels!r}")
        if (
            padding_mode not in PADDING_MODES
        ):  # torch's Conv2d would accept more: keep both twins alike
            raise ValueError(
                f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}"
            )
        if not weight_sharing and padding_mode != "zeros":
            raise ValueError(
                "weight_sharing=False (locally connected layers) pads with zeros "
                f"only, got padding_mode={padding_mode!r}"
            )
        if not widths or convs_per_stage < 1:
            raise ValueError(
                "need at least one stage and one conv per stage, "
                f"got widths={widths}, convs_per_stage={convs_per_stage}"
            )
        self.in_channels = in_channels
        self.image_size = image_size if not weight_sharing else None
        self.stages = nn.ModuleList()
        c, size = in_channels, image_size
        for i, width in enumerate(widths):
            layers: list[nn.Module] = []
            if i > 0:
                # downsample on entry, so stage i's output is a full-resolution map
                # of that stage
                layers.append(_downsample(downsample, kernels))
                size //= 2  # every downsampling halves H and W, rounding down
            for _ in range(convs_per_stage):
                if not weight_sharing:
                    layers.append(
                        LocallyConnected2d(
                            c,
                            width,
                            kernel_size,
                            size,
                            padding=kernel_size // 2,
                            bias=not batch_norm,
                        )
                    )
                else:
                    conv = (
                        Conv2d if kernels == "ours" else nn.Conv2d
                    )  # same arguments, parameters and init
                    layers.append(
                        conv(
                            c,
                            width,
                            kernel_size,
                            padding=kernel_size // 2,
                            padding_mode=padding_mode,
                            bias=not batch_norm,
                        )
                    )
                if batch_norm:
                    layers.append(nn.BatchNorm2d(width))
                layers.append(nn.ReLU())
                c = width
            self.stages.append(nn.Sequential(*layers))
        self.global_pool = GlobalAvgPool()
        self.head = nn.Linear(c, num_classes)
        # torch's kernels run these small convolutions, their pools and batch norms
        # in channels-last order (B, H, W, C in memory) about 1.4x faster on a CPU
        # (training step of the experiments' SmallCNN, one thread); the same
        # function, values and shapes. Our own layers keep the default order.
        self.channels_last = kernels == "torch" and weight_sharing
        if self.channels_last:
            self.to(memory_format=torch.channels_last)

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every intermediate, by name.

        ``stage1`` .. ``stageS`` (B, C, H, W), ``pooled`` (B, C), ``logits``.
        """
        check_images(x, "SmallCNN", channels=self.in_channels, size=self.image_size)
        x = self._layout(x)
        out = {}
        for i, stage in enumerate(self.stages, start=1):
            x = stage(x)
            out[f"stage{i}"] = x
        out["pooled"] = self.global_pool(x)
        out["logits"] = self.head(out["pooled"])
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "SmallCNN", channels=self.in_channels, size=self.image_size)
        x = self._layout(x)
        for stage in self.stages:
            x = stage(x)
        return self.head(self.global_pool(x))  # (B, classes)
