"""Every model the course trains, in one table, and one :func:`build` for all of them.

Chapter 04 trains the CNN recipe, chapter 07 the ViT recipe; the evidence
chapters (08-12) train the experiment-size models, small enough to afford
three seeds and several variants on a 2-core CPU. A :class:`Recipe` names the
family, the model's arguments, the training configuration and the shift
augmentation; :func:`build` turns one into a freshly initialised, seeded model.
Each entry says what it reaches and how it was chosen: always on the validation
split (``load_mnist5k().val``), never on the test split, which only reports
(``benchmarks/`` measures the recipes on it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple

import torch
from torch import nn

from .augment import random_shift
from .cnn import SmallCNN
from .hybrid import ConvStem
from .train import TrainConfig, seed_everything
from .vit import ViT

__all__ = [
    "Recipe",
    "Built",
    "RECIPES",
    "build",
    "results_path",
    "stored_ablation",
    "EXPERIMENT_SAMPLES",
    "BUDGETS",
    "CONVERGED_POINTS",
]

FAMILIES = ("cnn", "vit")


@dataclass(frozen=True)
class Recipe:
    """A model and how to train it.

    family: "cnn" (:class:`~minimodels.cnn.SmallCNN`) or "vit"
        (:class:`~minimodels.vit.ViT`; ``stem="conv"`` in ``model`` gives it a
        :class:`~minimodels.hybrid.ConvStem`, the hybrid).
    model: the model's arguments (JSON-able, so a recipe can key the cache).
    training: the optimiser's settings (:func:`~minimodels.train.fit`).
    max_shift: random shifts of up to this many pixels while training; 0: none.
    train_split: "train" (3,500 images; the validation split stays held out) or
        "train+val" (4,000: a frozen recipe retrained on both, its choices made
        on validation runs before; its curve is then the test split's, reported
        only).
    """

    family: str
    model: Mapping[str, Any]
    training: TrainConfig
    max_shift: int = 0
    train_split: str = "train"
    note: str = field(default="", compare=False)

    @property
    def merges_val(self) -> bool:
        """Whether the recipe trains on the validation split too (a frozen recipe)."""
        return self.train_split == "train+val"

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {self.family!r}")
        if self.train_split not in ("train", "train+val"):
            raise ValueError(
                f"train_split must be 'train' or 'train+val', got {self.train_split!r}"
            )


class Built(NamedTuple):
    """What :func:`build` returns: pass ``config`` and ``augment`` to ``fit``."""

    model: nn.Module
    config: TrainConfig
    augment: Callable[[torch.Tensor], torch.Tensor] | None


# The two recipes share the optimiser (AdamW, cosine decay, weight decay 0.05, label
# smoothing 0.1) and the augmentation (random shifts of up to 2 pixels): the families
# differ in the model and in what each needs to converge, not in how carefully they
# were tuned. Both were chosen on validation runs (training split only, three seeds);
# once frozen, they retrain on train + val (4,000 images) for the same number of
# images seen, and report the test split (benchmarks/bench_cnn.py, bench_vit.py).
_SHIFT = 2  # pixels, each direction

RECIPES: dict[str, Recipe] = {
    # SmallCNN: three stages of two 3x3 convolutions, 16-32-64 channels (about 73k
    # parameters). Chosen on val: two convolutions per stage beat one wider one at
    # the same cost; 20 epochs (70k images seen) with shifts and label smoothing beat
    # 15 without smoothing (99.6% vs 99.3% mean validation accuracy over 3 seeds);
    # on 4,000 images the same 70k images seen are 18 epochs. torch's kernels compute
    # the same function as ours (tests/test_cnn.py) about 2.7x faster
    # (benchmarks/bench_kernels.py); chapter 04 loads the weights into our own.
    "cnn": Recipe(
        "cnn",
        dict(
            widths=(16, 32, 64),
            convs_per_stage=2,
            kernel_size=3,
            downsample="max",
            kernels="torch",
        ),
        TrainConfig(
            epochs=18,
            batch_size=64,
            lr=3e-3,
            weight_decay=0.05,
            schedule="cosine",
            label_smoothing=0.1,
        ),
        max_shift=_SHIFT,
        train_split="train+val",
        note="about 99% test accuracy in under a minute on a 2-core CPU",
    ),
    # ViT: 7x7 patches (16 tokens), width 64, 4 blocks of 4 heads, mean pooling
    # (about 139k parameters). What the small-data ViT literature uses (Steiner et
    # al. 2022; Beyer et al. 2022; Touvron et al. 2021): shifts, linear warm-up then
    # cosine decay, weight decay, label smoothing, and many epochs. Chosen on val:
    # 7x7 patches make 16 tokens instead of 49, so each epoch is cheaper and the same
    # two minutes buy several times the epochs: 98.0% mean validation accuracy over
    # 3 seeds after 80 epochs (280k images seen); on 4,000 images the same 280k
    # images are 70 epochs. Chapter 07 quotes the full-budget ablation (what each
    # part is worth).
    "vit": Recipe(
        "vit",
        dict(
            patch_size=7,
            dim=64,
            depth=4,
            heads=4,
            mlp_dim=128,
            readout="mean",
            pos_embedding="learned",
        ),
        TrainConfig(
            epochs=70,
            batch_size=128,
            lr=2e-3,
            weight_decay=0.05,
            warmup_epochs=5,
            schedule="cosine",
            label_smoothing=0.1,
        ),
        max_shift=_SHIFT,
        train_split="train+val",
        note="about 98% test accuracy in under two minutes on a 2-core CPU",
    ),
}

# Experiment-size models (chapters 08-12), about 20k parameters each. Both families
# train for the same number of images seen, in batches of 64 whatever the training-set
# size, with their recipe's optimiser settings and no shifts unless a variant adds
# them. BUDGETS is the budget axis of chapters 09 and 11: every model a verdict reads
# trains at the larger budget (EXPERIMENT_SAMPLES) with three seeds, and once more at
# half of it (seed 0): a model has converged when doubling its budget moves its
# validation accuracy by less than CONVERGED_POINTS. Measured per training image on
# one thread of the 2-core machine: SmallCNN (8, 16, 32) 0.5 ms, the ViT 0.23 ms, the
# hybrid 0.7 ms; at 160,000 images that is 77, 36 and 111 s per run.
BUDGETS = (80_000, 160_000)
EXPERIMENT_SAMPLES = BUDGETS[-1]
CONVERGED_POINTS = 0.5
_EXPERIMENT_BATCH = 64
RECIPES["cnn-small"] = Recipe(
    "cnn",
    dict(RECIPES["cnn"].model, widths=(8, 16, 32)),
    replace(RECIPES["cnn"].training, batch_size=_EXPERIMENT_BATCH),
)
RECIPES["vit-small"] = Recipe(
    "vit",
    dict(RECIPES["vit"].model, dim=32, depth=2, heads=2, mlp_dim=64),
    replace(RECIPES["vit"].training, batch_size=_EXPERIMENT_BATCH),
)  # (train_split "train": the validation split stays held out)
# The hybrid: the small ViT behind Xiao et al. 2021's convolutional stem. The stem
# halves the image once per stage, so its tokens stand for 4x4 patches (49 tokens).
RECIPES["hybrid-small"] = Recipe(
    "vit",
    dict(RECIPES["vit-small"].model, patch_size=4, stem="conv", stem_kernels="torch"),
    RECIPES["vit-small"].training,
)


def build(
    recipe: str | Recipe, seed: int = 0, *, max_shift: int | None = None, **overrides
) -> Built:
    """A freshly initialised, seeded model of ``recipe``, its config and augmentation.

    recipe: a name in :data:`RECIPES` ("cnn", "vit", "cnn-small", "vit-small",
        "hybrid-small") or a :class:`Recipe`.
    max_shift: replaces the recipe's shift augmentation (0: none).
    overrides: change the model's arguments (for example ``padding_mode`` of a
        SmallCNN, ``pos_embedding`` or ``image_size`` of a ViT).
    """
    if isinstance(recipe, str):
        if recipe not in RECIPES:
            raise ValueError(
                f"recipe must be one of {tuple(RECIPES)} or a Recipe, got {recipe!r}"
            )
        recipe = RECIPES[recipe]
    seed_everything(seed)
    args = {**recipe.model, **overrides}
    if recipe.family == "cnn":
        model: nn.Module = SmallCNN(**args)
    else:
        stem, kernels = args.pop("stem", "patch"), args.pop("stem_kernels", "ours")
        if stem == "conv":
            P, C, D = args["patch_size"], args.get("in_channels", 1), args["dim"]
            args["embedding"] = ConvStem(P, C, D, kernels=kernels)
        elif stem != "patch":
            raise ValueError(
                "stem must be 'patch' (linear patch embedding) or 'conv' (ConvStem), "
                f"got {stem!r}"
            )
        model = ViT(**args)
    shift = recipe.max_shift if max_shift is None else max_shift
    augment = partial(random_shift, max_shift=shift) if shift else None
    return Built(model, replace(recipe.training, seed=seed), augment)


def results_path(recipe: str) -> Path:
    """Where ``benchmarks/bench_<recipe>.py --ablation --save`` stores its runs."""
    return Path(__file__).resolve().parent / "results" / f"{recipe}_ablation.json"


def stored_ablation(recipe: str) -> dict:
    """The stored full-budget ablation of ``recipe`` ("cnn" or "vit"): per arm
    ("recipe", "recipe without shifts", "plain"), the validation and test
    accuracies and training seconds of each seed, and the command and machine
    that measured them."""
    path = results_path(recipe)
    if not path.is_file():
        raise FileNotFoundError(
            f"no stored ablation for {recipe!r} at {path}: run "
            f"benchmarks/bench_{recipe}.py --seeds 0 1 2 --ablation --save"
        )
    return json.loads(path.read_text())
