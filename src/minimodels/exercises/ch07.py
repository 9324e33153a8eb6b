"""Exercise checks of chapter 07 (The Vision Transformer)."""

from __future__ import annotations

from typing import Callable

import torch

from .core import ExerciseError, call, compare, passed

__all__ = ["check_block_parameters", "check_attention_received"]


def check_block_parameters(block_parameters: Callable) -> None:
    """Chapter 07, parameters of one Transformer block.

    Verifies that ``block_parameters(dim, mlp_dim)`` returns the trainable
    parameters of :class:`minimodels.vit.TransformerBlock` (two LayerNorms,
    multi-head attention with biases, a two-layer MLP with biases) for five
    sizes, and that the answer does not depend on the number of heads or
    tokens (neither is an argument). The expected count is taken from the
    module itself, not from a formula.
    """
    from ..train import count_parameters
    from ..vit import TransformerBlock

    for dim, mlp_dim in [(64, 128), (16, 64), (8, 8), (192, 768), (768, 3072)]:
        expected = count_parameters(
            TransformerBlock(dim, heads=4 if dim % 4 == 0 else 1, mlp_dim=mlp_dim)
        )
        got = call(block_parameters, dim, mlp_dim, name="block_parameters")
        if got != expected:
            attn, mlp, norms = (
                4 * dim * dim + 4 * dim,
                2 * dim * mlp_dim + mlp_dim + dim,
                4 * dim,
            )
            parts = f"(attention {attn:,}, MLP {mlp:,}, two LayerNorms {norms:,})"
            hint = ""
            if got == attn + mlp:
                hint = (
                    " The two LayerNorms have parameters too: a scale and a shift "
                    "per feature."
                )
            elif got == expected - 4 * dim:
                hint = (
                    " Count the biases of the four attention projections "
                    "(query, key, value, output)."
                )
            raise ExerciseError(
                f"block_parameters(dim={dim}, mlp_dim={mlp_dim}) returned {got!r}; "
                f"expected {expected:,} {parts}.{hint}"
            )
    passed("block_parameters", "correct for five block sizes, up to ViT-B's (dim 768).")


def check_attention_received(attention_received: Callable) -> None:
    """Chapter 07, how much attention each token receives.

    Verifies that ``attention_received(weights)`` turns attention weights of
    shape ``(B, h, N, N)`` (rows: queries, columns: keys; each row sums to 1)
    into a ``(B, N)`` tensor: for each image, the attention each token gets as
    a *key*, averaged over heads and over all queries. Tried on three random
    weight tensors of different B, h and N; averaging over the wrong axis
    (which gives 1/N everywhere, since rows sum to 1) and summing instead of
    averaging are named.
    """
    g = torch.Generator().manual_seed(7)
    for B, h, N in [(2, 4, 5), (1, 3, 9), (3, 1, 50)]:
        weights = torch.rand(B, h, N, N, generator=g).softmax(dim=-1)
        expected = weights.mean(dim=(1, 2))
        what = f"attention_received on weights of shape ({B}, {h}, {N}, {N})"
        got = call(attention_received, weights.clone(), name="attention_received")
        if (
            isinstance(got, torch.Tensor)
            and got.shape == expected.shape
            and not torch.allclose(got, expected, atol=1e-6)
        ):
            if torch.allclose(got, torch.full_like(got, 1 / N), atol=1e-6):
                raise ExerciseError(
                    f"{what} returned 1/N = {1 / N:.4f} for every token: you averaged "
                    "over the keys (the last axis), where every row sums to 1. "
                    "Average over the heads and the queries (dims 1 and 2)."
                )
            if torch.allclose(got, weights.sum(dim=(1, 2)), atol=1e-5):
                raise ExerciseError(
                    f"{what}: you summed over heads and queries; take the mean "
                    "instead, so the values are shares."
                )
        compare(
            got,
            expected,
            name=what,
            hint="average weights over dims 1 (heads) and 2 (queries).",
        )
    passed("attention_received", "correct on three weight tensors of different shapes.")
