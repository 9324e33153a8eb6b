"""minimodels.attention_ablation: a block's attention replaced by uniform or identity
weights equals torch's nn.MultiheadAttention with queries and keys zeroed (uniform) or
every other token masked out (identity); the model comes back unchanged."""

import pytest
import torch
from torch import nn

from minimodels.attention import MultiHeadAttention
from minimodels.attention_ablation import null_attention, replaced_attention
from minimodels.vit import ViT


def torch_twin(ours: MultiHeadAttention) -> nn.MultiheadAttention:
    twin = nn.MultiheadAttention(ours.dim, ours.heads, batch_first=True)
    with torch.no_grad():
        twin.in_proj_weight.copy_(ours.in_proj.weight)
        twin.in_proj_bias.copy_(ours.in_proj.bias)
        twin.out_proj.load_state_dict(ours.out_proj.state_dict())
    return twin


@pytest.mark.parametrize(
    "dim, heads, tokens", [(8, 1, 1), (8, 2, 5), (16, 4, 16), (12, 3, 7)]
)
def test_null_attention_matches_torch(dim, heads, tokens):
    torch.manual_seed(dim + heads + tokens)
    ours = MultiHeadAttention(dim, heads)
    x = torch.randn(3, tokens, dim)
    twin = torch_twin(ours)
    with torch.no_grad():
        # uniform: zero queries and keys make every score 0, every weight 1/N
        twin.in_proj_weight[: 2 * dim] = 0
        twin.in_proj_bias[: 2 * dim] = 0
        uniform, _ = twin(x, x, x)
        # identity: each token may attend only to itself (True = masked out)
        twin = torch_twin(ours)
        off_diagonal = ~torch.eye(tokens, dtype=torch.bool)
        identity, _ = twin(x, x, x, attn_mask=off_diagonal)
        assert torch.allclose(null_attention(ours, x, "uniform"), uniform, atol=1e-6)
        assert torch.allclose(null_attention(ours, x, "identity"), identity, atol=1e-6)


def test_replaced_attention_changes_only_inside_the_with():
    torch.manual_seed(0)
    model = ViT(patch_size=7, dim=16, depth=2, heads=2, mlp_dim=32).eval()
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        before = model(x)
        with replaced_attention(model, [0, 1], "uniform"):
            uniform = model(x)
        with replaced_attention(model, [1], "identity"):
            identity = model(x)
        after = model(x)
    assert torch.equal(before, after)
    assert not torch.allclose(before, uniform) and not torch.allclose(before, identity)


def test_replaced_attention_checks_its_arguments():
    model = ViT(patch_size=7, dim=16, depth=2, heads=2, mlp_dim=32)
    with pytest.raises(ValueError, match=r"blocks must lie in \[0, 2\), got \[2\]"):
        with replaced_attention(model, [2], "uniform"):
            pass
    with pytest.raises(ValueError, match="mode must be one of"):
        with replaced_attention(model, [0], "random"):
            pass
    with pytest.raises(ValueError, match="mode must be one of"):
        null_attention(model.blocks[0].attn, torch.zeros(1, 16, 16), "zero")
