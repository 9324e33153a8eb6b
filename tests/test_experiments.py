"""minimodels.experiments: data subsets, cached training, parallel runs,
interpolation, the warm-up."""

from types import SimpleNamespace

import pytest
import torch
from torch.utils.data import TensorDataset

from minimodels import experiments as E
from minimodels import recipes
from minimodels.data import permute_pixels
from minimodels.experiments import runner

TINY_VIT = {"dim": 16, "depth": 1, "heads": 1, "mlp_dim": 16}


@pytest.fixture
def cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIMODELS_CACHE", str(tmp_path))
    return tmp_path


def _counts(labels, classes=10):
    return torch.bincount(labels, minlength=classes).tolist()


def test_balanced_subset_is_balanced_nested_and_changes_with_the_seed():
    train = E.dataset("mnist5k").train
    small, large = E.balanced_subset(train, 250), E.balanced_subset(train, 1000)
    assert _counts(small.tensors[1]) == [25] * 10
    assert _counts(large.tensors[1][:500]) == [50] * 10  # prefixes balanced too
    assert _counts(large.tensors[1][:10]) == [1] * 10

    def rows(d):
        return {tuple(x.flatten()[::7].tolist()) for x in d.tensors[0]}

    assert rows(small) <= rows(large)
    other = E.balanced_subset(train, 250, seed=1)
    assert _counts(other.tensors[1]) == [25] * 10 and rows(other) != rows(small)


