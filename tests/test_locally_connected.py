"""LocallyConnected2d: a convolution without weight sharing, against
torch.nn.functional.conv2d (shared weights copied to every position) and against an
explicit loop over output positions (unshared weights), on many shapes."""

import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from minimodels.locally_connected import LocallyConnected2d


def cases(n, seed):
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        C, C_out, K = rng.randint(1, 3), rng.randint(1, 4), rng.choice([1, 2, 3, 5])
        S, P, size = rng.randint(1, 3), rng.randint(0, 2), rng.randint(3, 10)
        if size + 2 * P >= K:
            out.append((rng.randint(1, 3), C, C_out, K, S, P, size))
    return out


@pytest.mark.parametrize("case", cases(20, seed=0))
def test_shared_weights_give_the_convolution(case):
    B, C, C_out, K, S, P, size = case
    torch.manual_seed(0)
    conv = nn.Conv2d(C, C_out, K, stride=S, padding=P).double()
    layer = LocallyConnected2d.from_conv(conv, size).double()
    x = torch.randn(B, C, size, size, dtype=torch.float64)
    torch.testing.assert_close(layer(x), F.conv2d(x, conv.weight, conv.bias, S, P))


def loops(x, layer):
    """Each output position's own filters times its own window, one by one."""
    K, S, P = layer.kernel_size, layer.stride, layer.padding
    x = F.pad(x, (P, P, P, P))
    n = layer.output_size
    out = torch.zeros(x.shape[0], layer.out_channels, n, n, dtype=x.dtype)
    for i in range(n):
        for j in range(n):
            window = x[:, :, i * S : i * S + K, j * S : j * S + K].flatten(1)
            out[:, :, i, j] = window @ layer.weight[i * n + j].T
    return out if layer.bias is None else out + layer.bias


@pytest.mark.parametrize("case", cases(12, seed=1))
def test_unshared_weights_match_an_explicit_loop(case):
    B, C, C_out, K, S, P, size = case
    torch.manual_seed(1)
    layer = LocallyConnected2d(C, C_out, K, size, stride=S, padding=P).double()
    x = torch.randn(B, C, size, size, dtype=torch.float64)
    torch.testing.assert_close(layer(x), loops(x, layer))


def test_parameters_grow_with_the_output_positions_and_gradients_flow():
    layer = LocallyConnected2d(2, 3, 3, 8, padding=1)  # 64 positions
    conv = nn.Conv2d(2, 3, 3, padding=1)
    assert sum(p.numel() for p in layer.parameters()) == 64 * 3 * 18 + 3 * 64
    assert sum(p.numel() for p in conv.parameters()) == 3 * 18 + 3
    small = LocallyConnected2d(1, 2, 2, 4, stride=2, bias=False).double()
    x = torch.randn(2, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(small, (x,))


def test_bad_input_is_explained():
    layer = LocallyConnected2d(3, 4, 3, 8)
    with pytest.raises(
        ValueError, match=r"expects images of shape \(B, 3, 8, 8\), got 3-D"
    ):
        layer(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match=r"\(B, 3, 8, 8\), got shape \(1, 2, 8, 8\)"):
        layer(torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match=r"\(B, 3, 8, 8\), got shape \(1, 3, 9, 9\)"):
        layer(torch.zeros(1, 3, 9, 9))
    with pytest.raises(ValueError, match="does not fit a 2x2 input"):
        LocallyConnected2d(1, 1, 5, 2)
    with pytest.raises(ValueError, match="stride must be an int >= 1, got 0"):
        LocallyConnected2d(1, 1, 3, 8, stride=0)
