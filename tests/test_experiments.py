"""minimodels.experiments: data subsets, cached training, parallel runs,
interpolation.
"""

import pytest
import torch
from torch.utils.data import TensorDataset

from minimodels import experiments as E
from minimodels import recipes

TINY_VIT = {"dim": 16, "depth": 1, "heads": 1, "mlp_dim": 16}


@pytest.fixture
def cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIMODELS_CACHE", str(tmp_path))
    return tmp_path


def test_balanced_subset_is_balanced_and_nested():
    train, _, _ = E.dataset("mnist5k")
    small, large = E.balanced_subset(train, 250), E.balanced_subset(train, 1000)
    assert torch.bincount(small.tensors[1], minlength=10).tolist() == [25] * 10
    assert (
        torch.bincount(large.tensors[1][:500], minlength=10).tolist() == [50] * 10
    )  # prefixes balanced too
    small_set = {tuple(x.flatten()[:50].tolist()) for x in small.tensors[0]}
    large_set = {tuple(x.flatten()[:50].tolist()) for x in large.tensors[0]}
    assert small_set <= large_set


@pytest.mark.parametrize("n", [0, 15, 4010])
def test_balanced_subset_rejects_bad_sizes(n):
    data = TensorDataset(torch.zeros(4000, 1, 2, 2), torch.arange(4000) % 10)
    with pytest.raises(ValueError, match="multiple of the 10 classes"):
        E.balanced_subset(data, n)


def test_dataset_and_family_errors():
    with pytest.raises(ValueError, match="dataset must be one of"):
        E.dataset("cifar")
    with pytest.raises(ValueError, match="family must be one of"):
        E.build("mlp")
    with pytest.raises(ValueError, match="family must be one of"):
        E.experiment_run("resnet", 0)


def test_diagonal_dataset_has_two_classes():
    train, test, classes = E.dataset("diagonal", 200)
    assert classes == 2 and len(train) == 200 and len(test) == 1000


def test_experiment_run_merges_model_arguments():
    r = E.experiment_run("hybrid", 1, n_train=250, model={"dim": 48})
    assert r["model"] == {**recipes.HYBRID_EXPERIMENT, "dim": 48}
    assert (
        r["samples"] == recipes.EXPERIMENT_SAMPLES
        and r["training"]["batch_size"] == recipes.EXPERIMENT_BATCH_SIZE
    )


def test_samples_fix_the_images_seen_and_scale_warmup():
    *_, config, _, curves, spec = E._prepare("vit", n_train=250, samples=1000)
    assert config.epochs == 4 and not curves
    assert config.warmup_epochs == pytest.approx(
        recipes.VIT_TRAINING.warmup_epochs * 4 / recipes.VIT_TRAINING.epochs, abs=1e-3
    )
    assert spec["n_train"] == 250


def test_train_caches_and_reloads_the_same_model(cache_folder, monkeypatch):
    request = dict(
        family="vit", seed=3, n_train=100, samples=100, model=TINY_VIT, max_shift=0
    )
    assert not E._is_cached(request)
    first = E.train(**request, progress=False)
    assert E._is_cached(request)
    monkeypatch.setattr(
        E, "fit", lambda *a, **k: pytest.fail("a cached run must not train again")
    )
    second = E.train(**request, progress=False)
    assert first.test_acc == second.test_acc and len(second.history.test_acc) == 1
    for a, b in zip(
        first.model.state_dict().values(), second.model.state_dict().values()
    ):
        assert torch.equal(a, b)


def test_train_many_in_worker_processes_matches_the_cache(cache_folder):
    requests = [
        dict(
            family="vit", seed=s, n_train=100, samples=100, model=TINY_VIT, max_shift=0
        )
        for s in (0, 1)
    ]
    runs = E.train_many(requests, workers=2, progress=False)
    assert all(E._is_cached(r) for r in requests)
    assert [r.spec["seed"] for r in runs] == [0, 1]


def test_params_to_match_interpolates_in_log_parameters():
    rows = [
        {"family": "ViT", "parameters": 1000, "mean": 0.5},
        {"family": "ViT", "parameters": 100_000, "mean": 0.9},
    ]
    assert E.params_to_match(rows, "ViT", 0.7) == pytest.approx(10_000)
    assert E.params_to_match(rows, "ViT", 0.4) == 1000
    assert E.params_to_match(rows, "ViT", 0.95) is None


def test_summarise():
    assert E.summarise([1.0]) == (1.0, 0.0)
    mean, std = E.summarise([1.0, 2.0, 3.0])
    assert mean == 2.0 and std == pytest.approx(1.0)


def test_train_groups_returns_runs_grouped_like_the_requests(monkeypatch):
    seen = []

    def fake_train_many(requests, progress=True):
        seen.append(len(requests))
        return [r["seed"] for r in requests]

    monkeypatch.setattr(E, "train_many", fake_train_many)
    groups = {"a": [{"seed": 1}, {"seed": 2}], ("b", 250): [{"seed": 3}], "c": []}
    assert E.train_groups(groups, progress=False) == {
        "a": [1, 2],
        ("b", 250): [3],
        "c": [],
    }
    assert seen == [3]  # one pool for every group


def test_dataset_is_loaded_once_per_process():
    assert E.dataset("mnist5k", 250) is E.dataset("mnist5k", 250)
