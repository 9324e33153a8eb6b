"""The experiments of the evidence chapters (08-13), runnable outside the notebooks.

Every experiment trains through :func:`train`, which builds a model from
``minimodels.recipes``, trains it with :func:`minimodels.train.fit` and caches
the trained weights and learning curves (:mod:`minimodels.cache`), keyed by the
full specification. So chapter 04's CNN and chapter 07's ViT are trained once
per build and reused by chapters 08-13, and chapter 13 re-reads every result
instead of recomputing it.

From a terminal::

    python -c "from minimodels import experiments as E; print(E.train('vit', seed=1).test_acc)"
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any, Callable, Mapping

import torch
from torch import nn
from torch.utils.data import TensorDataset

from . import recipes
from .augment import random_shift
from .cache import cached
from .data import load_mnist5k
from .synthetic import make_diagonal_pairs
from .train import History, TrainConfig, count_parameters, evaluate, fit

__all__ = ["FAMILIES", "DATASETS", "Trained", "build", "dataset", "balanced_subset", "train", "summarise"]

FAMILIES = ("cnn", "vit")
DATASETS = ("mnist5k", "diagonal")


@dataclass
class Trained:
    """A trained model with its learning curves and the specification that made it."""

    model: nn.Module
    history: History
    spec: dict

    @property
    def test_acc(self) -> float:
        return self.history.test_acc[-1]

    @property
    def parameters(self) -> int:
        return count_parameters(self.model)


def build(family: str, seed: int = 0, **overrides) -> tuple[nn.Module, TrainConfig, int]:
    """A freshly initialised model of ``family`` from its recipe, its training config and its max shift.

    ``overrides`` change the model's arguments (``SmallCNN`` or ``ViT``). The
    ViT's recipe shifts images by up to ``recipes.VIT_MAX_SHIFT`` pixels; the
    CNN's does not shift.
    """
    if family == "cnn":
        model, config = recipes.small_cnn_recipe(seed, **overrides)
        return model, config, 0
    if family == "vit":
        model, config, _ = recipes.vit_recipe(seed, **overrides)
        return model, config, recipes.VIT_MAX_SHIFT
    raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")


def balanced_subset(data: TensorDataset, n: int) -> TensorDataset:
    """The first ``n`` images of a fixed shuffle, taking the same number from every class.

    Nested: the subset of 500 contains the subset of 250, so a learning curve
    adds images rather than swapping them.
    """
    x, y = data.tensors[0], data.tensors[1]
    classes = int(y.max()) + 1
    if not 0 < n <= len(y) or n % classes:
        raise ValueError(f"n must be a multiple of the {classes} classes between {classes} and {len(y)}, got {n}")
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(1234))
    per_class = [order[y[order] == c][: n // classes] for c in range(classes)]
    # Interleave so any prefix of the result is balanced too.
    idx = torch.stack(per_class, dim=1).reshape(-1)
    return TensorDataset(x[idx], y[idx])


def dataset(name: str, n_train: int | None = None) -> tuple[TensorDataset, TensorDataset, int]:
    """``(train, test, num_classes)`` of ``name``: "mnist5k" (4,000 / 1,000) or "diagonal" (synthetic)."""
    if name == "mnist5k":
        split = load_mnist5k()
        train_set, test_set, classes = split.train, split.test, 10
    elif name == "diagonal":
        train_set = make_diagonal_pairs(n_train or 4000, seed=1000)
        test_set, classes = make_diagonal_pairs(1000, seed=2000), 2
    else:
        raise ValueError(f"dataset must be one of {DATASETS}, got {name!r}")
    train_set = TensorDataset(*train_set.tensors[:2])
    if n_train is not None and n_train != len(train_set):
        train_set = balanced_subset(train_set, n_train)
    return train_set, test_set, classes


def train(
    family: str,
    *,
    seed: int = 0,
    data: str = "mnist5k",
    n_train: int | None = None,
    max_shift: int | None = None,
    model: Mapping[str, Any] | None = None,
    training: Mapping[str, Any] | None = None,
    samples: int | None = None,
    progress: bool = True,
) -> Trained:
    """Train (or load from the cache) one model; every argument is part of the cache key.

    family: "cnn" (``recipes.SMALL_CNN``) or "vit" (``recipes.VIT``).
    data, n_train: see :func:`dataset`; ``n_train`` takes a balanced subset.
    max_shift: random shifts of up to this many pixels (default: the recipe's).
    model: overrides of the model's arguments; training: of its ``TrainConfig``.
    samples: if given, train for ``ceil(samples / n_train)`` epochs, i.e. a fixed
        number of images seen whatever the training-set size (learning curves),
        and evaluate only at the end (``history.test_acc`` has one entry).
    """
    model_args = dict(model or {})
    train_set, test_set, classes = dataset(data, n_train)
    if classes != 10:
        model_args["num_classes"] = classes
    net, config, default_shift = build(family, seed, **model_args)
    shift = default_shift if max_shift is None else max_shift
    config = replace(config, **dict(training or {}), seed=seed)
    if samples is not None:
        config = replace(config, epochs=max(1, math.ceil(samples / len(train_set))))
    spec = {
        "family": family, "seed": seed, "data": data, "n_train": len(train_set), "max_shift": shift,
        "model": model_args, "training": asdict(config),
    }

    def run() -> dict:
        augment = partial(random_shift, max_shift=shift) if shift else None
        if samples is None:  # learning curves: test accuracy after every epoch
            history = fit(net, train_set, test_set, config, augment=augment, progress=progress)
        else:  # many short epochs: evaluate once, at the end
            history = fit(net, train_set, None, config, augment=augment, progress=progress)
            loss, acc = evaluate(net, test_set)
            history.test_loss, history.test_acc = [loss], [acc]
        return {"state": {k: v.detach().cpu() for k, v in net.state_dict().items()}, "history": asdict(history)}

    result = cached(f"{family}-{data}", spec, run)
    net.load_state_dict(result["state"])
    net.to("cpu").eval()
    return Trained(net, History(**result["history"]), spec)


def summarise(values) -> tuple[float, float]:
    """(mean, standard deviation) of a list of numbers; the spread is 0 for one value."""
    t = torch.tensor([float(v) for v in values], dtype=torch.float64)
    return float(t.mean()), float(t.std(unbiased=True)) if len(t) > 1 else 0.0
