"""Chapter 11: test accuracy against training-set size, per family and augmentation."""

from __future__ import annotations

from ..cache import cached
from .runner import SEEDS, request, train_groups
from .seeds import stats

__all__ = ["TRAIN_SIZES", "VARIANTS", "data_efficiency_requests", "data_efficiency"]

TRAIN_SIZES = (250, 1000, 3500)  # 3,500: the whole training split
VARIANTS = {
    # name: (recipe, max_shift)
    "CNN": ("cnn-small", 0),
    "CNN + shifts": ("cnn-small", 2),
    "ViT": ("vit-small", 0),
    "ViT + shifts": ("vit-small", 2),
    "hybrid": ("hybrid-small", 0),
}


def data_efficiency_requests(
    seeds=SEEDS, sizes=TRAIN_SIZES
) -> dict[str, dict[int, list[dict]]]:
    """Chapter 11's learning curves: name -> training-set size -> runs.

    Every run sees the same number of images (``recipes.EXPERIMENT_SAMPLES``); a
    subset of fewer images is drawn afresh for each seed.
    """
    return {
        name: {
            n: [request(recipe, s, n_train=n, max_shift=shift) for s in seeds]
            for n in sizes
        }
        for name, (recipe, shift) in VARIANTS.items()
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
            **stats([t.test_acc for t in group]),
            "parameters": group[0].parameters,
        }
    return {"sizes": list(sizes), "curves": curves}
