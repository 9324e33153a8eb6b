"""max_pool2d and avg_pool2d against torch.nn.functional, in value and gradient."""

import random

import pytest
import torch
import torch.nn.functional as F

from minimodels.pooling import (
    AvgPool2d,
    BlurPool2d,
    GlobalAvgPool,
    MaxBlurPool2d,
    MaxPool2d,
    avg_pool2d,
    binomial_kernel,
    blur_pool2d,
    max_blur_pool2d,
    max_pool2d,
)


def random_cases(n, seed):
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        K = rng.choice([1, 2, 3, 4, 5])
        stride = rng.choice([None, 1, 2, 3])
        padding = rng.randint(0, K // 2)
        cases.append(
            (
                rng.randint(1, 3),
                rng.randint(1, 4),
                rng.randint(K, 13),
                rng.randint(K, 13),
                K,
                stride,
                padding,
            )
        )
    return cases


@pytest.mark.parametrize(
    "ours, ref",
    [(max_pool2d, F.max_pool2d), (avg_pool2d, F.avg_pool2d)],
    ids=["max", "avg"],
)
@pytest.mark.parametrize(
    "case", random_cases(30, seed=0), ids=lambda c: "B{}C{}_{}x{}_K{}s{}p{}".format(*c)
)
def test_matches_torch_in_value_and_gradient(ours, ref, case):
    B, C, H, W, K, stride, padding = case
    x = torch.randn(
        B,
        C,
        H,
        W,
        dtype=torch.float64,
        generator=torch.Generator().manual_seed(2),
        requires_grad=True,
    )
    out_ours, out_ref = ours(x, K, stride, padding), ref(x, K, stride, padding)
    torch.testing.assert_close(out_ours, out_ref)
    upstream = torch.randn(out_ref.shape, dtype=torch.float64)
    torch.testing.assert_close(
        torch.autograd.grad(out_ours, x, upstream)[0],
        torch.autograd.grad(out_ref, x, upstream)[0],
    )


def test_modules_and_global_pool():
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(MaxPool2d(2)(x), F.max_pool2d(x, 2))
    torch.testing.assert_close(AvgPool2d(3, 1, 1)(x), F.avg_pool2d(x, 3, 1, 1))
    torch.testing.assert_close(
        GlobalAvgPool()(x), F.adaptive_avg_pool2d(x, 1).flatten(1)
    )
    # global average pooling ignores where things are
    torch.testing.assert_close(
        GlobalAvgPool()(torch.roll(x, (3, 5), (2, 3))), GlobalAvgPool()(x)
    )


@pytest.mark.parametrize(
    "fn, name", [(max_pool2d, "max_pool2d"), (avg_pool2d, "avg_pool2d")]
)
def test_bad_input_is_explained(fn, name):
    with pytest.raises(
        ValueError,
        match=rf"{name} expects input of shape \(B, C, H, W\), got 2-D input",
    ):
        fn(torch.zeros(4, 4), 2)
    with pytest.raises(
        ValueError, match=rf"{name}: kernel 5x5 is larger than the padded input 4x4"
    ):
        fn(torch.zeros(1, 1, 4, 4), 5)
    with pytest.raises(
        ValueError,
        match=rf"{name}: padding must be between 0 and kernel_size // 2 = 1, got 2",
    ):
        fn(torch.zeros(1, 1, 8, 8), 3, 1, 2)
    with pytest.raises(ValueError, match="GlobalAvgPool expects input of shape"):
        GlobalAvgPool()(torch.zeros(2, 3))


# --- blur pooling (Zhang 2019) -------------------------------------------------


def depthwise_blur_reference(x, stride):
    """The paper's code, written with torch: reflect-pad 1, depthwise conv (groups=C),
    stride."""
    C = x.shape[1]
    kernel = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype)
    kernel = (kernel[:, None] * kernel[None, :] / 16).repeat(C, 1, 1, 1)  # (C, 1, 3, 3)
    return F.conv2d(
        F.pad(x, (1, 1, 1, 1), mode="reflect"), kernel, stride=stride, groups=C
    )


def blur_cases(n, seed):
    rng = random.Random(seed)
    return [
        (
            rng.randint(1, 3),
            rng.randint(1, 5),
            rng.randint(3, 15),
            rng.randint(3, 15),
            rng.choice([1, 2, 3]),
        )
        for _ in range(n)
    ]


