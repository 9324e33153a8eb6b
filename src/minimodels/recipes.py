"""Named model + training presets, in one table, so every chapter trains the same thing.

Chapter 04 trains the CNN recipe; later chapters reuse it (and add a ViT
recipe) instead of repeating magic numbers. Each entry says what it reaches
on MNIST-5k and how it was chosen; ``benchmarks/`` measures it.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Callable

import torch
from torch import nn

from .augment import random_shift
from .cnn import SmallCNN
from .hybrid import ConvStem
from .train import TrainConfig, seed_everything
from .vit import ViT

__all__ = [
    "SMALL_CNN",
    "SMALL_CNN_TRAINING",
    "small_cnn_recipe",
    "VIT",
    "VIT_TRAINING",
    "VIT_MAX_SHIFT",
    "vit_recipe",
    "SMALL_CNN_EXPERIMENT",
    "VIT_EXPERIMENT",
    "HYBRID_EXPERIMENT",
    "EXPERIMENT_SAMPLES",
    "EXPERIMENT_BATCH_SIZE",
]

# SmallCNN for MNIST-5k: three stages of two 3x3 convolutions, 16-32-64 channels
# (about 73k parameters). Two convolutions per stage beat one wider one at the
# same cost; 7 epochs of AdamW with cosine decay reach about 98% test accuracy
# in under a minute on a 2-core CPU (benchmarks/bench_cnn.py prints both).
SMALL_CNN = dict(
    widths=(16, 32, 64), convs_per_stage=2, kernel_size=3, downsample="max"
)
SMALL_CNN_TRAINING = TrainConfig(
    epochs=7, batch_size=64, lr=3e-3, weight_decay=0.05, schedule="cosine"
)


def small_cnn_recipe(seed: int = 0, **overrides) -> tuple[nn.Module, TrainConfig]:
    """A freshly initialised SmallCNN (seeded) and its training configuration.

    ``overrides`` change SmallCNN arguments (for example ``padding_mode``).
    """
    seed_everything(seed)
    return SmallCNN(**{**SMALL_CNN, **overrides}), replace(
        SMALL_CNN_TRAINING, seed=seed
    )


# ViT for MNIST-5k: 4x4 patches (49 tokens), width 64, 4 blocks of 4 heads, mean
# pooling (about 139k parameters). On 4,000 images a plain ViT recipe underfits
# the task's invariances, so this one uses what the small-data ViT literature
# uses (Steiner et al. 2022; Beyer et al. 2022; Touvron et al. 2021): random
# shifts of up to 2 pixels, linear warm-up then cosine decay, weight decay and
# label smoothing. Chapter 07 shows which of these mattered; about 95-96% test
# accuracy in under two minutes on a 2-core CPU (benchmarks/bench_vit.py).
VIT = dict(
    patch_size=4,
    dim=64,
    depth=4,
    heads=4,
    mlp_dim=128,
    readout="mean",
    pos_embedding="learned",
)
VIT_TRAINING = TrainConfig(
    epochs=26,
    batch_size=128,
    lr=2e-3,
    weight_decay=0.05,
    warmup_epochs=3,
    schedule="cosine",
    label_smoothing=0.1,
)
VIT_MAX_SHIFT = 2  # pixels, each direction


def vit_recipe(
    seed: int = 0, *, stem: str = "patch", stem_kernels: str = "ours", **overrides
) -> tuple[nn.Module, TrainConfig, Callable[[torch.Tensor], torch.Tensor]]:
    """A freshly initialised ViT (seeded), its training configuration and augmentation.

    ``overrides`` change ViT arguments (for example ``pos_embedding="none"``).
    ``stem="conv"`` passes the ViT a :class:`~minimodels.hybrid.ConvStem` as its
    embedding (the hybrid; ``stem_kernels``: its layers, "ours" or "torch"), so
    a hybrid can be named in a JSON-able recipe. Pass the third item to
    ``fit(..., augment=...)``.
    """
    seed_everything(seed)
    args = {**VIT, **overrides}
    if stem == "conv":
        P, C, D = args["patch_size"], args.get("in_channels", 1), args["dim"]
        args["embedding"] = ConvStem(P, C, D, kernels=stem_kernels)
    elif stem != "patch":
        raise ValueError(
            "stem must be 'patch' (linear patch embedding) or 'conv' (ConvStem), "
            f"got {stem!r}"
        )
    model = ViT(**args)
    return (
        model,
        replace(VIT_TRAINING, seed=seed),
        partial(random_shift, max_shift=VIT_MAX_SHIFT),
    )


# Experiment-size models (chapters 08-12), about 20k parameters each, so that a
# comparison can afford three seeds and several variants on a 2-core CPU. Both
# families see the same number of training images (EXPERIMENT_SAMPLES, in batches
# of 64, whatever the training-set size) with their recipe's optimiser settings;
# the CNN uses torch's convolution kernels, which compute the same function as
# ours (tests/test_cnn.py) about 2.7x faster (benchmarks/bench_kernels.py).
SMALL_CNN_EXPERIMENT = dict(widths=(8, 16, 32), kernels="torch")
VIT_EXPERIMENT = dict(dim=32, depth=2, heads=2, mlp_dim=64)
HYBRID_EXPERIMENT = dict(
    VIT_EXPERIMENT, stem="conv", stem_kernels="torch"
)  # Xiao et al. 2021's conv stem
EXPERIMENT_SAMPLES = 24_000
EXPERIMENT_BATCH_SIZE = 64
