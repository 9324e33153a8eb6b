import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from minimodels.attention import MultiHeadAttention, attention


@pytest.mark.parametrize("seed", range(10))
def test_attention_matches_sdpa_in_value_and_gradient(seed):
    rng = random.Random(seed)
    B, h, Nq, Nk, d, dv = (
        rng.randint(1, 3),
        rng.randint(1, 4),
        rng.randint(1, 9),
        rng.randint(1, 9),
        rng.choice([1, 4, 8]),
        rng.choice([2, 5]),
    )
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, h, Nq, d, generator=g, dtype=torch.float64, requires_grad=True)
    k = torch.randn(B, h, Nk, d, generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.randn(B, h, Nk, dv, generator=g, dtype=torch.float64, requires_grad=True)
    mask = None
    if seed % 2:
        mask = torch.rand(Nq, Nk, generator=g) > 0.3
        mask[:, 0] = True  # every query may attend somewhere
    ours, weights = attention(q, k, v, mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(
        weights.sum(-1), torch.ones(B, h, Nq, dtype=torch.float64)
    )
    if mask is not None:
        assert (weights[..., ~mask] == 0).all()
    up = torch.randn(ref.shape, generator=g, dtype=torch.float64)
    for a, b in zip(
        torch.autograd.grad(ours, (q, k, v), up),
        torch.autograd.grad(ref, (q, k, v), up),
    ):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize(
    "dim,heads,N", [(16, 4, 7), (12, 3, 1), (8, 1, 5), (32, 8, 17)]
)
def test_multihead_attention_matches_torch_with_copied_weights(dim, heads, N):
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(dim, heads, batch_first=True)
    ours = MultiHeadAttention(dim, heads)
    with torch.no_grad():
        ours.in_proj.weight.copy_(ref.in_proj_weight)
        ours.in_proj.bias.copy_(ref.in_proj_bias)
        ours.out_proj.weight.copy_(ref.out_proj.weight)
        ours.out_proj.bias.copy_(ref.out_proj.bias)
    x = torch.randn(3, N, dim, requires_grad=True)
    out_ref, w_ref = ref(x, x, x, average_attn_weights=False)
    out_ours = ours(x)
    torch.testing.assert_close(out_ours, out_ref)
    torch.testing.assert_close(ours.probs, w_ref)
    g_ours = torch.autograd.grad(out_ours.square().sum(), [x, ours.in_proj.weight])
    g_ref = torch.autograd.grad(out_ref.square().sum(), [x, ref.in_proj_weight])
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b)


def test_self_attention_is_permutation_equivariant():
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4)
    x = torch.randn(2, 9, 16)
    perm = torch.randperm(9)
    torch.testing.assert_close(mha(x[:, perm]), mha(x)[:, perm])


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="same width d, got 4 and 5"):
        attention(torch.zeros(2, 4), torch.zeros(3, 5), torch.zeros(3, 5))
    with pytest.raises(ValueError, match="same number of tokens, got 3 and 2"):
        attention(torch.zeros(2, 4), torch.zeros(3, 4), torch.zeros(2, 4))
    with pytest.raises(TypeError, match="mask must be a boolean tensor"):
        attention(
            torch.zeros(2, 4),
            torch.zeros(3, 4),
            torch.zeros(3, 4),
            mask=torch.ones(2, 3),
        )
    with pytest.raises(
        ValueError, match="dim must be divisible by heads, got dim=10, heads=3"
    ):
        MultiHeadAttention(10, 3)
    with pytest.raises(
        ValueError, match=r"expects tokens of shape \(B, N, 16\), got shape \(2, 9, 8\)"
    ):
        MultiHeadAttention(16, 4)(torch.zeros(2, 9, 8))
