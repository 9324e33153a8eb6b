"""The shared runner of the evidence chapters: data, training requests, the cache,
worker processes.

A *request* is a dict of :func:`train`'s keyword arguments (JSON-able, so it
keys the cache). :func:`train` builds the model from its recipe
(:func:`minimodels.recipes.build`), trains it on the training split while
recording the validation curve, measures the test split once at the end, and
caches weights and curves (:mod:`minimodels.cache`). :func:`train_many` trains
the requests that are not cached yet in worker processes; :func:`warm_up`
(``make models``) does that for every model of the book before it is built.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import hashlib
import inspect
import json
import math
import multiprocessing
import os
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Iterator, Mapping

import torch
from torch import nn
from torch.utils.data import TensorDataset

from .. import recipes
from ..cache import cache_dir, cache_path, cached
from ..data import load_mnist5k, permute_pixels
from ..synthetic import make_diagonal_pairs
from ..train import (
    History,
    _progress,  # the one bar policy
    count_parameters,
    evaluate,
    fit,
)

__all__ = [
    "DATASETS",
    "SEEDS",
    "Data",
    "Trained",
    "dataset",
    "balanced_subset",
    "request",
    "train",
    "train_many",
    "train_groups",
    "is_cached",
    "request_key",
]

DATASETS = ("mnist5k", "mnist5k-permuted", "diagonal")
SEEDS = (0, 1, 2)  # every number a verdict reads is a mean over these

# Trained weights depend on the model, data and training code, not on how the chapters
# analyse them: the analysis modules (and this subpackage) are left out of the trained
# models' cache key, so editing a measurement does not retrain a hundred models. The
# functions here that turn a request into a training run are keyed by their own source
# instead (``_training_code``).
ANALYSIS = (
    "experiments",
    "attention_ablation.py",
    "attention_distance.py",
    "corruptions.py",
    "flops.py",
    "probes.py",
    "receptive_field.py",
    "shifts.py",
    "stats.py",
    "summary.py",
    "timing.py",
)

# At most this many validation points per learning curve: a run on 250 images for
# 160,000 images seen has 640 epochs, and measuring 500 validation images after each
# would cost more than the training.
CURVE_POINTS = 40


@dataclass(frozen=True)
class Data:
    """The splits a run trains, validates and tests on (``val`` is None when it
    joined the training data)."""

    train: TensorDataset
    val: TensorDataset | None
    test: TensorDataset
    classes: int


@dataclass
class Trained:
    """A trained model, its learning curves, its test result and its request."""

    model: nn.Module
    history: History  # training curves and the validation curve
    test_acc: float  # measured once, after training
    test_loss: float
    spec: dict

    @property
    def parameters(self) -> int:
        return count_parameters(self.model)

    @property
    def val_acc(self) -> float:
        """Accuracy on the monitored split at the end of training (``spec["curve"]``:
        "val", or "test" for a frozen recipe retrained on train + val)."""
        return self.history.val_acc[-1]

    @property
    def images_seen(self) -> int:
        return self.spec["training"]["epochs"] * self.spec["n_train"]


def balanced_subset(data: TensorDataset, n: int, seed: int = 0) -> TensorDataset:
    """``n`` images of ``data``, the same number from every class, drawn with ``seed``.

    Nested for one seed: the subset of 500 contains the subset of 250, so a learning
    curve adds images rather than swapping them; another seed draws other images.
    Interleaved: any prefix of the result is balanced too.
    """
    x, y = data.tensors[0], data.tensors[1]
    classes = int(y.max()) + 1
    if not 0 < n <= len(y) or n % classes:
        raise ValueError(
            f"n must be a multiple of the {classes} classes between {classes} "
            f"and {len(y)}, got {n}"
        )
    g = torch.Generator().manual_seed(1234 + seed)
    order = torch.randperm(len(y), generator=g)
    per_class = [order[y[order] == c][: n // classes] for c in range(classes)]
    if min(len(p) for p in per_class) < n // classes:
        raise ValueError(f"some class has fewer than {n // classes} images")
    idx = torch.stack(per_class, dim=1).reshape(-1)
    return TensorDataset(x[idx], y[idx])


# each run asks twice (cached? then train); loading checks a sha256 or draws shapes
@functools.lru_cache(maxsize=32)
def dataset(
    name: str, n_train: int | None = None, subset_seed: int = 0, merge_val=False
) -> Data:
    """The splits of ``name``: "mnist5k" (3,500 / 500 / 1,000), "mnist5k-permuted"
    (the same digits, their pixels shuffled by one fixed permutation:
    :func:`~minimodels.data.permute_pixels`) or "diagonal" (synthetic,
    4,000 / 500 / 1,000).

    n_train: a class-balanced subset of the training split, drawn with
    ``subset_seed``. merge_val: the validation split joins the training split
    (a frozen recipe). Cached per process: callers must not modify the tensors.
    """
    if name in ("mnist5k", "mnist5k-permuted"):
        split = load_mnist5k()
        train_set, val_set, test_set, classes = split.train, split.val, split.test, 10
        if name == "mnist5k-permuted":  # one permutation for all three splits
            train_set, val_set, test_set = (
                TensorDataset(permute_pixels(d.tensors[0]), d.tensors[1])
                for d in (train_set, val_set, test_set)
            )
    elif name == "diagonal":
        train_set = make_diagonal_pairs(n_train or 4000, seed=1000)
        val_set = make_diagonal_pairs(500, seed=3000)
        test_set, classes = make_diagonal_pairs(1000, seed=2000), 2
    else:
        raise ValueError(f"dataset must be one of {DATASETS}, got {name!r}")
    train_set, val_set, test_set = (
        TensorDataset(*d.tensors[:2]) for d in (train_set, val_set, test_set)
    )
    if merge_val:
        both = zip(train_set.tensors, val_set.tensors)
        train_set, val_set = TensorDataset(*(torch.cat(pair) for pair in both)), None
    if n_train is not None and n_train != len(train_set):
        train_set = balanced_subset(train_set, n_train, subset_seed)
    return Data(train_set, val_set, test_set, classes)


def request(recipe: str, seed: int, **kwargs) -> dict:
    """The request for a model of ``recipe`` (a name in ``recipes.RECIPES``).

    Experiment-size recipes ("...-small") train for the full budget
    (``recipes.BUDGETS[-1]`` images seen) unless ``samples`` says otherwise;
    ``kwargs`` are further :func:`train` arguments. ``model`` entries equal to
    the recipe's own are dropped, and so is ``data="mnist5k"`` (the default), so
    the same model asked for in two ways (chapter 09's "CNN w8" and chapter 10's
    "CNN") is one request and is trained once.
    """
    if recipe not in recipes.RECIPES:
        raise ValueError(
            f"recipe must be one of {tuple(recipes.RECIPES)}, got {recipe!r}"
        )
    out: dict[str, Any] = {"recipe": recipe, "seed": seed}
    if kwargs.get("data") == "mnist5k":  # the default: one request, however asked
        del kwargs["data"]
    if recipe.endswith("-small"):
        out["samples"] = recipes.BUDGETS[-1]  # read now: an instructor may change it
    if "model" in kwargs:
        default = recipes.RECIPES[recipe].model
        model = {
            k: v
            for k, v in kwargs.pop("model").items()
            if k not in default or default[k] != v
        }
        if model:
            kwargs["model"] = model
    return {**out, **kwargs}


def request_key(request: dict) -> str:
    """One string per distinct request (the order of its keys is irrelevant)."""
    return json.dumps(request, sort_keys=True)


def _prepare(
    recipe: str,
    *,
    seed: int = 0,
    data: str = "mnist5k",
    n_train: int | None = None,
    max_shift: int | None = None,
    model: Mapping[str, Any] | None = None,
    training: Mapping[str, Any] | None = None,
    samples: int | None = None,
):
    """Everything :func:`train` needs, and the specification that keys the cache."""
    model_args = dict(model or {})
    # Subsets change with the seed, so a learning curve's spread includes which
    # images were drawn, not only the initialisation.
    merge = recipes.RECIPES[recipe].merges_val
    splits = dataset(data, n_train, seed, merge)
    if splits.classes != 10:
        model_args["num_classes"] = splits.classes
    built = recipes.build(recipe, seed, max_shift=max_shift, **model_args)
    config = replace(built.config, **dict(training or {}), seed=seed)
    if samples is not None:
        # A fixed number of images seen; warm-up keeps its share of the schedule.
        epochs = max(1, math.ceil(samples / len(splits.train)))
        config = replace(
            config,
            epochs=epochs,
            warmup_epochs=round(config.warmup_epochs * epochs / config.epochs, 3),
        )
    shift = recipes.RECIPES[recipe].max_shift if max_shift is None else max_shift
    spec = {
        "recipe": recipe,
        "seed": seed,
        "data": data,
        "n_train": len(splits.train),
        "max_shift": shift,
        "model": model_args,
        "training": asdict(config),
        "curve": "val" if splits.val is not None else "test",
        "code": _training_code(),
    }
    return built.model, built.augment, splits, config, spec


@functools.lru_cache(maxsize=1)
def _training_code() -> str:
    """A digest of the source of the functions that turn a request into a run."""
    parts = [
        inspect.getsource(f)
        for f in (balanced_subset, dataset, _prepare, train, _fast_layout, Trained)
    ]
    return hashlib.sha256("".join(parts).encode()).hexdigest()[:16]


def _fast_layout(net: nn.Module) -> nn.Module:
    """``net`` with its convolution weights (hence activations) stored channels-last
    where that trains faster on a CPU: when every convolution has at least 8 output
    channels. Measured per run on one core (batch 64): the experiment CNN (8-16-32)
    82 -> 64 s, blur pooling 117 -> 79 s, the hybrid's stem 125 -> 96 s; but chapter
    09's 2- and 4-channel CNNs slower (42 -> 55 s, 51 -> 57 s). The same function,
    summed in another order; a model without convolutions (the ViT) is unchanged."""
    widths = [m.out_channels for m in net.modules() if isinstance(m, nn.Conv2d)]
    if widths and min(widths) >= 8:
        return net.to(memory_format=torch.channels_last)
    return net


def _run_name(spec: dict) -> str:
    """The cache file name of a training run, before its key: recipe and data set."""
    return f"{spec['recipe']}-{spec['data']}"


def train(recipe: str, *, progress: bool = True, **kwargs) -> Trained:
    """Train (or load from the cache) one model; every argument is part of the key.

    recipe: a name in ``recipes.RECIPES``.
    seed: seeds the initialisation, shuffling, augmentation and the subset.
    data, n_train: see :func:`dataset`; ``n_train`` takes a balanced subset.
    max_shift: random shifts of up to this many pixels (default: the recipe's).
    model: overrides of the model's arguments; training: of its ``TrainConfig``.
    samples: if given, train for ``ceil(samples / n_train)`` epochs, i.e. a fixed
        number of images seen whatever the training-set size, with the recipe's
        share of warm-up.
    The validation curve has at most about ``CURVE_POINTS`` points; the test split
    is measured once, at the end. A frozen recipe (``train_split="train+val"``)
    trains on both and records the test curve instead (``spec["curve"]``).
    """
    net, augment, splits, config, spec = _prepare(recipe, **kwargs)

    def run() -> dict:
        every = max(1, config.epochs // CURVE_POINTS)
        history = fit(
            _fast_layout(net),
            splits.train,
            splits.val if splits.val is not None else splits.test,
            config,
            augment=augment,
            progress=progress,
            val_every=every,
        )
        loss, acc = evaluate(net, splits.test)
        return {
            "state": {k: v.detach().cpu() for k, v in net.state_dict().items()},
            "history": asdict(history),
            "test": [loss, acc],
        }

    result = cached(_run_name(spec), spec, run, exclude=ANALYSIS)
    net.load_state_dict(result["state"])
    net.to("cpu").eval()
    loss, acc = result["test"]
    return Trained(net, History(**result["history"]), acc, loss, spec)


def _one_thread() -> None:
    torch.set_num_threads(1)


def _in_workers(function: Callable[[Any], Any], items: list, workers: int) -> Iterator:
    """``function(item)`` for each item, in ``workers`` new processes of one torch
    thread each (spawned: they inherit nothing but what they import), started in
    the order of ``items``. Yields each result as its run finishes, re-raising a
    worker's error. The workers of :func:`train_many` and of ``make models``'
    analyses (:func:`~minimodels.experiments.warmup.analyse`)."""
    with cf.ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_one_thread,
    ) as pool:
        for future in cf.as_completed([pool.submit(function, x) for x in items]):
            yield future.result()


def _train_quietly(request: dict) -> None:
    """Worker: one run, stored in the cache (the parent reads it back)."""
    train(**request, progress=False)


def _stored(spec: dict) -> bool:
    path = cache_path(_run_name(spec), spec, ANALYSIS)
    return path is not None and path.is_file()


def is_cached(request: dict) -> bool:
    """Whether :func:`train` would load ``request`` from the cache, not train it."""
    return _stored(_prepare(**request)[-1])


def train_many(
    requests: list[dict], workers: int | None = None, progress: bool = True
) -> list[Trained]:
    """:func:`train` for each request, the missing ones in parallel.

    Small models use one core about as well as two, so runs that are not yet
    cached are spread over ``workers`` processes of one thread each (default:
    the number of cores), which nearly halves the wall time on a 2-core machine.
    The longest runs start first. Results go through the cache, so they are
    identical to a sequential run on the same machine.
    """
    workers = workers or os.cpu_count() or 1
    specs = {request_key(r): _prepare(**r)[-1] for r in requests}  # once per run
    missing = [r for r in requests if not _stored(specs[request_key(r)])]
    # dedupe by what is trained (two chapters may ask for the same run, even in two
    # ways: n_train=3500 is the whole split), longest first
    unique = list({request_key(specs[request_key(r)]): r for r in missing}.values())
    unique.sort(key=lambda r: _cost(specs[request_key(r)]), reverse=True)
    if unique and workers > 1 and cache_dir() is not None:
        bar = _progress(len(unique), progress, desc=f"training {len(unique)} models")
        for _ in _in_workers(_train_quietly, unique, workers):
            bar.update()
        bar.close()
    return [
        train(**r, progress=progress and r in missing and workers == 1)
        for r in requests
    ]


def _cost(spec: dict) -> float:
    """A rough relative cost of a run, to start the longest runs first."""
    size = 4.0 if not spec["recipe"].endswith("-small") else 1.0
    return size * spec["training"]["epochs"] * spec["n_train"]


def train_groups(
    groups: Mapping[Any, list[dict]], progress: bool = True
) -> dict[Any, list[Trained]]:
    """:func:`train_many` over every request of ``groups`` (name -> requests) in one
    pool; the runs, grouped alike."""
    trained = iter(
        train_many([r for reqs in groups.values() for r in reqs], progress=progress)
    )
    return {name: [next(trained) for _ in reqs] for name, reqs in groups.items()}
