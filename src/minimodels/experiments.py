r"""The experiments of the evidence chapters (08-13), runnable outside the notebooks.

Every experiment trains through :func:`train`, which builds a model from
``minimodels.recipes``, trains it with :func:`minimodels.train.fit` and caches
the trained weights and learning curves (:mod:`minimodels.cache`), keyed by the
full specification. So chapter 04's CNN and chapter 07's ViT are trained once
per build and reused by chapters 08-13, and chapter 13 re-reads every result
instead of recomputing it.

From a terminal::

    python -c "from minimodels import experiments as E; \
    print(E.train('vit', seed=1).test_acc)"
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import hashlib
import inspect
import math
import multiprocessing
import os
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any, Mapping

import torch
from torch import nn
from torch.utils.data import TensorDataset

from . import recipes
from .augment import random_shift
from .cache import cache_dir, cache_path, cached
from .data import load_mnist5k
from .patches import PatchEmbedding
from .synthetic import make_diagonal_pairs
from .train import (
    History,
    TrainConfig,
    _progress,  # the one bar policy
    count_parameters,
    evaluate,
    fit,
)

__all__ = [
    "FAMILIES",
    "DATASETS",
    "Trained",
    "build",
    "dataset",
    "balanced_subset",
    "train",
    "train_many",
    "train_groups",
    "experiment_run",
    "summarise",
    "locality",
    "parameter_efficiency",
    "translation",
    "data_efficiency",
    "robustness",
]

FAMILIES = ("cnn", "vit")

# Trained weights depend on the model, data and training code, not on how the chapters
# analyse them: these modules (and this one) are left out of the trained models' cache
# key, so editing a measurement does not retrain a hundred models. The functions of this
# module that turn a request into a training run are keyed by their own source instead
# (``_training_code``).
_ANALYSIS = (
    "experiments.py",
    "attention_distance.py",
    "corruptions.py",
    "flops.py",
    "receptive_field.py",
    "shifts.py",
    "summary.py",
    "timing.py",
)
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


def build(
    family: str, seed: int = 0, **overrides
) -> tuple[nn.Module, TrainConfig, int]:
    """A freshly initialised model of ``family`` from its recipe, its training config
    and its max shift.

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
    """The first ``n`` images of a fixed shuffle, taking the same number from every
    class.

    Nested: the subset of 500 contains the subset of 250, so a learning curve
    adds images rather than swapping them.
    """
    x, y = data.tensors[0], data.tensors[1]
    classes = int(y.max()) + 1
    if not 0 < n <= len(y) or n % classes:
        raise ValueError(
            f"n must be a multiple of the {classes} classes between {classes} "
            f"and {len(y)}, got {n}"
        )
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(1234))
    per_class = [order[y[order] == c][: n // classes] for c in range(classes)]
    # Interleave so any prefix of the result is balanced too.
    idx = torch.stack(per_class, dim=1).reshape(-1)
    return TensorDataset(x[idx], y[idx])


# each run asks twice (cached? then train); loading checks a sha256 or draws shapes
@functools.lru_cache(maxsize=16)
def dataset(
    name: str, n_train: int | None = None
) -> tuple[TensorDataset, TensorDataset, int]:
    """``(train, test, num_classes)`` of ``name``: "mnist5k" (4,000 / 1,000) or
    "diagonal" (synthetic).

    Cached per process: the same tensors are returned to every caller, which must not
    modify them.
    """
    if name == "mnist5k":
        # All 4,000 non-test images (train + val), as the recipes were set up:
        # nothing here chooses on the validation split yet.
        split = load_mnist5k()
        train_set, test_set, classes = split.train_and_val(), split.test, 10
    elif name == "diagonal":
        train_set = make_diagonal_pairs(n_train or 4000, seed=1000)
        test_set, classes = make_diagonal_pairs(1000, seed=2000), 2
    else:
        raise ValueError(f"dataset must be one of {DATASETS}, got {name!r}")
    train_set = TensorDataset(*train_set.tensors[:2])
    if n_train is not None and n_train != len(train_set):
        train_set = balanced_subset(train_set, n_train)
    return train_set, test_set, classes


def _prepare(
    family: str,
    *,
    seed: int = 0,
    data: str = "mnist5k",
    n_train: int | None = None,
    max_shift: int | None = None,
    model: Mapping[str, Any] | None = None,
    training: Mapping[str, Any] | None = None,
    samples: int | None = None,
    curves: bool | None = None,
) -> tuple[nn.Module, TensorDataset, TensorDataset, TrainConfig, int, bool, dict]:
    """Everything :func:`train` needs, and the specification that keys the cache."""
    model_args = dict(model or {})
    train_set, test_set, classes = dataset(data, n_train)
    if classes != 10:
        model_args["num_classes"] = classes
    net, config, default_shift = build(family, seed, **model_args)
    shift = default_shift if max_shift is None else max_shift
    config = replace(config, **dict(training or {}), seed=seed)
    if samples is not None:
        # A fixed number of images seen; warm-up keeps its share of the schedule.
        epochs = max(1, math.ceil(samples / len(train_set)))
        config = replace(
            config,
            epochs=epochs,
            warmup_epochs=round(config.warmup_epochs * epochs / config.epochs, 3),
        )
    curves = samples is None if curves is None else curves
    spec = {
        "family": family,
        "seed": seed,
        "data": data,
        "n_train": len(train_set),
        "max_shift": shift,
        "model": model_args,
        "training": asdict(config),
        "curves": curves,
        "code": _training_code(),
    }
    return net, train_set, test_set, config, shift, curves, spec


@functools.lru_cache(maxsize=1)
def _training_code() -> str:
    """A digest of the source of the functions that turn a request into a training
    run."""
    parts = [
        inspect.getsource(f) for f in (build, balanced_subset, dataset, _prepare, train)
    ]
    return hashlib.sha256("".join(parts).encode()).hexdigest()[:16]


def train(family: str, *, progress: bool = True, **kwargs) -> Trained:
    """Train (or load from the cache) one model; every argument is part of the cache
    key.

    family: "cnn" (``recipes.SMALL_CNN``) or "vit" (``recipes.VIT``).
    seed: seeds the initialisation, shuffling and augmentation.
    data, n_train: see :func:`dataset`; ``n_train`` takes a balanced subset.
    max_shift: random shifts of up to this many pixels (default: the recipe's).
    model: overrides of the model's arguments; training: of its ``TrainConfig``.
    samples: if given, train for ``ceil(samples / n_train)`` epochs, i.e. a fixed
        number of images seen whatever the training-set size (learning curves),
        with the recipe's share of warm-up.
    curves: test accuracy after every epoch (default: only without ``samples``);
        otherwise once, at the end (``history.test_acc`` has one entry).
    """
    net, train_set, test_set, config, shift, curves, spec = _prepare(family, **kwargs)

    def run() -> dict:
        augment = partial(random_shift, max_shift=shift) if shift else None
        if curves:
            history = fit(
                net, train_set, test_set, config, augment=augment, progress=progress
            )
        else:
            history = fit(
                net, train_set, None, config, augment=augment, progress=progress
            )
            loss, acc = evaluate(net, test_set)
            history.test_loss, history.test_acc = [loss], [acc]
        return {
            "state": {k: v.detach().cpu() for k, v in net.state_dict().items()},
            "history": asdict(history),
        }

    result = cached(_run_name(spec), spec, run, exclude=_ANALYSIS)
    net.load_state_dict(result["state"])
    net.to("cpu").eval()
    return Trained(net, History(**result["history"]), spec)


def summarise(values) -> tuple[float, float]:
    """(mean, sample standard deviation) of a list of numbers; the spread is 0 for one
    value."""
    t = torch.tensor([float(v) for v in values], dtype=torch.float64)
    return float(t.mean()), float(t.std(unbiased=True)) if len(t) > 1 else 0.0


# ---------------------------------------------------------------- many runs at once


def _train_quietly(request: dict) -> None:
    """Worker: one run, one thread, stored in the cache (the parent reads it back)."""
    torch.set_num_threads(1)
    train(**request, progress=False)


def _run_name(spec: dict) -> str:
    """The cache file name of a training run, before its key: family and data set."""
    return f"{spec['family']}-{spec['data']}"


def _is_cached(request: dict) -> bool:
    """Whether :func:`train` would load ``request`` from the cache instead of
    training."""
    spec = _prepare(**request)[-1]
    path = cache_path(_run_name(spec), spec, _ANALYSIS)
    return path is not None and path.is_file()


def train_many(
    requests: list[dict], workers: int | None = None, progress: bool = True
) -> list[Trained]:
    """:func:`train` for each request (a dict of its keyword arguments), in parallel.

    Small models use one core about as well as two, so runs that are not yet
    cached are spread over ``workers`` processes of one thread each (default:
    the number of cores, at most 2), which nearly halves the wall time on a
    2-core machine. Results go through the cache, so they are identical to a
    sequential run on the same machine.
    """
    workers = workers or min(2, os.cpu_count() or 1)
    missing = [r for r in requests if not _is_cached(r)]
    if missing and workers > 1 and cache_dir() is not None:
        bar = _progress(len(missing), progress, desc=f"training {len(missing)} models")
        with cf.ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            for future in cf.as_completed(
                [pool.submit(_train_quietly, r) for r in missing]
            ):
                future.result()  # re-raises a worker's error here
                bar.update()
        bar.close()
    return [
        train(**r, progress=progress and r in missing and workers == 1)
        for r in requests
    ]


def train_groups(
    groups: Mapping[Any, list[dict]], progress: bool = True
) -> dict[Any, list[Trained]]:
    """:func:`train_many` over every request of ``groups`` (name -> requests) in one
    pool; the runs, grouped alike."""
    trained = iter(
        train_many([r for reqs in groups.values() for r in reqs], progress=progress)
    )
    return {name: [next(trained) for _ in reqs] for name, reqs in groups.items()}


def experiment_run(family: str, seed: int, **kwargs) -> dict:
    """The request for an experiment-size model (``recipes.*_EXPERIMENT``) of
    ``family``.

    family: "cnn", "vit" or "hybrid" (a ViT with a convolutional stem).
    ``kwargs`` are further :func:`train` arguments; ``model`` entries extend
    the experiment model's arguments.
    """
    base = {
        "cnn": ("cnn", recipes.SMALL_CNN_EXPERIMENT),
        "vit": ("vit", recipes.VIT_EXPERIMENT),
        "hybrid": ("vit", recipes.HYBRID_EXPERIMENT),
    }
    if family not in base:
        raise ValueError(f"family must be one of {tuple(base)}, got {family!r}")
    fam, model = base[family]
    return {
        "family": fam,
        "seed": seed,
        "samples": recipes.EXPERIMENT_SAMPLES,
        **kwargs,
        "model": {**model, **kwargs.get("model", {})},
        "training": {
            "batch_size": recipes.EXPERIMENT_BATCH_SIZE,
            **kwargs.get("training", {}),
        },
    }


SEEDS = (0, 1, 2)


def _stats(values: list[float]) -> dict:
    mean, std = summarise(values)
    return {"values": [float(v) for v in values], "mean": mean, "std": std}


def _recipe_models() -> tuple[Trained, Trained]:
    """Chapter 04's CNN and chapter 07's ViT (seed 0, full recipes), trained once per
    build."""
    return train("cnn", seed=0), train("vit", seed=0)


# ---------------------------------------------------------------- chapter 08

DIAGONAL_MODELS = {
    # name: (family, model arguments, epochs); tens of seconds per run on one core
    # (the chapter lists them)
    "local CNN": ("cnn", dict(widths=(16,), convs_per_stage=3, kernels="torch"), 10),
    "SmallCNN": ("cnn", dict(recipes.SMALL_CNN_EXPERIMENT), 10),
    "ViT": ("vit", dict(recipes.VIT_EXPERIMENT, patch_size=14), 40),
}


def diagonal_requests(seeds=SEEDS) -> dict[str, list[dict]]:
    """The runs of chapter 08's long-range task, by model name."""
    return {
        name: [
            {
                "family": fam,
                "seed": s,
                "data": "diagonal",
                "max_shift": 0,
                "model": model,
                "training": {"epochs": epochs},
                "curves": True,
            }
            for s in seeds
        ]
        for name, (fam, model, epochs) in DIAGONAL_MODELS.items()
    }


def locality(seeds=SEEDS, progress: bool = True) -> dict:
    """Chapter 08: receptive fields vs attention distances, mixing, and the long-range
    task."""
    return cached(
        "results-locality", {"seeds": list(seeds)}, lambda: _locality(seeds, progress)
    )


def _locality(seeds, progress: bool) -> dict:
    from .attention_distance import mean_attention_distance
    from .patches import linear_to_conv_weight
    from .receptive_field import receptive_field

    cnn, vit = _recipe_models()
    images = load_mnist5k().test.tensors[0][:500]
    stack = nn.Sequential(*cnn.model.stages)
    rf = [
        (layer.layer, layer.size)
        for layer in receptive_field(stack)
        if layer.layer.startswith("Conv")
    ]
    mad = mean_attention_distance(vit.model, images)  # (depth, heads), pixels
    with torch.no_grad():
        attn = vit.model.features(images)["attention"]  # per block (B, h, N, N)
        self_weight = [a.diagonal(dim1=-2, dim2=-1).mean().item() for a in attn]
        pe = vit.model.patch_embed
        conv = torch.nn.functional.conv2d(
            images,
            linear_to_conv_weight(pe.proj.weight, vit.model.patch_size, 1),
            pe.proj.bias,
            stride=vit.model.patch_size,
        )  # (B, D, 7, 7)
        embed_vs_conv = (
            (pe(images) - conv.flatten(2).transpose(1, 2)).abs().max().item()
        )
    runs = train_groups(diagonal_requests(seeds), progress=progress)
    return {
        "cnn_rf": rf,
        "vit_mad": mad.tolist(),
        "image_size": vit.model.image_size,
        "patch_size": vit.model.patch_size,
        "other_token_weight": [1 - w for w in self_weight],
        "embed_vs_conv": embed_vs_conv,
        "diagonal": {
            name: {
                **_stats([t.test_acc for t in ts]),
                "parameters": ts[0].parameters,
                "seconds": summarise([t.history.seconds for t in ts])[0],
                "curves": [t.history.test_acc for t in ts],
            }
            for name, ts in runs.items()
        },
    }


# ---------------------------------------------------------------- chapter 09

CNN_WIDTHS = (4, 8, 16)  # SmallCNN widths (w, 2w, 4w)
VIT_DIMS = (16, 32, 64)  # ViT widths D (2 blocks, D / 16 heads, MLP 2D)


def size_family_requests(seeds=SEEDS) -> dict[str, list[dict]]:
    """Chapter 09's families: three sizes each, no augmentation, experiment budget."""
    out = {}
    for w in CNN_WIDTHS:
        out[f"CNN w{w}"] = [
            experiment_run("cnn", s, max_shift=0, model={"widths": (w, 2 * w, 4 * w)})
            for s in seeds
        ]
    for d in VIT_DIMS:
        model = {"dim": d, "heads": max(1, d // 16), "mlp_dim": 2 * d}
        out[f"ViT D{d}"] = [
            experiment_run("vit", s, max_shift=0, model=model) for s in seeds
        ]
    return out


def parameter_efficiency(seeds=SEEDS, progress: bool = True) -> dict:
    """Chapter 09: accuracy against parameters and FLOPs for both families;
    torchvision's references."""
    return cached(
        "results-parameters",
        {"seeds": list(seeds)},
        lambda: _parameter_efficiency(seeds, progress),
    )


def _parameter_efficiency(seeds, progress: bool) -> dict:
    from .flops import count_flops, reference_models
    from .vit import ViT

    rows = []
    for name, runs in train_groups(
        size_family_requests(seeds), progress=progress
    ).items():
        model = runs[0].model
        rows.append(
            {
                "name": name,
                "family": "CNN" if name.startswith("CNN") else "ViT",
                "parameters": runs[0].parameters,
                "flops": count_flops(model, (1, 1, 28, 28)),
                **_stats([t.test_acc for t in runs]),
            }
        )
    # Weight sharing in a ViT: the same blocks serve any number of tokens; only the
    # position table grows with the image.
    small, large = ViT(**recipes.VIT, image_size=28), ViT(**recipes.VIT, image_size=56)
    growth = count_parameters(large) - count_parameters(small)
    position_growth = large.pos_embedding.numel() - small.pos_embedding.numel()
    refs = [asdict(r) for r in reference_models()]
    return {
        "rows": rows,
        "vit_growth_28_to_56": growth,
        "position_growth_28_to_56": position_growth,
        "references": refs,
    }


def params_to_match(rows: list[dict], family: str, accuracy: float) -> float | None:
    """Parameters ``family`` needs to reach ``accuracy``: log-linear interpolation
    between its sizes.

    None when no size of the family reaches it (then the family needs more than its
    largest).
    """
    pts = sorted((r["parameters"], r["mean"]) for r in rows if r["family"] == family)
    for (p0, a0), (p1, a1) in zip(pts, pts[1:]):
        if a0 >= accuracy:
            return float(p0)
        if a0 < accuracy <= a1:
            t = (accuracy - a0) / (a1 - a0)
            return float(math.exp(math.log(p0) + t * (math.log(p1) - math.log(p0))))
    return float(pts[0][0]) if pts and pts[0][1] >= accuracy else None


# ---------------------------------------------------------------- chapter 10

SHIFT_DISTANCES = (0, 1, 2, 3, 4, 6, 8)  # pixels; 4 is the ViT's patch size
SHIFT_IMAGES = 500  # test images per shift and direction


def translation_requests(seeds=SEEDS) -> dict[str, list[dict]]:
    """Chapter 10's variants at the experiment budget (the plain ones are chapter 09's
    runs)."""
    cnn_plain = {"widths": recipes.SMALL_CNN_EXPERIMENT["widths"]}
    cnn_blur = {**cnn_plain, "downsample": "blur"}
    cnn_circular = {**cnn_plain, "padding_mode": "circular"}
    return {
        "CNN": [experiment_run("cnn", s, max_shift=0, model=cnn_plain) for s in seeds],
        "CNN + shifts": [
            experiment_run("cnn", s, max_shift=2, model=cnn_plain) for s in seeds
        ],
        "CNN + blur pool": [
            experiment_run("cnn", s, max_shift=0, model=cnn_blur) for s in seeds
        ],
        "CNN + circular padding": [
            experiment_run("cnn", s, max_shift=0, model=cnn_circular) for s in seeds
        ],
        "ViT": [experiment_run("vit", s, max_shift=0) for s in seeds],
        "ViT + shifts": [experiment_run("vit", s, max_shift=2) for s in seeds],
    }


def translation(seeds=SEEDS, progress: bool = True) -> dict:
    """Chapter 10: accuracy and consistency under shifts; what helps; the exact
    (in)variances."""
    return cached(
        "results-translation",
        {"seeds": list(seeds)},
        lambda: _translation(seeds, progress),
    )


def _translation(seeds, progress: bool) -> dict:
    from .shifts import shift_robustness

    test = load_mnist5k().test.tensors
    images, labels = test[0][:SHIFT_IMAGES], test[1][:SHIFT_IMAGES]

    def curve(model):
        return shift_robustness(model, images, labels, SHIFT_DISTANCES).as_dict()

    # The full recipes (chapters 04 and 07), and the ViT recipe trained without shifts.
    full = {
        "CNN recipe": [{"family": "cnn", "seed": 0}],
        "ViT recipe": [{"family": "vit", "seed": 0}],
        "ViT recipe without shifts": [
            {"family": "vit", "seed": 0, "max_shift": 0, "curves": False}
        ],
    }
    variants = translation_requests(seeds)
    runs_by_name = train_groups(
        {**full, **variants}, progress=progress
    )  # one pool: the big ViT beside the small runs
    out = {"distances": list(SHIFT_DISTANCES), "full": {}, "variants": {}}
    for name in full:
        (t,) = runs_by_name[name]
        out["full"][name] = {"test_acc": t.test_acc, **curve(t.model)}
    for name in variants:
        runs = runs_by_name[name]
        curves = [curve(t.model) for t in runs]
        out["variants"][name] = {
            "accuracy": [
                summarise(c["accuracy"][k] for c in curves)
                for k in range(len(SHIFT_DISTANCES))
            ],
            "consistency": [
                summarise(c["consistency"][k] for c in curves)
                for k in range(len(SHIFT_DISTANCES))
            ],
            "test_acc": _stats([t.test_acc for t in runs]),
        }
    return out


# ---------------------------------------------------------------- chapter 11

TRAIN_SIZES = (250, 1000, 4000)


def data_efficiency_requests(
    seeds=SEEDS, sizes=TRAIN_SIZES
) -> dict[str, dict[int, list[dict]]]:
    """Chapter 11's learning curves: name -> training-set size -> runs."""
    cnn_plain = {"widths": recipes.SMALL_CNN_EXPERIMENT["widths"]}
    variants = {
        "CNN": ("cnn", 0, cnn_plain),
        "CNN + shifts": ("cnn", 2, cnn_plain),
        "ViT": ("vit", 0, {}),
        "ViT + shifts": ("vit", 2, {}),
        "hybrid": ("hybrid", 0, {}),
    }
    return {
        name: {
            n: [
                experiment_run(fam, s, n_train=n, max_shift=shift, model=model)
                for s in seeds
            ]
            for n in sizes
        }
        for name, (fam, shift, model) in variants.items()
    }


def data_efficiency(seeds=SEEDS, sizes=TRAIN_SIZES, progress: bool = True) -> dict:
    """Chapter 11: test accuracy against training-set size, per family and
    augmentation."""
    spec = {"seeds": list(seeds), "sizes": list(sizes)}
    return cached(
        "results-data", spec, lambda: _data_efficiency(seeds, sizes, progress)
    )


def _data_efficiency(seeds, sizes, progress: bool) -> dict:
    grid = data_efficiency_requests(seeds, sizes)
    runs = train_groups(
        {
            (name, n): reqs
            for name, per_size in grid.items()
            for n, reqs in per_size.items()
        },
        progress,
    )
    curves: dict = {name: {} for name in grid}
    for (name, n), group in runs.items():
        curves[name][n] = {
            **_stats([t.test_acc for t in group]),
            "parameters": group[0].parameters,
        }
    return {"sizes": list(sizes), "curves": curves}


# ---------------------------------------------------------------- chapter 12

NOISE_SIGMAS = (0.0, 0.2, 0.4, 0.6, 0.8)
BLUR_SIGMAS = (0.0, 0.5, 1.0, 1.5, 2.0)
OCCLUDED_FRACTIONS = (0.0, 0.25, 0.5, 0.75)


def robustness(seeds=SEEDS, progress: bool = True) -> dict:
    """Chapter 12: noise, blur and occlusion of increasing strength; the final
    comparison table.

    The three-seed comparison uses the experiment-size models of chapters 09
    and 11 (no new training); the full recipes of chapters 04 and 07 (one seed)
    are measured the same way and fill the cost table.
    """
    return cached(
        "results-robustness",
        {"seeds": list(seeds)},
        lambda: _robustness(seeds, progress),
    )


def _robustness(seeds, progress: bool) -> dict:
    import time

    from .corruptions import (
        gaussian_blur,
        gaussian_noise,
        occlude_patches,
        random_patch_subsets,
    )
    from .flops import count_flops

    x, y = load_mnist5k().test.tensors
    families = size_family_requests(seeds)
    hybrid = data_efficiency_requests(seeds, (4000,))["hybrid"][4000]
    groups = {
        "CNN": families[f"CNN w{recipes.SMALL_CNN_EXPERIMENT['widths'][0]}"],
        "ViT": families[f"ViT D{recipes.VIT_EXPERIMENT['dim']}"],
        "hybrid": hybrid,
        "CNN recipe": [{"family": "cnn", "seed": 0}],
        "ViT recipe": [{"family": "vit", "seed": 0}],
    }
    runs = train_groups(groups, progress=progress)

    def acc(model, images, keep=None) -> float:
        preds = []
        with torch.no_grad():
            for i in range(0, len(images), 500):
                kw = {} if keep is None else {"keep": keep[i : i + 500]}
                preds.append(model(images[i : i + 500], **kw).argmax(1))
        return (torch.cat(preds) == y[: len(images)]).float().mean().item()

    out: dict = {
        "noise": list(NOISE_SIGMAS),
        "blur": list(BLUR_SIGMAS),
        "occlusion": list(OCCLUDED_FRACTIONS),
    }
    for name, models in runs.items():
        res: dict[str, list] = {"noise": [], "blur": [], "occlusion": [], "dropped": []}
        for t in models:
            m = t.model
            res["noise"].append(
                [acc(m, gaussian_noise(x, s, seed=0)) for s in NOISE_SIGMAS]
            )
            res["blur"].append([acc(m, gaussian_blur(x, s)) for s in BLUR_SIGMAS])
            res["occlusion"].append(
                [acc(m, occlude_patches(x, f, 4, seed=0)) for f in OCCLUDED_FRACTIONS]
            )
            if isinstance(
                getattr(m, "patch_embed", None), PatchEmbedding
            ):  # a ViT: drop the patches (Naseer et al. 2021)
                res["dropped"].append(
                    [
                        acc(
                            m,
                            x,
                            keep=random_patch_subsets(
                                len(x), m.num_patches, 1 - f, seed=0
                            ),
                        )
                        for f in OCCLUDED_FRACTIONS
                    ]
                )
        out[name] = {
            k: [summarise(col) for col in zip(*v)] for k, v in res.items() if v
        }
        model, batch = models[0].model, x[:500]
        with torch.no_grad():
            model(batch)  # warm-up
            start = time.perf_counter()
            for _ in range(3):
                model(batch)
            seconds = (time.perf_counter() - start) / 3
        out[name]["table"] = {
            "test_acc": _stats([t.test_acc for t in models]),
            "parameters": models[0].parameters,
            "flops": count_flops(model, (1, 1, 28, 28)),
            "images_per_second": len(batch) / seconds,
        }
    # Training seconds only where they are comparable: the full recipes, trained in the
    # main process with all cores (chapters 04 and 07); pooled runs train on one core
    # each.
    for name in ("CNN recipe", "ViT recipe"):
        out[name]["table"]["train_seconds"] = runs[name][0].history.seconds
    return out
