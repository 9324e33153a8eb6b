"""Exercise checks of chapter 07 (The Vision Transformer)."""

from __future__ import annotations

from typing import Callable

from .core import ExerciseError, call, passed

__all__ = ["check_block_parameters"]


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
        expected = count_parameters(TransformerBlock(dim, heads=4 if dim % 4 == 0 else 1, mlp_dim=mlp_dim))
        got = call(block_parameters, dim, mlp_dim, name="block_parameters")
        if got != expected:
            attn, mlp, norms = 4 * dim * dim + 4 * dim, 2 * dim * mlp_dim + mlp_dim + dim, 4 * dim
            parts = f"(attention {attn:,}, MLP {mlp:,}, two LayerNorms {norms:,})"
            hint = ""
            if got == attn + mlp:
                hint = " The two LayerNorms have parameters too: a scale and a shift per feature."
            elif got == expected - 4 * dim:
                hint = " Count the biases of the four attention projections (query, key, value, output)."
            raise ExerciseError(
                f"block_parameters(dim={dim}, mlp_dim={mlp_dim}) returned {got!r}; expected {expected:,} {parts}.{hint}"
            )
    passed("block_parameters", "correct for five block sizes, up to ViT-B's (dim 768).")
