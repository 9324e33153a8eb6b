import random

import pytest
import torch
import torch.nn.functional as F

from minimodels.patches import (
    PatchEmbedding,
    linear_to_conv_weight,
    patchify,
    sincos_position_embedding,
    unpatchify,
)


@pytest.mark.parametrize("seed", range(8))
def test_round_trip_is_exact_and_layout_is_row_major(seed):
    rng = random.Random(seed)
    P, C = rng.choice([1, 2, 4, 7]), rng.choice([1, 3])
    H, W = P * rng.randint(1, 5), P * rng.randint(1, 5)
    x = torch.randn(rng.randint(1, 3), C, H, W)
    patches = patchify(x, P)
    assert patches.shape == (x.shape[0], (H // P) * (W // P), P * P * C)
    assert torch.equal(unpatchify(patches, P, H, W), x)
    # token n is grid cell (n // (W/P), n % (W/P)); features are (p1 p2 c)
    n = patches.shape[1] - 1
    r, c = divmod(n, W // P)
    assert torch.equal(
        patches[:, n],
        x[:, :, r * P : (r + 1) * P, c * P : (c + 1) * P]
        .permute(0, 2, 3, 1)
        .flatten(1),
    )


@pytest.mark.parametrize("P,C,D", [(4, 1, 16), (7, 3, 8), (2, 2, 5)])
def test_linear_patch_embedding_equals_strided_convolution(P, C, D):
    torch.manual_seed(0)
    embed = PatchEmbedding(P, C, D)
    x = torch.randn(2, C, 4 * P, 3 * P, requires_grad=True)
    tokens = embed(x)  # (B, N, D)
    conv = F.conv2d(
        x, linear_to_conv_weight(embed.proj.weight, P, C), embed.proj.bias, stride=P
    )  # (B, D, H/P, W/P)
    torch.testing.assert_close(tokens, conv.flatten(2).transpose(1, 2))
    g1 = torch.autograd.grad(tokens.sum(), x)[0]
    g2 = torch.autograd.grad(conv.sum(), x)[0]
    torch.testing.assert_close(g1, g2)


def test_sincos_embedding_is_fixed_distinct_and_bounded():
    table = sincos_position_embedding(7, 7, 64)
    assert table.shape == (49, 64) and table.abs().max() <= 1
    assert torch.equal(table, sincos_position_embedding(7, 7, 64))
    assert (
        torch.cdist(table, table).add(torch.eye(49) * 10).min() > 0.1
    )  # all positions distinguishable
    with pytest.raises(ValueError, match="dim divisible by 4, got 30"):
        sincos_position_embedding(7, 7, 30)


def test_bad_input_is_explained():
    with pytest.raises(
        ValueError,
        match=r"image size 28x30 is not divisible by patch size 4 \(remainder 0x2\)",
    ):
        patchify(torch.zeros(1, 1, 28, 30), 4)
    with pytest.raises(
        ValueError,
        match=r"patchify expects images of shape \(B, C, H, W\), got 3-D input",
    ):
        patchify(torch.zeros(1, 28, 28), 4)
    with pytest.raises(
        ValueError,
        match=(
            r"PatchEmbedding expects images of shape \(B, 1, H, W\), "
            r"got shape \(1, 3, 28, 28\)"
        ),
    ):
        PatchEmbedding(4, 1, 8)(torch.zeros(1, 3, 28, 28))
    with pytest.raises(
        ValueError,
        match="PatchEmbedding: image size 30x30 is not divisible by patch size 4",
    ):
        PatchEmbedding(4, 1, 8)(torch.zeros(1, 1, 30, 30))
    with pytest.raises(ValueError, match="do not tile a 8x8 image"):
        unpatchify(torch.zeros(1, 3, 16), 4, 8, 8)