@pytest.mark.parametrize(
    "case", blur_cases(25, seed=1), ids=lambda c: "B{}C{}_{}x{}_s{}".format(*c)
)
def test_blur_pool_matches_depthwise_conv_in_value_and_gradient(case):
    B, C, H, W, stride = case
    x = torch.randn(
        B,
        C,
        H,
        W,
        dtype=torch.float64,
        generator=torch.Generator().manual_seed(3),
        requires_grad=True,
    )
    ours, ref = blur_pool2d(x, stride), depthwise_blur_reference(x, stride)
    assert ours.shape == (B, C, -(-H // stride), -(-W // stride))
    torch.testing.assert_close(ours, ref)
    upstream = torch.randn(ref.shape, dtype=torch.float64)
    torch.testing.assert_close(
        torch.autograd.grad(ours, x, upstream)[0],
        torch.autograd.grad(ref, x, upstream)[0],
    )
    torch.testing.assert_close(BlurPool2d(stride, kernels="torch")(x), ref)


def test_blur_pool_gradcheck():
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(blur_pool2d, (x, 2))
    assert torch.autograd.gradcheck(max_blur_pool2d, (x,))


@pytest.mark.parametrize("H, W", [(28, 28), (14, 14), (7, 7), (8, 5), (3, 4), (13, 10)])
def test_max_blur_pool_is_max_then_blur_and_sized_like_max_pool(H, W):
    x = torch.randn(2, 3, H, W, dtype=torch.float64)
    out = max_blur_pool2d(x)
    assert (
        out.shape == F.max_pool2d(x, 2).shape
    )  # a drop-in replacement, even and odd sizes
    ref = depthwise_blur_reference(F.max_pool2d(x, 2, stride=1), 2)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(MaxBlurPool2d()(x), ref)
    torch.testing.assert_close(MaxBlurPool2d(kernels="torch")(x), ref)
    assert (
        list(MaxBlurPool2d().parameters()) == [] and MaxBlurPool2d().state_dict() == {}
    )


def test_blur_keeps_constants_and_moves_smoothly_with_the_input():
    assert binomial_kernel().sum().item() == 1.0
    torch.testing.assert_close(
        blur_pool2d(torch.full((1, 2, 9, 9), 0.7)), torch.full((1, 2, 5, 5), 0.7)
    )

    # A vertical line walks right one pixel at a time. After max pooling its centre
    # (in output pixels) jumps 0, 1, 0, 1, ...: aliasing. After MaxBlurPool it moves
    # by exactly 1/2 output pixel per input pixel, as a shift by half should.
    def centre(out):
        profile = out[0, 0].sum(0)  # (W_out,)
        return (profile * torch.arange(len(profile))).sum() / profile.sum()

    steps = {"max": [], "maxblur": []}
    for f, key in [(lambda z: F.max_pool2d(z, 2), "max"), (max_blur_pool2d, "maxblur")]:
        centres = []
        for column in range(4, 11):
            x = torch.zeros(1, 1, 16, 16, dtype=torch.float64)
            x[..., column] = 1.0
            centres.append(centre(f(x)).item())
        steps[key] = [b - a for a, b in zip(centres, centres[1:])]
    assert steps["max"] == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    assert steps["maxblur"] == pytest.approx([0.5] * 6)


def test_blur_pool_bad_input_is_explained():
    with pytest.raises(
        ValueError,
        match=(
            r"blur_pool2d expects input of shape \(B, C, H, W\), "
            r"got 3-D input of shape \(3, 8, 8\)"
        ),
    ):
        blur_pool2d(torch.zeros(3, 8, 8))
    with pytest.raises(
        ValueError,
        match=r"max_blur_pool2d expects input of shape \(B, C, H, W\), got 2-D",
    ):
        max_blur_pool2d(torch.zeros(8, 8))
    with pytest.raises(
        ValueError, match="blur_pool2d: stride must be at least 1, got 0"
    ):
        blur_pool2d(torch.zeros(1, 1, 8, 8), 0)
    with pytest.raises(
        ValueError, match="blur_pool2d needs H and W of at least 2, got 1x8"
    ):
        blur_pool2d(torch.zeros(1, 1, 1, 8))
    with pytest.raises(
        ValueError, match="max_blur_pool2d needs H and W of at least 3, got 2x2"
    ):
        MaxBlurPool2d(kernels="torch")(torch.zeros(1, 1, 2, 2))
    with pytest.raises(
        ValueError, match=r"kernels must be one of \('ours', 'torch'\), got 'cuda'"
    ):
        BlurPool2d(kernels="cuda")
