"""Published numbers the chapters quote, in one place, each with its source.

The course computes its own numbers; a few claims need the literature's as
well (chapters 09, 11 and 12). Rather than type them into the prose, the
chapters glue them from this table, so each figure is written once, next to
the bibliography key of the paper it comes from (``references.bib``;
``tests/test_literature.py`` checks that every key exists). Figures that
torchvision ships with its weights are read from torchvision instead
(``minimodels.flops.reference_models``).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Published", "PUBLISHED"]


class Published(NamedTuple):
    value: float
    source: str  # bibliography key
    what: str


PUBLISHED = {
    "deit_s_top1": Published(
        79.9, "touvron2021deit", "DeiT-S, ImageNet-1k only, top-1 accuracy (%)"
    ),
    "deit_s_params_m": Published(
        22, "touvron2021deit", "DeiT-S, parameters (millions)"
    ),
    "vit_h14_jft_top1": Published(
        88.55,
        "dosovitskiy2021vit",
        "ViT-H/14 pre-trained on JFT-300M, ImageNet top-1 (%), table 2",
    ),
    "convnext_22k_top1": Published(
        87.8,
        "liu2022convnet",
        "ConvNeXt-XL pre-trained on ImageNet-22k, ImageNet-1k top-1 (%)",
    ),
    "beyer_vit_s16_top1": Published(
        76.5,
        "beyer2022betterplain",
        "ViT-S/16 trained on ImageNet-1k for 90 epochs, top-1 (%)",
    ),
    "beyer_vit_s16_epochs": Published(90, "beyer2022betterplain", "epochs of that run"),
    "steiner_data_factor": Published(
        10,
        "steiner2022howtotrain",
        "augmentation and regularisation were worth about this factor more data",
    ),
}
