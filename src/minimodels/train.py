"""Training helpers every chapter uses: seeding, ``fit``, ``evaluate``, counting.

Introduced in chapter 01. Deliberately small: one loop, AdamW, an optional
linear warm-up and cosine decay (the schedule small-data ViTs need, chapter 07),
and an optional batch ``augment`` function. Everything is seeded, so the same
configuration gives the same numbers on the same machine.
"""

from __future__ import annotations

import io
import math
import os
import random
import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

__all__ = [
    "TrainConfig",
    "History",
    "seed_everything",
    "default_device",
    "fit",
    "evaluate",
    "predict",
    "eval_mode",
    "count_parameters",
]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so reruns repeat exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run the ``with`` body with ``model`` in eval mode, then restore its mode.

    The mode is restored even after an error. Eval mode makes batch norm use its running
    statistics and turns dropout off, so a measurement neither depends on the batch nor
    changes the model.
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def default_device() -> torch.device:
    """CUDA when a GPU is present (Colab), else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalars in ``model``."""
    return sum(
        p.numel() for p in model.parameters() if p.requires_grad or not trainable_only
    )


@dataclass
class TrainConfig:
    """How :func:`fit` trains. Every field has a default that suits MNIST-5k."""

    epochs: int = 10  # passes over the training set
    batch_size: int = 128  # images per optimiser step
    lr: float = 1e-3  # peak learning rate of AdamW
    weight_decay: float = (
        0.0  # AdamW's decoupled weight decay (Loshchilov & Hutter 2019)
    )
    warmup_epochs: float = 0.0  # linear warm-up from 0 to lr over this many epochs
    schedule: str = "constant"  # after warm-up: "constant" or "cosine" decay to 0
    label_smoothing: float = 0.0  # passed to cross-entropy
    seed: int = 0  # seeds shuffling, augmentation and dropout

    def __post_init__(self):
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(
                f"schedule must be 'constant' or 'cosine', got {self.schedule!r}"
            )
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(
                "epochs and batch_size must be at least 1, "
                f"got {self.epochs} and {self.batch_size}"
            )


@dataclass
class History:
    """Per-epoch measurements from :func:`fit`.

    The validation lists stay empty without validation data. The test split is
    not watched while training (choices are made on validation data); measure it
    once at the end with :func:`evaluate`.
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    val_epochs: list[int] = field(
        default_factory=list
    )  # after which epochs (1, 2, ...)
    seconds: float = 0.0  # wall-clock time spent training (evaluation excluded)


def _tensors(data) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, labels) from a TensorDataset or a pair of tensors."""
    if isinstance(data, TensorDataset):
        data = data.tensors
    if not isinstance(data, (tuple, list)) or len(data) < 2:
        raise TypeError(
            "expected a TensorDataset or an (images, labels) pair, "
            f"got {type(data).__name__}"
        )
    x, y = data[0], data[1]
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"images and labels differ in length: {x.shape[0]} vs {y.shape[0]}"
        )
    return x, y


class _FinalLineBar:
    """A tqdm bar that draws nothing while running and prints its final line on close.

    For output that is not a live display (the book build, nbval, CI logs):
    there, every redraw of a text bar would become a line of its own.
    """

    def __init__(self, tqdm_cls, **kwargs):
        self._bar = tqdm_cls(file=io.StringIO(), **kwargs)

    def set_postfix(self, *args, **kwargs):
        self._bar.set_postfix(*args, **kwargs)

    def update(self, n: int = 1):
        self._bar.update(n)

    def close(self):
        print(self._bar, flush=True)  # tqdm's str() is its formatted meter
        self._bar.close()


# Set to "line" by the book build (minimodels.book.setup, a Sphinx extension): its
# pages are static, so a widget there would be an empty box that loads the ipywidgets
# script from a CDN; the reader sees the final line instead.
PROGRESS_ENV = "MINIMODELS_PROGRESS"


def _progress(total: int, enabled: bool, desc: str):
    """A progress bar over epochs, chosen for where the output goes.

    A widget in Jupyter and on Colab (tqdm.auto, when ipywidgets is installed);
    a live text bar in a terminal; elsewhere (the built book, where
    ``MINIMODELS_PROGRESS=line``; tests and logs) a single final line with the
    last epoch's numbers.
    """
    from tqdm import TqdmWarning

    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", TqdmWarning
        )  # "IProgress not found": handled below
        from tqdm.auto import tqdm
        from tqdm.notebook import tqdm as notebook_tqdm
    from tqdm.std import tqdm as text_tqdm

    if not enabled:
        return text_tqdm(total=total, disable=True)
    final_line = dict(total=total, desc=desc, ncols=100, ascii=False)
    if os.environ.get(PROGRESS_ENV) == "line":
        return _FinalLineBar(text_tqdm, **final_line)
    if issubclass(tqdm, notebook_tqdm):  # in Jupyter with ipywidgets: a widget
        return tqdm(total=total, desc=desc)
    if sys.stderr.isatty():
        return text_tqdm(total=total, desc=desc)
    return _FinalLineBar(text_tqdm, **final_line)


