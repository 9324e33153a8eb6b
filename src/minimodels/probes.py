"""Linear probes: how much class information a layer's features hold, read off
by the best linear classifier on top of them (Alain & Bengio 2016).

Used in chapter 08 to test "CNNs learn hierarchical features": the features of
each stage of a trained CNN, averaged over positions (so a probe reads *what*
the features are, not *where*), beside the same stages of the untrained network,
the null baseline. A probe is multinomial logistic regression with a small L2
penalty, fitted by L-BFGS on standardised features (the training features'
mean and spread), and scored on held-out features.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .train import eval_mode

__all__ = ["linear_probe", "pooled_stages"]


def _check(features: torch.Tensor, labels: torch.Tensor, what: str) -> None:
    if features.ndim != 2:
        raise ValueError(
            f"linear_probe expects {what} features of shape (N, D), "
            f"got {features.ndim}-D input of shape {tuple(features.shape)}"
        )
    if labels.shape != (len(features),):
        raise ValueError(
            f"linear_probe expects {what} labels of shape ({len(features)},), "
            f"got shape {tuple(labels.shape)}"
        )


def linear_probe(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    *,
    weight_decay: float = 1e-3,
    max_iter: int = 100,
    seed: int = 0,
) -> float:
    """Test accuracy of a linear classifier fitted on ``train_features`` (N, D).

    The classes are ``0 .. max(train_labels)``. Deterministic for a ``seed``.
    """
    _check(train_features, train_labels, "training")
    _check(test_features, test_labels, "test")
    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(
            "linear_probe expects training and test features of the same width, "
            f"got {train_features.shape[1]} and {test_features.shape[1]}"
        )
    x, x_test = train_features.double(), test_features.double()
    mean, spread = x.mean(0), x.std(0) + 1e-6  # the training split's statistics only
    x, x_test = (x - mean) / spread, (x_test - mean) / spread
    classes = int(train_labels.max()) + 1
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(x.shape[1], classes, generator=g, dtype=x.dtype) * 0.01
    bias = torch.zeros(classes, dtype=x.dtype)
    weight.requires_grad_(True)
    bias.requires_grad_(True)
    optimiser = torch.optim.LBFGS(
        [weight, bias], max_iter=max_iter, line_search_fn="strong_wolfe"
    )

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        value = F.cross_entropy(x @ weight + bias, train_labels)
        value = value + weight_decay * weight.pow(2).sum()
        value.backward()
        return value

    optimiser.step(loss)
    with torch.no_grad():
        predicted = (x_test @ weight + bias).argmax(1)
    return (predicted == test_labels).double().mean().item()


@torch.no_grad()
def pooled_stages(
    model, images: torch.Tensor, batch_size: int = 500
) -> list[torch.Tensor]:
    """Each stage's output of a :class:`~minimodels.cnn.SmallCNN`, averaged over
    positions: one (N, C_stage) tensor per stage, in eval mode."""
    chunks: list[list[torch.Tensor]] = []
    with eval_mode(model):
        for i in range(0, len(images), batch_size):
            out = model.features(images[i : i + batch_size])
            stages = [k for k in out if k.startswith("stage")]
            chunks.append([out[k].mean(dim=(2, 3)) for k in stages])
    return [torch.cat(parts) for parts in zip(*chunks)]
