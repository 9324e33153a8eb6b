"""receptive_field (analytic) against effective_receptive_field (measured), and bad
input.
"""

import random

import pytest
import torch
from torch import nn

from minimodels.cnn import SmallCNN
from minimodels.conv import Conv2d
from minimodels.pooling import AvgPool2d, MaxPool2d
from minimodels.receptive_field import (
    LayerRF,
    effective_receptive_field,
    receptive_field,
)


def random_stack(
    rng: random.Random, pool: str, positive: bool = False
) -> nn.Sequential:
    """2-5 layers of our Conv2d / pooling with random sizes, strides and paddings."""
    layers, c = [], 1
    for _ in range(rng.randint(2, 5)):
        if rng.random() < 0.35:
            K = rng.choice([2, 3])
            stride = rng.choice([None, 1, 2])
            padding = rng.randint(0, K // 2)
            layers.append(
                (MaxPool2d if pool == "max" else AvgPool2d)(K, stride, padding)
            )
        else:
            K = rng.choice([1, 2, 3, 5])
            out = rng.randint(1, 3)
            conv = Conv2d(
                c, out, K, stride=rng.choice([1, 1, 2]), padding=rng.randint(0, K // 2)
            )
            if positive:
                # all paths carry a positive gradient: nothing cancels, ReLU passes
                # everything
                with torch.no_grad():
                    conv.weight.uniform_(0.1, 1.0)
                    conv.bias.uniform_(0.1, 1.0)
                layers.append(conv)
                layers.append(nn.ReLU())
            else:
                layers.append(conv)
            c = out
    return nn.Sequential(*layers)


def nonzero_box(grad_map: torch.Tensor) -> tuple[int, int, int, int]:
    """(first row, last row, first column, last column) of the nonzero entries."""
    rows, cols = grad_map.nonzero(as_tuple=True)
    return int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())


def analytic_box(model: nn.Module, H: int) -> tuple[int, int, int, int]:
    """Rows and columns of the input that the centre output unit sees, clipped to the
    image."""
    rf = receptive_field(model)[-1]
    H_out = model(torch.zeros(1, 1, H, H)).shape[-1]
    first = rf.start + (H_out // 2) * rf.jump
    last = first + rf.size - 1
    first, last = max(first, 0), min(last, H - 1)
    return first, last, first, last


@pytest.mark.parametrize("seed", range(12))
def test_linear_stacks_gradient_fills_exactly_the_analytic_field(seed):
    """Conv + average pooling, no nonlinearity: every path from the field to the unit
    carries weight."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    model = random_stack(rng, "avg")
    H = rng.randint(receptive_field(model)[-1].size, 40)
    grad = effective_receptive_field(model, (1, H, H), n_samples=2, seed=seed)
    assert nonzero_box(grad) == analytic_box(model, H), receptive_field(model)


@pytest.mark.parametrize("seed", range(12))
def test_max_pool_stacks_gradient_stays_inside_the_analytic_field(seed):
    """Max pooling passes the gradient through one pixel per window: the field is an
    upper bound."""
    rng = random.Random(100 + seed)
    torch.manual_seed(seed)
    model = random_stack(rng, "max", positive=True)
    H = rng.randint(receptive_field(model)[-1].size, 40)
    grad = effective_receptive_field(model, (1, H, H), n_samples=2, seed=seed)
    r0, r1, c0, c1 = nonzero_box(grad)
    a0, a1, b0, b1 = analytic_box(model, H)
    assert a0 <= r0 <= r1 <= a1 and b0 <= c0 <= c1 <= b1


def test_small_cnn_and_tuples_agree():
    model = SmallCNN(widths=(4, 8, 8), convs_per_stage=2)
    from_modules = receptive_field(nn.Sequential(*model.stages))
    from_tuples = receptive_field(
        [
            (3, 1, 1),
            (3, 1, 1),
            (2, 2),
            (3, 1, 1),
            (3, 1, 1),
            (2, 2),
            (3, 1, 1),
            (3, 1, 1),
        ]
    )
    assert [(r.size, r.jump, r.start) for r in from_modules] == [
        (r.size, r.jump, r.start) for r in from_tuples
    ]
    assert [(r.size, r.jump) for r in from_modules] == [
        (3, 1),
        (5, 1),
        (6, 2),
        (10, 2),
        (14, 2),
        (16, 4),
        (24, 4),
        (32, 4),
    ]
    assert from_modules[0] == LayerRF("Conv2d K3 s1 p1", 3, 1, -1)
    assert from_modules[2].layer == "MaxPool2d K2 s2 p0"
    assert receptive_field(model.stages) == from_modules  # a ModuleList works too
    assert receptive_field([]) == []
    assert receptive_field(Conv2d(1, 1, 5, stride=2, padding=2)) == [
        LayerRF("Conv2d K5 s2 p2", 5, 2, -2)
    ]


def test_effective_field_restores_training_mode_and_picks_a_channel():
    torch.manual_seed(0)
    model = nn.Sequential(Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU())
    model.train()
    grad = effective_receptive_field(model, (1, 9, 9), channel=1, n_samples=4)
    assert model.training and grad.shape == (9, 9) and (grad >= 0).all()
    assert nonzero_box(grad) == (
        3,
        5,
        3,
        5,
    )  # 3x3 field around the centre unit (3, 3) of the 7x7 output
    model.eval()
    effective_receptive_field(model, (1, 9, 9))
    assert not model.training


@pytest.mark.parametrize(
    "layers, message",
    [
        ([(3, 1), (0, 1)], r"layer 1: kernel size must be an int of at least 1, got 0"),
        ([(3, 0)], r"layer 0: stride must be an int of at least 1, got 0"),
        ([(3, 1, -1)], r"layer 0: padding must be an int of at least 0, got -1"),
        ([(3.0, 1)], r"layer 0: kernel size must be an int of at least 1, got 3.0"),
        (
            [(3,)],
            (
                r"layer 0 must be a \(kernel_size, stride\) or "
                r"\(kernel_size, stride, padding\) tuple"
            ),
        ),
        ([3], r"layer 0 must be a \(kernel_size, stride\)"),
        ("3x3", r"layers must be a list of layers or an nn.Sequential, got str"),
        (
            nn.Sequential(Conv2d(1, 1, 3), nn.Flatten()),
            r"does not know how layer 1 \(Flatten\) moves pixels",
        ),
        (SmallCNN(), r"layer 0 \(SmallCNN\).*nn.Sequential\(\*model.stages\)"),
        (
            nn.Sequential(nn.Sequential(nn.Upsample(scale_factor=2))),
            r"layer 0.layer 0 \(Upsample\)",
        ),  # a layer that moves pixels in a way the rule does not cover
    ],
)
def test_bad_layers_are_explained(layers, message):
    with pytest.raises(ValueError, match=message):
        receptive_field(layers)


def test_bad_effective_field_input_is_explained():
    conv = Conv2d(1, 2, 3)
    with pytest.raises(
        ValueError,
        match=r"input_shape must be \(C, H, W\) with positive ints, got \(9, 9\)",
    ):
        effective_receptive_field(conv, (9, 9))
    with pytest.raises(ValueError, match="n_samples must be at least 1, got 0"):
        effective_receptive_field(conv, (1, 9, 9), n_samples=0)
    with pytest.raises(ValueError, match=r"channel must be between 0 and 1, got 2"):
        effective_receptive_field(conv, (1, 9, 9), channel=2)
    with pytest.raises(
        ValueError,
        match=r"model must return a feature map \(B, C, H, W\), got shape \(4, 10\)",
    ):
        effective_receptive_field(SmallCNN(), (1, 28, 28), n_samples=4)


def test_torch_layers_give_the_same_receptive_fields_as_ours():
    def fields(kernels):
        stack = nn.Sequential(*SmallCNN(kernels=kernels).stages)
        return [(r.size, r.jump) for r in receptive_field(stack)]

    assert fields("torch") == fields("ours")
    with pytest.raises(ValueError, match="must be the same along H and W"):
        receptive_field(nn.Conv2d(1, 1, (3, 5)))