def _lr_factor(step: int, steps_per_epoch: int, config: TrainConfig) -> float:
    """Learning-rate multiplier at optimiser step ``step`` (0-based)."""
    warmup = config.warmup_epochs * steps_per_epoch
    total = config.epochs * steps_per_epoch
    if step < warmup:
        return (step + 1) / warmup
    if config.schedule == "cosine":
        progress = (step - warmup) / max(1.0, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * progress))
    return 1.0


@torch.no_grad()
def predict(
    model: nn.Module, images: torch.Tensor, batch_size: int = 512
) -> torch.Tensor:
    """Logits ``(B, classes)`` for ``images``, in eval mode, on the model's device."""
    device = next(model.parameters()).device
    with eval_mode(model):
        outs = [
            model(images[i : i + batch_size].to(device)).cpu()
            for i in range(0, len(images), batch_size)
        ]
    return torch.cat(outs)


def evaluate(model: nn.Module, data, batch_size: int = 512) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``data``."""
    x, y = _tensors(data)
    logits = predict(model, x, batch_size)
    loss = F.cross_entropy(logits, y).item()
    acc = (logits.argmax(1) == y).float().mean().item()
    return loss, acc


def fit(
    model: nn.Module,
    train,
    val=None,
    config: TrainConfig | None = None,
    *,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    val_every: int = 1,
) -> History:
    """Train ``model`` with AdamW and cross-entropy; return its :class:`History`.

    ``train`` and ``val`` are TensorDatasets (or ``(images, labels)`` pairs);
    only their first two tensors are used. ``val`` (optional) is evaluated after
    every ``val_every`` epochs and after the last: the learning curve that choices
    are made on (``history.val_epochs`` says after which epochs). ``augment`` maps
    a batch of images to a batch of the same shape and runs on training batches
    only. The model is left on ``device`` (default :func:`default_device`) in eval
    mode.
    """
    if val_every < 1:
        raise ValueError(f"val_every must be at least 1, got {val_every}")
    config = config or TrainConfig()
    device = torch.device(device) if device is not None else default_device()
    x_train, y_train = _tensors(train)
    n = x_train.shape[0]
    steps_per_epoch = math.ceil(n / config.batch_size)

    model.to(device)
    # fused: AdamW's whole update in one kernel per step instead of a Python loop over
    # the parameter tensors (the default on a CPU). The same update rule, rounded
    # differently; for the book's small models, measured on one thread of the 2-core
    # machine, about 5% (SmallCNN) to 15% (the small ViT, many small tensors) less
    # time per step.
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=config.lr,
        weight_decay=config.weight_decay,
        fused=True,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _lr_factor(step, steps_per_epoch, config)
    )
    shuffle = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(
        config.seed
    )  # augmentation and dropout draw from the global generator
    history = History()

    bar = _progress(config.epochs, progress, desc=type(model).__name__)
    for epoch in range(1, config.epochs + 1):
        model.train()
        start = time.perf_counter()
        total_loss, correct = 0.0, 0
        for idx in torch.randperm(n, generator=shuffle).split(config.batch_size):
            xb, yb = x_train[idx].to(device), y_train[idx].to(device)
            if augment is not None:
                xb = augment(xb)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb, label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
        history.seconds += time.perf_counter() - start
        history.train_loss.append(total_loss / n)
        history.train_acc.append(correct / n)
        postfix = {
            "loss": f"{history.train_loss[-1]:.3f}",
            "acc": f"{history.train_acc[-1]:.3f}",
        }
        if val is not None and (epoch % val_every == 0 or epoch == config.epochs):
            val_loss, val_acc = evaluate(model, val)
            history.val_epochs.append(epoch)
            history.val_loss.append(val_loss)
            history.val_acc.append(val_acc)
            postfix["val_acc"] = f"{val_acc:.3f}"
        bar.set_postfix(postfix, refresh=False)
        bar.update()
    bar.close()
    model.eval()
    return history
