"""conv2d_loops, conv2d_unfold and Conv2d against torch.nn.functional.conv2d and
nn.Conv2d.
"""

import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from minimodels.conv import Conv2d, conv2d_loops, conv2d_unfold, conv_output_size, pad2d


def random_cases(n, seed):
    """(B, C_in, C_out, H, W, K, stride, padding, padding_mode, bias), drawn at
    random."""
    rng = random.Random(seed)
    cases = []
    while len(cases) < n:
        K = rng.choice([1, 2, 3, 5])
        padding = rng.randint(0, K)
        mode = rng.choice(["zeros", "circular"])
        H, W = (
            rng.randint(max(K, padding) + 1, 12),
            rng.randint(max(K, padding) + 1, 12),
        )
        cases.append(
            (
                rng.randint(1, 3),
                rng.randint(1, 4),
                rng.randint(1, 5),
                H,
                W,
                K,
                rng.randint(1, 3),
                padding,
                mode,
                rng.random() < 0.7,
            )
        )
    return cases


def reference(x, w, b, stride, padding, mode):
    if mode == "circular":
        return F.conv2d(F.pad(x, (padding,) * 4, mode="circular"), w, b, stride)
    return F.conv2d(x, w, b, stride, padding)


@pytest.mark.parametrize("fn", [conv2d_loops, conv2d_unfold])
@pytest.mark.parametrize(
    "case",
    random_cases(40, seed=0),
    ids=lambda c: "B{}C{}O{}_{}x{}_K{}s{}p{}{}_{}".format(
        *c[:8], c[8][0], "b" if c[9] else "nob"
    ),
)
def test_matches_torch_in_value_and_gradient(fn, case):
    B, C, C_out, H, W, K, stride, padding, mode, has_bias = case
    g = torch.Generator().manual_seed(1)
    x = torch.randn(B, C, H, W, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(
        C_out, C, K, K, generator=g, dtype=torch.float64, requires_grad=True
    )
    b = (
        torch.randn(C_out, generator=g, dtype=torch.float64, requires_grad=True)
        if has_bias
        else None
    )
    ours = fn(x, w, b, stride, padding, mode)
    ref = reference(x, w, b, stride, padding, mode)
    assert (
        ours.shape
        == ref.shape
        == (
            B,
            C_out,
            conv_output_size(H, K, stride, padding),
            conv_output_size(W, K, stride, padding),
        )
    )
    torch.testing.assert_close(ours, ref)
    upstream = torch.randn(ref.shape, generator=g, dtype=torch.float64)
    inputs = [x, w] + ([b] if has_bias else [])
    grads_ours = torch.autograd.grad(ours, inputs, upstream)
    grads_ref = torch.autograd.grad(ref, inputs, upstream)
    for go, gr in zip(grads_ours, grads_ref):
        torch.testing.assert_close(go, gr)


@pytest.mark.parametrize("mode", ["zeros", "circular"])
def test_conv2d_module_matches_nn_conv2d_with_copied_weights(mode):
    torch.manual_seed(0)
    ref = nn.Conv2d(3, 8, 3, stride=2, padding=1, padding_mode=mode)
    ours = Conv2d(3, 8, 3, stride=2, padding=1, padding_mode=mode)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(4, 3, 17, 17, requires_grad=True)
    torch.testing.assert_close(ours(x), ref(x))
    (ours(x) ** 2).sum().backward()
    grad_ours = [ours.weight.grad.clone(), ours.bias.grad.clone()]
    (ref(x) ** 2).sum().backward()
    torch.testing.assert_close(grad_ours, [ref.weight.grad, ref.bias.grad])


def test_conv2d_module_initialisation_matches_torch_statistics():
    torch.manual_seed(0)
    ours, ref = Conv2d(16, 32, 3), nn.Conv2d(16, 32, 3)
    assert ours.weight.shape == ref.weight.shape and ours.bias.shape == ref.bias.shape
    bound = 1 / (16 * 9) ** 0.5
    assert ours.weight.abs().max() <= bound and ours.weight.abs().max() > 0.9 * bound
    assert Conv2d(2, 3, 3, bias=False).bias is None


def test_circular_convolution_commutes_with_circular_shifts():
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(2, 3, 16, 16, generator=g), torch.randn(4, 3, 3, 3, generator=g)
    for shift in [(1, 0), (3, 5), (-2, 7)]:
        shifted_then_conv = conv2d_unfold(
            torch.roll(x, shift, (2, 3)), w, padding=1, padding_mode="circular"
        )
        conv_then_shifted = torch.roll(
            conv2d_unfold(x, w, padding=1, padding_mode="circular"), shift, (2, 3)
        )
        torch.testing.assert_close(shifted_then_conv, conv_then_shifted)


def test_pad2d_circular_matches_torch():
    x = torch.arange(2 * 3 * 4 * 5.0).view(2, 3, 4, 5)
    assert torch.equal(pad2d(x, 2, "circular"), F.pad(x, (2, 2, 2, 2), mode="circular"))
    assert torch.equal(pad2d(x, 1, "zeros"), F.pad(x, (1, 1, 1, 1)))


@pytest.mark.parametrize(
    "H, W, padding", [(5, 7, 1), (5, 7, 4), (2, 3, 1), (9, 4, 3), (28, 28, 9)]
)
def test_pad2d_reflect_matches_torch(H, W, padding):
    x = torch.randn(2, 3, H, W)
    assert torch.equal(
        pad2d(x, padding, "reflect"), F.pad(x, (padding,) * 4, mode="reflect")
    )


def test_pad2d_reflect_needs_a_larger_input():
    with pytest.raises(
        ValueError, match="reflect padding 3 needs an input larger than 3x3, got 3x8"
    ):
        pad2d(torch.zeros(1, 1, 3, 8), 3, "reflect")


@pytest.mark.parametrize("fn", [conv2d_loops, conv2d_unfold])
def test_bad_input_is_explained(fn):
    x, w = torch.zeros(2, 3, 8, 8), torch.zeros(4, 3, 3, 3)
    with pytest.raises(
        ValueError,
        match=(
            r"expects input of shape \(B, C, H, W\), "
            r"got 3-D input of shape \(3, 8, 8\)"
        ),
    ):
        fn(x[0], w)
    with pytest.raises(
        ValueError,
        match=r"expects weight of shape \(C_out, C_in, K, K\), got 3-D weight",
    ):
        fn(x, w[0])
    with pytest.raises(ValueError, match=r"input has 1 channels but weight expects 3"):
        fn(x[:, :1], w)
    with pytest.raises(
        ValueError, match=r"bias must have shape \(4,\) to match weight, got \(3,\)"
    ):
        fn(x, w, torch.zeros(3))
    with pytest.raises(
        ValueError,
        match=(
            r"kernel 3x3 is larger than the padded input 2x2 "
            r"\(input 2x2, padding 0\)"
        ),
    ):
        fn(torch.zeros(1, 3, 2, 2), w)
    with pytest.raises(ValueError, match="stride must be at least 1, got 0"):
        fn(x, w, stride=0)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        fn(x, w, padding=1, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"input has 3 channels but weight expects 2"):
        Conv2d(2, 4, 3)(x)
