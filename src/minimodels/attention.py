"""Scaled dot-product attention and multi-head attention.

Built in chapter 06 (Self-attention).

``attention(q, k, v)`` is eq. 1 of Vaswani et al. (2017)::

    attention(Q, K, V) = softmax(Q K^T / sqrt(d)) V

Each query token gets a weighted average of the value vectors, the weights
saying how well its query matches each key. Nothing in it depends on where a
token is: permuting the tokens permutes the output the same way
(permutation equivariance), which is why a ViT needs position embeddings.

:class:`MultiHeadAttention` runs ``h`` attentions side by side on ``D/h``-
dimensional projections and mixes their outputs (Vaswani et al. 2017, sec.
3.2.2). Its parameters are laid out like ``torch.nn.MultiheadAttention``'s
(one packed input projection, one output projection), so weights copy across.
Both return the attention weights too, so chapters can plot them.
"""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import nn

from .shapes import format_shape

__all__ = ["attention", "MultiHeadAttention"]


def attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention; returns ``(output, weights)``.

    q: ``(..., N_q, d)``; k: ``(..., N_k, d)``; v: ``(..., N_k, d_v)``.
    mask: optional boolean tensor broadcastable to ``(..., N_q, N_k)``; True
    marks the keys a query may attend to (the convention of
    ``torch.nn.functional.scaled_dot_product_attention``).
    Output ``(..., N_q, d_v)``; weights ``(..., N_q, N_k)``, rows summing to 1.
    """
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(
            "attention expects q, k, v of shape (..., N, d), got "
            f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
        )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            "queries and keys must have the same width d, got "
            f"{q.shape[-1]} and {k.shape[-1]}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            "keys and values must have the same number of tokens, got "
            f"{k.shape[-2]} and {v.shape[-2]}"
        )
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., N_q, N_k)
    if mask is not None:
        if mask.dtype != torch.bool:
            raise TypeError(
                "mask must be a boolean tensor (True = may attend), "
                f"got dtype {mask.dtype}"
            )
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(dim=-1)
    return weights @ v, weights


class MultiHeadAttention(nn.Module):
    """Multi-head self-attention over ``(B, N, D)`` tokens.

    dim: token width D; heads: h, which must divide D; bias: biases in the
    projections. ``forward`` returns ``(B, N, D)``; the last attention weights,
    ``(B, h, N, N)``, are kept in ``self.probs`` for plots (attention
    probabilities, named apart from the parameters ``in_proj.weight``).
    """

    def __init__(self, dim: int, heads: int, bias: bool = True):
        super().__init__()
        if dim % heads:
            raise ValueError(
                f"dim must be divisible by heads, got dim={dim}, heads={heads}"
            )
        self.dim, self.heads = dim, heads
        # One packed projection to queries, keys and values, as
        # torch.nn.MultiheadAttention's in_proj.
        self.in_proj = nn.Linear(dim, 3 * dim, bias=bias)
        self.out_proj = nn.Linear(dim, dim, bias=bias)
        self.probs: torch.Tensor | None = None  # (B, h, N, N) of the last forward

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ValueError(
                f"MultiHeadAttention expects tokens of shape (B, N, {self.dim}), "
                f"got shape {format_shape(x.shape)}"
            )
        q, k, v = rearrange(
            self.in_proj(x), "b n (three h d) -> three b h n d", three=3, h=self.heads
        )
        out, weights = attention(q, k, v, mask)  # (B, h, N, D/h), (B, h, N, N)
        self.probs = weights.detach()
        return self.out_proj(rearrange(out, "b h n d -> b n (h d)"))
