"""max_pool2d and avg_pool2d against torch.nn.functional, in value and gradient."""

import random

import pytest
import torch
import torch.nn.functional as F

from minimodels.pooling import AvgPool2d, GlobalAvgPool, MaxPool2d, avg_pool2d, max_pool2d


def random_cases(n, seed):
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        K = rng.choice([1, 2, 3, 4, 5])
        stride = rng.choice([None, 1, 2, 3])
        padding = rng.randint(0, K // 2)
        cases.append((rng.randint(1, 3), rng.randint(1, 4), rng.randint(K, 13), rng.randint(K, 13), K, stride, padding))
    return cases


@pytest.mark.parametrize("ours, ref", [(max_pool2d, F.max_pool2d), (avg_pool2d, F.avg_pool2d)], ids=["max", "avg"])
@pytest.mark.parametrize("case", random_cases(30, seed=0), ids=lambda c: "B{}C{}_{}x{}_K{}s{}p{}".format(*c))
def test_matches_torch_in_value_and_gradient(ours, ref, case):
    B, C, H, W, K, stride, padding = case
    x = torch.randn(B, C, H, W, dtype=torch.float64, generator=torch.Generator().manual_seed(2), requires_grad=True)
    out_ours, out_ref = ours(x, K, stride, padding), ref(x, K, stride, padding)
    torch.testing.assert_close(out_ours, out_ref)
    upstream = torch.randn(out_ref.shape, dtype=torch.float64)
    torch.testing.assert_close(torch.autograd.grad(out_ours, x, upstream)[0], torch.autograd.grad(out_ref, x, upstream)[0])


def test_modules_and_global_pool():
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(MaxPool2d(2)(x), F.max_pool2d(x, 2))
    torch.testing.assert_close(AvgPool2d(3, 1, 1)(x), F.avg_pool2d(x, 3, 1, 1))
    torch.testing.assert_close(GlobalAvgPool()(x), F.adaptive_avg_pool2d(x, 1).flatten(1))
    # global average pooling ignores where things are
    torch.testing.assert_close(GlobalAvgPool()(torch.roll(x, (3, 5), (2, 3))), GlobalAvgPool()(x))


@pytest.mark.parametrize("fn, name", [(max_pool2d, "max_pool2d"), (avg_pool2d, "avg_pool2d")])
def test_bad_input_is_explained(fn, name):
    with pytest.raises(ValueError, match=rf"{name} expects input of shape \(B, C, H, W\), got 2-D input"):
        fn(torch.zeros(4, 4), 2)
    with pytest.raises(ValueError, match=rf"{name}: kernel 5x5 is larger than the padded input 4x4"):
        fn(torch.zeros(1, 1, 4, 4), 5)
    with pytest.raises(ValueError, match=rf"{name}: padding must be between 0 and kernel_size // 2 = 1, got 2"):
        fn(torch.zeros(1, 1, 8, 8), 3, 1, 2)
    with pytest.raises(ValueError, match="GlobalAvgPool expects input of shape"):
        GlobalAvgPool()(torch.zeros(2, 3))
