"""Chapter 10: accuracy and consistency under shifts; what helps."""

from __future__ import annotations

from .. import recipes
from ..cache import cached
from ..data import load_mnist5k
from .budget import HALF_SEEDS, convergence
from .runner import SEEDS, request, train_groups
from .seeds import stats

__all__ = ["SHIFT_DISTANCES", "SHIFT_IMAGES", "translation_requests", "translation"]

SHIFT_DISTANCES = (0, 1, 2, 3, 4, 6, 7, 8)  # pixels; 4: the CNN's stride, 7: a patch
SHIFT_IMAGES = 500  # test images per shift and direction (a class-balanced prefix)


def translation_requests(seeds=SEEDS) -> dict[str, list[dict]]:
    """Chapter 10's variants at the experiment budget (the plain ones are chapter
    09's runs, the shifted ones chapter 11's on the whole training split)."""
    return {
        "CNN": [request("cnn-small", s) for s in seeds],
        "CNN + shifts": [request("cnn-small", s, max_shift=2) for s in seeds],
        # what helps, illustrated with one seed each (no verdict reads them)
        "CNN + blur pool": [
            request("cnn-small", s, model={"downsample": "blur"}) for s in seeds[:1]
        ],
        "CNN + circular padding": [
            request("cnn-small", s, model={"padding_mode": "circular"})
            for s in seeds[:1]
        ],
        "ViT": [request("vit-small", s) for s in seeds],
        "ViT + shifts": [request("vit-small", s, max_shift=2) for s in seeds],
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
    from ..shifts import shift_robustness

    test = load_mnist5k().test.tensors
    images, labels = test[0][:SHIFT_IMAGES], test[1][:SHIFT_IMAGES]

    def curve(model):
        return shift_robustness(model, images, labels, SHIFT_DISTANCES).as_dict()

    # The full recipes (chapters 04 and 07), and the ViT recipe trained without shifts.
    full = {
        "CNN recipe": [request("cnn", 0)],
        "ViT recipe": [request("vit", 0)],
        "ViT recipe without shifts": [request("vit", 0, max_shift=0)],
    }
    variants = translation_requests(seeds)
    # The verdict's two models at half the budget (chapter 09's runs): converged?
    halves = {
        ("half", name): [
            request(recipe, s, samples=recipes.BUDGETS[0])
            for s in seeds
            if s in HALF_SEEDS
        ]
        for name, recipe in (("CNN", "cnn-small"), ("ViT", "vit-small"))
    }
    runs_by_name = train_groups({**full, **variants, **halves}, progress=progress)
    out = {"distances": list(SHIFT_DISTANCES), "full": {}, "variants": {}}
    for name in full:
        (t,) = runs_by_name[name]
        out["full"][name] = {"test_acc": t.test_acc, **curve(t.model)}
    for name in variants:
        runs = runs_by_name[name]
        curves = [curve(t.model) for t in runs]
        out["variants"][name] = {  # per distance: mean and 95% interval over seeds
            "accuracy": [
                stats(c["accuracy"][k] for c in curves)
                for k in range(len(SHIFT_DISTANCES))
            ],
            "consistency": [
                stats(c["consistency"][k] for c in curves)
                for k in range(len(SHIFT_DISTANCES))
            ],
            "test_acc": stats([t.test_acc for t in runs]),
        }
    for key in halves:
        out["variants"][key[1]]["budget"] = convergence(
            runs_by_name[key], runs_by_name[key[1]]
        )
    return out
