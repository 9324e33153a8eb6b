import os

import pytest
import torch
from torch import nn

from minimodels.data import load_mnist5k
from minimodels.train import (
    History,
    TrainConfig,
    _lr_factor,
    count_parameters,
    evaluate,
    fit,
    seed_everything,
)


def _mlp():
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 10)
    )


def _small_mnist():
    split = load_mnist5k()
    x, y = split.train.tensors
    xv, yv = split.val.tensors
    return (x[:800], y[:800]), (xv[:300], yv[:300])


def _run(seed=0, **cfg):
    train, val = _small_mnist()
    seed_everything(seed)
    model = _mlp()
    config = TrainConfig(epochs=3, batch_size=64, lr=3e-3, seed=seed, **cfg)
    history = fit(model, train, val, config, device="cpu", progress=False)
    return model, history


def test_fit_is_deterministic_for_a_seed():
    m1, h1 = _run()
    m2, h2 = _run()
    assert (h1.train_loss, h1.val_acc) == (h2.train_loss, h2.val_acc)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p1, p2)
    _, h3 = _run(seed=1)
    assert h3.train_loss != h1.train_loss


def test_fit_learns_and_history_is_complete():
    model, history = _run(warmup_epochs=1, schedule="cosine", weight_decay=0.05)
    assert isinstance(history, History)
    assert (
        len(history.train_loss) == len(history.train_acc) == len(history.val_acc) == 3
    )
    assert history.train_loss[-1] < history.train_loss[0]
    assert (
        history.val_acc[-1] > 0.5
    )  # 800 images, 3 short epochs: far above the 0.1 of chance
    assert history.seconds > 0
    assert not model.training
    _, val = _small_mnist()
    loss, acc = evaluate(model, val)
    assert acc == pytest.approx(history.val_acc[-1]) and loss == pytest.approx(
        history.val_loss[-1]
    )


def test_augment_runs_on_training_batches_only():
    seen = []

    def augment(x):
        seen.append(x.shape[0])
        return x

    train, val = _small_mnist()
    fit(
        _mlp(),
        train,
        val,
        TrainConfig(epochs=1, batch_size=100),
        augment=augment,
        device="cpu",
        progress=False,
    )
    assert seen == [100] * 8


def test_schedule_warmup_then_cosine():
    cfg = TrainConfig(epochs=10, warmup_epochs=2, schedule="cosine")
    factors = [_lr_factor(s, 10, cfg) for s in range(100)]
    assert factors[0] == pytest.approx(0.05) and factors[19] == pytest.approx(1.0)
    assert factors[20] == pytest.approx(1.0) and factors[99] < 0.01
    assert all(a >= b for a, b in zip(factors[20:], factors[21:]))


def test_count_parameters():
    model = _mlp()
    assert count_parameters(model) == 784 * 32 + 32 + 32 * 10 + 10
    model[1].weight.requires_grad_(False)
    assert count_parameters(model) == 32 + 32 * 10 + 10
    assert count_parameters(model, trainable_only=False) == 784 * 32 + 32 + 32 * 10 + 10


def test_bad_config_and_data_are_explained():
    with pytest.raises(
        ValueError, match="schedule must be 'constant' or 'cosine', got 'linear'"
    ):
        TrainConfig(schedule="linear")
    with pytest.raises(ValueError, match="images and labels differ in length: 3 vs 2"):
        fit(_mlp(), (torch.zeros(3, 1, 28, 28), torch.zeros(2).long()), progress=False)
    with pytest.raises(
        TypeError,
        match="expected a TensorDataset or an \\(images, labels\\) pair, got Tensor",
    ):
        fit(_mlp(), torch.zeros(3), progress=False)


def test_validation_every_few_epochs_and_after_the_last():
    train, val = _small_mnist()
    history = fit(
        _mlp(),
        train,
        val,
        TrainConfig(epochs=5, batch_size=200),
        device="cpu",
        progress=False,
        val_every=2,
    )
    assert history.val_epochs == [2, 4, 5] and len(history.val_acc) == 3
    assert len(history.train_acc) == 5
    with pytest.raises(ValueError, match="val_every must be at least 1, got 0"):
        fit(_mlp(), train, val, progress=False, val_every=0)


def test_progress_is_a_final_line_in_the_book_build(monkeypatch, capsys):
    # minimodels.book.setup (the book's Sphinx extension) sets the variable; the
    # kernels it starts then print one line instead of a notebook widget.
    from minimodels import book
    from minimodels.train import PROGRESS_ENV, _FinalLineBar, _progress

    monkeypatch.setenv(PROGRESS_ENV, "")  # restored (unset) after the test
    book.setup(app=None)
    assert os.environ[PROGRESS_ENV] == "line"
    bar = _progress(3, True, desc="ViT")
    assert isinstance(bar, _FinalLineBar)
    for _ in range(3):
        bar.update()
    bar.close()
    assert capsys.readouterr().out.startswith("ViT: 100%")