def test_every_subset_an_experiment_uses_is_balanced_and_not_sorted():
    """Each training set of every request of the book (chapters 08-12)."""
    seen = set()
    for r in E.all_requests():
        merge = recipes.RECIPES[r["recipe"]].merges_val
        key = (r.get("data", "mnist5k"), r.get("n_train"), r["seed"], merge)
        if key in seen:
            continue
        seen.add(key)
        data = E.dataset(*key)
        for name, split in (("train", data.train), ("val", data.val)):
            if split is None:  # a frozen recipe: val joined the training data
                continue
            y = split.tensors[1]
            counts = _counts(y, data.classes)
            assert max(counts) - min(counts) <= max(1, len(y) // 100), (key, name)
            assert not bool((y[1:] >= y[:-1]).all()), (key, name, "sorted")


@pytest.mark.parametrize("n", [0, 15, 4010])
def test_balanced_subset_rejects_bad_sizes(n):
    data = TensorDataset(torch.zeros(4000, 1, 2, 2), torch.arange(4000) % 10)
    with pytest.raises(ValueError, match="multiple of the 10 classes"):
        E.balanced_subset(data, n)


def test_dataset_and_recipe_errors():
    with pytest.raises(ValueError, match="dataset must be one of"):
        E.dataset("cifar")
    with pytest.raises(ValueError, match="recipe must be one of"):
        E.request("resnet", 0)


def test_splits_are_the_three_of_mnist5k_and_the_diagonal_task():
    data = E.dataset("mnist5k")
    assert (len(data.train), len(data.val), len(data.test)) == (3500, 500, 1000)
    diagonal = E.dataset("diagonal", 200)
    assert diagonal.classes == 2 and len(diagonal.train) == 200
    assert len(diagonal.val) == 500 and len(diagonal.test) == 1000


def test_permuted_digits_are_the_same_digits_shuffled_alike():
    """Chapter 09's control: every split's images go through one permutation; the
    labels, the order and the pixel values stay."""
    plain, permuted = E.dataset("mnist5k"), E.dataset("mnist5k-permuted")
    for name in ("train", "val", "test"):
        x, y = getattr(plain, name).tensors
        xp, yp = getattr(permuted, name).tensors
        assert torch.equal(y, yp) and torch.equal(xp, permute_pixels(x))
        assert torch.equal(xp.flatten(1).sort(1).values, x.flatten(1).sort(1).values)
        assert not torch.equal(xp, x)


def test_a_frozen_recipe_trains_on_train_and_val_and_curves_the_test_split():
    *_, splits, config, spec = runner._prepare("cnn", seed=0)
    assert len(splits.train) == 4000 and splits.val is None and spec["curve"] == "test"
    *_, splits, config, spec = runner._prepare("cnn-small", seed=0)
    assert len(splits.train) == 3500 and spec["curve"] == "val"


def test_request_of_an_experiment_model_fixes_the_images_seen():
    r = E.request("hybrid-small", 1, n_train=250, model={"dim": 48})
    assert r["samples"] == recipes.EXPERIMENT_SAMPLES and r["model"] == {"dim": 48}


def test_one_model_asked_for_in_two_ways_is_one_request():
    """Chapter 09's "CNN w8" and "ViT D32" are the experiment-size models that
    chapter 10 asks for without overrides: one cache key, trained once."""
    sizes, shifts = E.size_family_requests(), E.translation_requests()
    full = recipes.BUDGETS[-1]
    assert sizes[("CNN w8", full)] == shifts["CNN"]
    assert sizes[("ViT D32", full)] == shifts["ViT"]
    # asked with n_train=3500 (the whole split) by chapter 11: the same run
    ch11 = E.data_efficiency_requests()[("ViT + shifts", 3500, full)]
    assert [runner._prepare(**r)[-1] for r in ch11] == [
        runner._prepare(**r)[-1] for r in shifts["ViT + shifts"]
    ]
    assert E.request("cnn-small", 0, model={"widths": (4, 8, 16)})["model"] == {
        "widths": (4, 8, 16)
    }
    assert "samples" not in E.request("vit", 0)  # a recipe trains its own epochs


def test_samples_fix_the_images_seen_and_scale_warmup():
    *_, config, spec = runner._prepare("vit-small", n_train=250, samples=1000)
    assert config.epochs == 4 and spec["n_train"] == 250
    vit = recipes.RECIPES["vit-small"].training
    assert config.warmup_epochs == pytest.approx(
        vit.warmup_epochs * 4 / vit.epochs, abs=1e-3
    )


def _tiny(seed=3, **kw):
    return dict(
        recipe="vit-small",
        seed=seed,
        n_train=100,
        samples=200,
        model=TINY_VIT,
        **kw,
    )


def test_train_caches_and_reloads_the_same_model(cache_folder, monkeypatch):
    request = _tiny()
    assert not E.is_cached(request)
    first = E.train(**request, progress=False)
    assert E.is_cached(request)
    assert first.history.val_epochs == [1, 2] and len(first.history.val_acc) == 2
    assert 0 <= first.test_acc <= 1 and first.images_seen == 200
    monkeypatch.setattr(
        runner, "fit", lambda *a, **k: pytest.fail("a cached run must not train again")
    )
    second = E.train(**request, progress=False)
    assert first.test_acc == second.test_acc
    assert first.history.val_acc == second.history.val_acc
    for a, b in zip(
        first.model.state_dict().values(), second.model.state_dict().values()
    ):
        assert torch.equal(a, b)


def test_editing_analysis_code_does_not_retrain(cache_folder, monkeypatch):
    """The cache's promise: the key of a trained model ignores the analysis modules
    (and this subpackage), and depends on the training code."""
    from minimodels import cache

    request = _tiny(seed=4)
    E.train(**request, progress=False)
    real = cache.source_digest.__wrapped__

    def edited(exclude=()):
        # as if every analysis module had been edited, but nothing else
        digest = real(exclude)
        return digest if set(runner.ANALYSIS) <= set(exclude) else digest + "edited"

    monkeypatch.setattr(cache, "source_digest", edited)
    assert E.is_cached(request)
    assert cache.cached("results-demo", {}, lambda: 1) == 1
    monkeypatch.setattr(runner, "_training_code", lambda: "edited training code")
    assert not E.is_cached(request)


def test_train_many_in_worker_processes_matches_the_cache(cache_folder):
    requests = [_tiny(seed=s) for s in (0, 1)]
    runs = E.train_many(requests + requests[:1], workers=2, progress=False)
    assert all(E.is_cached(r) for r in requests)
    assert [r.spec["seed"] for r in runs] == [0, 1, 0]


def test_params_to_match_interpolates_in_log_parameters():
    rows = [  # only the fields it reads
        SimpleNamespace(family="ViT", parameters=1000, test_acc=E.over_seeds([0.5])),
        SimpleNamespace(family="ViT", parameters=100_000, test_acc=E.over_seeds([0.9])),
    ]
    assert E.params_to_match(rows, "ViT", 0.7) == pytest.approx(10_000)
    assert E.params_to_match(rows, "ViT", 0.4) == 1000
    assert E.params_to_match(rows, "ViT", 0.95) is None


def test_budget_axis_trains_every_seed_at_full_budget_and_seed_0_at_half():
    half, full = recipes.BUDGETS
    assert full == 2 * half == recipes.EXPERIMENT_SAMPLES
    axis = E.axis_requests(lambda s, b: E.request("vit-small", s, samples=b))
    assert [r["seed"] for r in axis[full]] == list(E.SEEDS)
    assert [r["seed"] for r in axis[half]] == list(E.HALF_SEEDS)
    sizes = E.size_family_requests()
    assert {b for _, b in sizes} == {half, full}


class _Run:
    def __init__(self, seed, val, images):
        self.spec, self.val_acc, self.images_seen = {"seed": seed}, val, images


def test_convergence_compares_the_same_seeds_across_budgets():
    full = [_Run(0, 0.950, 160), _Run(1, 0.99, 160), _Run(2, 0.99, 160)]
    moved = E.convergence([_Run(0, 0.940, 80)], full)
    assert moved.change == pytest.approx(1.0) and not moved.converged
    assert moved.seeds == [0] and moved.budgets == [80, 160]
    assert E.convergence([_Run(0, 0.948, 80)], full).converged
    assert not E.convergence([_Run(0, 0.960, 80)], full).converged  # either way
    with pytest.raises(ValueError, match="full-budget run"):
        E.convergence([_Run(5, 0.9, 80)], full)


def test_small_training_sets_are_capped_in_epochs():
    half, full = recipes.BUDGETS
    assert E.samples_for(3500, full) == full and E.samples_for(2000, full) == full
    assert E.samples_for(250, full) == 250 * full // 2000  # 80 epochs
    assert E.samples_for(250, half) == E.samples_for(250, full) // 2  # halves too


def test_size_to_reach_and_the_data_multiplier():
    def point(mean):
        interval = E.over_seeds([mean])
        return E.SizePoint(interval, interval, parameters=1, images_seen=1)

    curves = {
        "CNN": {250: point(0.90), 1000: point(0.95)},
        "ViT": {250: point(0.70), 1000: point(0.90), 4000: point(0.92)},
    }
    assert E.size_to_reach(curves["ViT"], 0.90) == pytest.approx(1000)
    assert E.size_to_reach(curves["ViT"], 0.80) == pytest.approx(500)  # log scale
    assert E.size_to_reach(curves["ViT"], 0.60) == 250
    assert E.size_to_reach(curves["ViT"], 0.99) is None
    assert E.data_multiplier(curves, "ViT", "CNN", 250) == (pytest.approx(4.0), 0.90)
    assert E.data_multiplier(curves, "ViT", "CNN", 1000) == (None, 0.95)


def test_flops_to_reach_takes_the_cheapest_size_that_gets_there():
    rows = [  # only the fields it reads
        SimpleNamespace(family="CNN", flops_to_reach=[3e9, None]),
        SimpleNamespace(family="CNN", flops_to_reach=[5e9, 8e9]),
        SimpleNamespace(family="ViT", flops_to_reach=[None, None]),
    ]
    assert E.flops_to_reach(rows, "CNN", 0.95) == 3e9
    assert E.flops_to_reach(rows, "CNN", 0.97) == 8e9
    assert E.flops_to_reach(rows, "ViT", 0.95) is None


def test_numbers_over_seeds_have_a_t_interval():
    s = E.over_seeds([1.0, 2.0, 3.0])
    assert s.mean == 2.0 and s.values == (1.0, 2.0, 3.0)
    assert s.low == pytest.approx(2 - 4.303 / 3**0.5, abs=1e-3)
    one = E.over_seeds([0.5])
    assert one.low == one.high == 0.5


def test_train_groups_returns_runs_grouped_like_the_requests(monkeypatch):
    seen = []

    def fake_train_many(requests, progress=True):
        seen.append(len(requests))
        return [r["seed"] for r in requests]

    monkeypatch.setattr(runner, "train_many", fake_train_many)
    groups = {"a": [{"seed": 1}, {"seed": 2}], ("b", 250): [{"seed": 3}], "c": []}
    assert E.train_groups(groups, progress=False) == {
        "a": [1, 2],
        ("b", 250): [3],
        "c": [],
    }
    assert seen == [3]  # one pool for every group


def test_dataset_is_loaded_once_per_process():
    assert E.dataset("mnist5k", 250) is E.dataset("mnist5k", 250)


def test_warm_up_covers_every_chapter_once():
    requests = E.all_requests()
    keys = {E.request_key(runner._prepare(**r)[-1]) for r in requests}
    assert len(keys) == len(requests)  # each model once, however it is asked for
    recipes_used = {r["recipe"] for r in requests}
    assert recipes_used == set(recipes.RECIPES)
    for group in (
        E.size_family_requests(),
        E.control_requests(),
        E.translation_requests(),
        E.data_efficiency_requests(),
        E.diagonal_requests(),
        E.robustness_requests(),
    ):
        for reqs in group.values():
            assert all(E.request_key(runner._prepare(**r)[-1]) in keys for r in reqs)


def test_warm_up_computes_every_analysis_a_chapter_reads(root):
    """make models computes each analysis the chapters call (E.translation(), ...),
    so no chapter computes one while the book is built or tested. An analysis is a
    function of minimodels.experiments that stores its result (cached_result)."""
    import inspect
    import json
    import re

    called = set()
    for path in sorted((root / "chapters").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            called |= set(re.findall(r"\bE\.(\w+)\(", "".join(cell["source"])))
    analyses = {
        name
        for name in called
        if inspect.isfunction(getattr(E, name))
        and "cached_result(" in inspect.getsource(getattr(E, name))
    }
    assert analyses == set(E.ANALYSES)


def test_chapter_functions_are_not_shadowed_by_their_modules():
    """``E.locality`` is the function chapter 08 calls, though a module shares its
    name (as do translation, data_efficiency and robustness)."""
    import types

    for name in ("locality", "translation", "data_efficiency", "robustness"):
        assert not isinstance(getattr(E, name), types.ModuleType), name
    assert set(E.__all__) <= set(dir(E))
