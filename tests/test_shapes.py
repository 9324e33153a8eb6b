"""minimodels.shapes.check_images and train.eval_mode: the one input check and the one
mode guard.
"""

import pytest
import torch
from torch import nn

from minimodels.shapes import check_images, format_shape
from minimodels.train import eval_mode


def test_returns_the_shape():
    assert check_images(torch.zeros(2, 3, 8, 12), "f", channels=3, divisible_by=4) == (
        2,
        3,
        8,
        12,
    )
    assert check_images(torch.zeros(1, 1, 28, 28), "f", size=28) == (1, 1, 28, 28)


@pytest.mark.parametrize(
    "x, kwargs, message",
    [
        (
            torch.zeros(8, 8),
            {},
            (
                r"f expects images of shape \(B, C, H, W\), "
                r"got 2-D input of shape \(8, 8\)"
            ),
        ),
        (
            torch.zeros(2, 3, 8, 8),
            {"channels": 1},
            r"f expects images of shape \(B, 1, H, W\), got shape \(2, 3, 8, 8\)",
        ),
        (
            torch.zeros(2, 1, 32, 32),
            {"channels": 1, "size": 28},
            r"expects images of shape \(B, 1, 28, 28\), got shape \(2, 1, 32, 32\)",
        ),
        (
            torch.zeros(2, 1, 28, 30),
            {"divisible_by": 4},
            r"f: image size 28x30 is not divisible by patch size 4 \(remainder 0x2\)",
        ),
        (
            torch.zeros(2, 1, 28, 28),
            {"divisible_by": 0},
            r"f: patch_size must be at least 1, got 0",
        ),
        ([[1.0]], {}, r"f expects images of shape \(B, C, H, W\), got list"),
        (
            torch.zeros(3, 8, 8),
            {"what": "input"},
            r"f expects input of shape \(B, C, H, W\), got 3-D input",
        ),
    ],
)
def test_errors_name_the_layer_what_was_expected_and_what_came(x, kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_images(x, "f", **kwargs)


def test_format_shape():
    assert (
        format_shape((3,)) == "(3,)"
        and format_shape(torch.Size([2, 1, 4])) == "(2, 1, 4)"
    )


def test_eval_mode_restores_the_mode_even_after_an_error():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    with eval_mode(model) as m:
        assert m is model and not model.training and not model[1].training
    assert model.training and model[1].training
    model.eval()
    with pytest.raises(RuntimeError), eval_mode(model):
        raise RuntimeError
    assert not model.training
    model.train()
    with pytest.raises(RuntimeError), eval_mode(model):
        raise RuntimeError
    assert model.training
