"""Linear probes: how much class information a layer's features hold, read off
by the best linear classifier on top of them (Alain & Bengio 2016).

Used in chapter 08 to test "CNNs learn hierarchical features": the features of
each stage of a trained CNN, averaged over positions (so a probe reads *what*
the features are, not *where*), beside the same stages of the untrained network,
the null baseline. A probe is multinomial logistic regression with a small L2
penalty, fitted by L-BFGS on standardised features (the training features'
mean and spread), and scored on held-out features.

Chapter 07 looks inside the trained ViT with three more probes: the cosine
similarity of its learned position embeddings (:func:`position_similarity`, as in
Dosovitskiy et al. 2021, fig. 7 centre), their mean by how two positions sit on the
patch grid (:func:`similarity_by_relation`), how smooth the first layer's filters
are (:func:`neighbour_correlation`), and the attention weights of one query patch
in every block (:func:`query_attention`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .shapes import format_shape
from .train import eval_mode

__all__ = [
    "linear_probe",
    "pooled_stages",
    "position_similarity",
    "similarity_by_relation",
    "neighbour_correlation",
    "query_attention",
]


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


def position_similarity(embeddings: torch.Tensor) -> torch.Tensor:
    """``(N, N)`` cosine similarities between the rows of ``(N, D)`` embeddings.

    Entry ``(i, j)`` is ``p_i p_j^T / (|p_i| |p_j|)``: 1 on the diagonal, near 0 for
    unrelated directions. Pass a ViT's position embeddings without the batch axis and
    without a class token's row, ``model.pos_embedding[0]`` for the mean readout.
    """
    if not isinstance(embeddings, torch.Tensor) or embeddings.ndim != 2:
        got = (
            f"{embeddings.ndim}-D input of shape {format_shape(embeddings.shape)}"
            if isinstance(embeddings, torch.Tensor)
            else type(embeddings).__name__
        )
        raise ValueError(
            f"position_similarity expects embeddings of shape (N, D), got {got}"
        )
    unit = F.normalize(embeddings.detach().double(), dim=-1)  # (N, D), rows of length 1
    return unit @ unit.T  # (N, N)


def _grid_side(similarity: torch.Tensor) -> int:
    if similarity.ndim != 2 or similarity.shape[0] != similarity.shape[1]:
        raise ValueError(
            "similarity_by_relation expects a square (N, N) similarity matrix, "
            f"got shape {format_shape(similarity.shape)}"
        )
    N = similarity.shape[0]
    side = round(N**0.5)
    if side * side != N:
        raise ValueError(
            "similarity_by_relation expects the N positions of a square patch grid, "
            f"got N = {N}, not a square number"
        )
    return side


def similarity_by_relation(
    similarity: torch.Tensor, far: float = 3.0
) -> dict[str, float]:
    """Mean similarity of pairs of *distinct* positions, by how they sit on the grid.

    ``similarity`` is ``(N, N)`` over the positions of a square grid in row order
    (position ``n`` in row ``n // side``, column ``n % side``, as
    :func:`~minimodels.patches.patchify` orders patches). Returns the means over
    the pairs in the ``"same row"``, in the ``"same column"``, ``"neighbours"``
    (one patch apart, up, down, left or right) and ``"far"`` (centres at least
    ``far`` patches apart).
    """
    side = _grid_side(similarity)
    n = torch.arange(side * side)
    rows, cols = n // side, n % side  # (N,) each: where position n sits
    dr = rows[:, None] - rows[None, :]  # (N, N) offsets in patches, exact integers
    dc = cols[:, None] - cols[None, :]
    square = dr**2 + dc**2  # squared distance between the patch centres
    distinct = square > 0
    masks = {
        "same row": (dr == 0) & distinct,
        "same column": (dc == 0) & distinct,
        "neighbours": square == 1,
        "far": square >= far**2,
    }
    for name, mask in masks.items():
        if not mask.any():
            raise ValueError(
                f"similarity_by_relation: a {side} x {side} grid has no pairs "
                f"for {name!r} (far = {far})"
            )
    return {name: similarity[mask].mean().item() for name, mask in masks.items()}


def neighbour_correlation(filters: torch.Tensor) -> float:
    """How smooth ``(D, C, k, k)`` filters are: the correlation between each weight and
    its neighbour to the right and its neighbour below, over all filters and channels.

    Near 0 for independent random weights (an initialisation); towards 1 when
    neighbouring pixels get similar weights, as in a blurred or stroke-like filter.
    """
    if filters.ndim != 4 or filters.shape[-1] < 2 or filters.shape[-2] < 2:
        raise ValueError(
            "neighbour_correlation expects filters of shape (D, C, k, k) with k >= 2, "
            f"got shape {format_shape(filters.shape)}"
        )
    w = filters.detach().double()
    first = torch.cat([w[..., :, :-1].flatten(), w[..., :-1, :].flatten()])
    second = torch.cat([w[..., :, 1:].flatten(), w[..., 1:, :].flatten()])
    return torch.corrcoef(torch.stack([first, second]))[0, 1].item()


@torch.no_grad()
def query_attention(model: nn.Module, images: torch.Tensor, query: int) -> torch.Tensor:
    """``(L, B, N)``: how the token of patch ``query`` spreads its attention over the
    ``N`` patches, in each of the ``L`` blocks of a :class:`~minimodels.vit.ViT`,
    averaged over the heads (no rollout: each block's own weights). Rows sum to 1.

    With a class token, the class token is dropped as a key and each row is
    renormalised over the patches; ``query`` counts patches in row order either way.
    Runs in eval mode; the result is on the CPU.
    """
    N = model.num_patches
    if isinstance(query, bool) or not isinstance(query, int) or not 0 <= query < N:
        raise ValueError(
            f"query_attention expects a patch index in [0, {N}), got {query!r}"
        )
    first = 1 if getattr(model, "cls_token", None) is not None else 0
    with eval_mode(model):
        weights = model.features(images)["attention"]  # L x (B, h, T, T)
    rows = []
    for w in weights:
        row = w.mean(dim=1)[:, first + query, first:]  # (B, N), heads averaged
        rows.append(row / row.sum(dim=-1, keepdim=True))
    return torch.stack(rows).cpu()  # (L, B, N)
