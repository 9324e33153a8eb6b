"""Replace a trained ViT's attention at test time: does the model use what it learned?

Chapter 08 measures how far a ViT's heads look and how much each token takes from
the others. Neither says the model *needs* those weights: uniform attention looks
far and mixes everything too. The control is to swap a block's learned attention
weights for a null pattern, keep everything else (the value and output projections,
the MLP, the other blocks), and measure the accuracy lost (the head-ablation idea of
Michel et al. 2019, applied to whole blocks):

``uniform``   every token averages the values of all tokens (weights 1/N): what
              attention that has learned nothing about content or position does;
``identity``  every token keeps its own value (weight 1 on itself): no mixing.

A small loss under ``uniform`` means the block's learned *pattern* carries little;
a large loss under ``identity`` means the block's mixing matters.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import torch
from einops import rearrange

from .attention import MultiHeadAttention
from .vit import ViT

__all__ = ["ATTENTION_NULLS", "null_attention", "replaced_attention"]

ATTENTION_NULLS = ("uniform", "identity")


def null_attention(
    attn: MultiHeadAttention, x: torch.Tensor, mode: str
) -> torch.Tensor:
    """What ``attn(x)`` returns with its attention weights replaced by ``mode``'s:
    ``(B, N, D)`` tokens in, ``(B, N, D)`` out."""
    if mode not in ATTENTION_NULLS:
        raise ValueError(f"mode must be one of {ATTENTION_NULLS}, got {mode!r}")
    v = rearrange(
        attn.in_proj(x), "b n (three h d) -> three b h n d", three=3, h=attn.heads
    )[2]  # (B, h, N, D/h): the values; queries and keys are not needed
    if mode == "uniform":
        v = v.mean(dim=-2, keepdim=True).expand_as(v)
    return attn.out_proj(rearrange(v, "b h n d -> b n (h d)"))


@contextlib.contextmanager
def replaced_attention(model: ViT, blocks: Sequence[int], mode: str) -> Iterator[ViT]:
    """Within the ``with``, the attention of ``model.blocks[i]`` for each ``i`` in
    ``blocks`` is ``mode``'s (see :func:`null_attention`); the model is restored
    after, even on an error."""
    if mode not in ATTENTION_NULLS:
        raise ValueError(f"mode must be one of {ATTENTION_NULLS}, got {mode!r}")
    depth = len(model.blocks)
    bad = [i for i in blocks if not 0 <= i < depth]
    if bad:
        raise ValueError(f"blocks must lie in [0, {depth}), got {bad}")
    hooks = [
        model.blocks[i].attn.register_forward_hook(
            lambda module, inputs, output: null_attention(module, inputs[0], mode)
        )
        for i in blocks
    ]
    try:
        yield model
    finally:
        for hook in hooks:
            hook.remove()
