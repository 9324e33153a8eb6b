"""ConvStem: shapes, token order, parameter count, gradients, torch twin, errors."""

import pytest
import torch
from torch import nn

from minimodels.conv import Conv2d
from minimodels.hybrid import ConvStem, conv_stem_parameters
from minimodels.patches import patchify


@pytest.mark.parametrize(
    "P, C, D, H", [(2, 1, 8, 28), (4, 1, 16, 28), (8, 3, 24, 32), (16, 3, 32, 32)]
)
def test_shapes_stages_and_parameter_count(P, C, D, H):
    stem = ConvStem(P, C, D)
    tokens = stem(torch.randn(2, C, H, H))
    assert tokens.shape == (2, (H // P) ** 2, D)
    stages = P.bit_length() - 1
    convs = [m for m in stem.modules() if isinstance(m, Conv2d)]
    assert len(convs) == stages and convs[-1].out_channels == D
    assert all(c.out_channels == D // 2 for c in convs[:-1]) and all(
        c.bias is None for c in convs
    )
    # the formula, written out: 3x3 kernels and two BatchNorm parameters per channel
    widths = [D // 2] * (stages - 1) + [D]
    expected = sum(
        9 * c_in * c_out + 2 * c_out for c_in, c_out in zip([C] + widths[:-1], widths)
    )
    assert (
        sum(p.numel() for p in stem.parameters())
        == expected
        == conv_stem_parameters(P, C, D)
    )


def test_tokens_are_in_patchify_order():
    """Token n comes from patch n: make the stem see only its own patch and compare
    with patchify."""
    stem = ConvStem(2, 1, 2).eval()
    with torch.no_grad():
        conv = stem.layers[0]
        conv.weight.zero_()
        conv.weight[:, 0, 1, 1] = (
            1.0  # identity kernel: the map is the image itself (through BN and ReLU)
        )
    x = torch.rand(1, 1, 8, 8)
    # (1, 16, 2): each token = the max over its 2x2 patch (BN in eval is the identity
    # here)
    tokens = stem(x)
    expected = patchify(x, 2).amax(dim=-1)  # (1, 16)
    torch.testing.assert_close(tokens[..., 0], expected / (1 + 1e-5) ** 0.5)


def test_gradients_flow_and_torch_twin_matches():
    torch.manual_seed(0)
    ours = ConvStem(4, 3, 16)
    theirs = ConvStem(4, 3, 16, kernels="torch")
    assert any(isinstance(m, nn.Conv2d) for m in theirs.modules())
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 3, 16, 16, requires_grad=True)
    out = ours(x)
    out.square().sum().backward()
    assert x.grad.abs().sum() > 0 and all(
        p.grad is not None and p.grad.abs().sum() > 0 for p in ours.parameters()
    )
    torch.testing.assert_close(theirs(x), out, atol=1e-5, rtol=1e-4)


def test_bad_input_and_config_are_explained():
    with pytest.raises(ValueError, match="patch size must be a power of two .* got 6"):
        ConvStem(6, 1, 16)
    with pytest.raises(ValueError, match="got 1"):
        ConvStem(1, 1, 16)
    with pytest.raises(
        ValueError, match=r"kernels must be one of \('ours', 'torch'\), got 'fast'"
    ):
        ConvStem(4, 1, 16, kernels="fast")
    with pytest.raises(
        ValueError,
        match=(
            r"ConvStem expects images of shape \(B, 1, H, W\), "
            r"got shape \(2, 3, 28, 28\)"
        ),
    ):
        ConvStem(4, 1, 16)(torch.zeros(2, 3, 28, 28))
    with pytest.raises(
        ValueError, match="ConvStem: image size 30x30 is not divisible by patch size 4"
    ):
        ConvStem(4, 1, 16)(torch.zeros(2, 1, 30, 30))
