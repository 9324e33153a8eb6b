"""shift against torch.roll and padding + cropping; the equivariance facts chapter 10
states; shift_robustness; shift_flips against a digit-by-digit computation.
"""

import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from minimodels.conv import conv2d_unfold
from minimodels.pooling import GlobalAvgPool, max_pool2d
from minimodels.shifts import (
    ShiftFlips,
    ShiftRobustness,
    equivariance_error,
    invariance_error,
    shift,
    shift_flips,
    shift_robustness,
    shift_vs_noise,
)


def shift_cases(n, seed):
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        H, W = rng.randint(1, 12), rng.randint(1, 12)
        cases.append(
            (
                rng.randint(1, 3),
                rng.randint(1, 3),
                H,
                W,
                rng.randint(-H - 1, H + 1),
                rng.randint(-W - 1, W + 1),
            )
        )
    return cases


@pytest.mark.parametrize(
    "case", shift_cases(40, seed=0), ids=lambda c: "B{}C{}_{}x{}_dy{}dx{}".format(*c)
)
def test_shift_matches_roll_and_pad_then_crop(case):
    B, C, H, W, dy, dx = case
    x = (
        torch.rand(B, C, H, W, generator=torch.Generator().manual_seed(1)) + 0.5
    )  # no zeros inside
    assert torch.equal(shift(x, dy, dx, "circular"), torch.roll(x, (dy, dx), (2, 3)))
    # zeros: pad by the shift on the side it comes from, then crop back to H x W
    py, px = abs(dy), abs(dx)
    padded = F.pad(x, (px, px, py, py))
    expected = padded[:, :, py - dy : py - dy + H, px - dx : px - dx + W]
    assert torch.equal(shift(x, dy, dx, "zeros"), expected)
    assert torch.equal(shift(x, dy, dx), expected)  # zeros is the default
    # and where nothing wrapped around, the two modes agree
    rows = slice(max(dy, 0), max(H + min(dy, 0), 0))
    cols = slice(max(dx, 0), max(W + min(dx, 0), 0))
    assert torch.equal(
        shift(x, dy, dx)[..., rows, cols],
        torch.roll(x, (dy, dx), (2, 3))[..., rows, cols],
    )


def test_shift_keeps_gradients_and_composes():
    x = torch.rand(2, 1, 6, 6, requires_grad=True)
    shift(x, 1, -2).sum().backward()
    assert x.grad.sum().item() == 2 * 5 * 4  # the pixels that stayed in the frame
    torch.testing.assert_close(shift(shift(x, 2, 1, "circular"), -2, -1, "circular"), x)


def test_circular_stride1_convolution_is_exactly_shift_equivariant():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 2, 12, 10, dtype=torch.float64, generator=g)
    w = torch.randn(4, 2, 3, 3, dtype=torch.float64, generator=g)

    def circular(z):
        return conv2d_unfold(z, w, padding=1, padding_mode="circular")

    def zeros(z):
        return conv2d_unfold(z, w, padding=1)

    for dy, dx in [(1, 0), (0, 1), (3, -2), (-5, 7)]:
        assert equivariance_error(circular, x, dy, dx, "circular") < 1e-12
        # zero padding breaks it at the border
        assert equivariance_error(zeros, x, dy, dx, "circular") > 0.1


def test_global_average_pool_is_invariant():
    x = torch.randn(3, 4, 9, 9, dtype=torch.float64)
    for dy, dx in [(1, 0), (4, -3), (-8, 8)]:
        assert invariance_error(GlobalAvgPool(), x, dy, dx, "circular") < 1e-12


def test_stride2_max_pool_is_equivariant_to_even_shifts_only():
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))

    def pool(z):
        return max_pool2d(z, 2)

    assert (
        equivariance_error(pool, x, 2, 0) == 0.0
        and equivariance_error(pool, x, -4, 6) == 0.0
    )
    # A 1-pixel shift is no whole output pixel: the helper refuses to pretend ...
    with pytest.raises(
        ValueError,
        match=(
            r"a shift of \(1, 0\) pixels on a 16x16 input "
            r"is not a whole number of pixels on fn's 8x8 output"
        ),
    ):
        equivariance_error(pool, x, 1, 0)
    # ... and no output shift reproduces it: the pooled maps change, not just move.
    out = pool(shift(x, 1, 0, "circular"))
    for oy in range(-2, 3):
        for ox in range(-2, 3):
            assert (out - shift(pool(x), oy, ox, "circular")).abs().max() > 0.5


class CornerInkClassifier(nn.Module):
    """Predicts class 1 if the top-left 8x8 corner holds any ink, else class 0: very
    shift-sensitive."""

    def __init__(self):
        super().__init__()
        self.threshold = nn.Parameter(torch.tensor(0.5))

    def forward(self, x):
        ink = x[:, 0, :8, :8].sum(dim=(1, 2))
        return torch.stack([torch.zeros_like(ink), ink - self.threshold], dim=1)


def test_shift_robustness_on_known_models():
    x = torch.zeros(6, 1, 16, 16)
    # a square just inside the corner region: a shift of 2 down or right moves it out
    x[:, :, 6:8, 6:8] = 1.0
    labels = torch.ones(6, dtype=torch.long)
    model = CornerInkClassifier()
    result = shift_robustness(model, x, labels, distances=[0, 1, 2, 3], batch_size=4)
    assert isinstance(result, ShiftRobustness)
    assert result.distances == [0, 1, 2, 3]
    assert result.accuracy[0] == 1.0 and result.consistency[0] == 1.0
    # d = 1: the square (rows 6-7) still touches the corner in all four directions
    assert result.accuracy[1] == 1.0 and result.consistency[1] == 1.0
    # d = 2 and 3: down and right move it out, up and left keep it in
    assert result.accuracy[2:] == [0.5, 0.5] and result.consistency[2:] == [0.5, 0.5]
    assert result.as_dict() == {
        "distance": [0, 1, 2, 3],
        "accuracy": result.accuracy,
        "consistency": result.consistency,
    }
    # a model that only looks at the total ink is invariant to circular shifts
    total_ink = nn.Sequential(nn.Flatten(), nn.Linear(256, 2))
    with torch.no_grad():
        total_ink[1].weight.fill_(1.0)
        total_ink[1].weight[0].fill_(-1.0)
    circ = shift_robustness(
        total_ink,
        torch.rand(10, 1, 16, 16),
        torch.ones(10, dtype=torch.long),
        range(0, 5),
        mode="circular",
    )
    assert (
        circ.consistency == [1.0] * 5
        and circ.accuracy == [1.0] * 5
        and circ.mode == "circular"
    )


class CentrePixelClassifier(nn.Module):
    """Class 1 when the centre pixel is lit: any shift of a one-pixel image flips it,
    while noise of the same norm, spread over every pixel, barely touches it."""

    def __init__(self):
        super().__init__()
        self.threshold = nn.Parameter(torch.tensor(0.5))

    def forward(self, x):
        on = x[:, 0, 8, 8] > self.threshold
        return torch.stack([(~on).float(), on.float()], dim=1)


def test_shift_vs_noise_counts_correct_images_beside_the_noise_control():
    x = torch.zeros(8, 1, 16, 16)
    x[:, :, 8, 8] = 1.0
    labels = torch.ones(8, dtype=torch.long)
    labels[:3] = 0  # three wrong predictions: left out of both shares
    result = shift_vs_noise(CentrePixelClassifier(), x, labels, [0, 1, 2], seed=3)
    assert result.correct == 5 and result.distances == [0, 1, 2]
    assert result.shift == [1.0, 0.0, 0.0]  # the lit pixel always moves away
    # the noise has the shift's norm (sqrt 2): about 0.05 per pixel, never enough
    assert result.noise == [1.0, 1.0, 1.0]
    # same seed, same noise; a constant model is consistent under both
    assert shift_vs_noise(CentrePixelClassifier(), x, labels, [1], seed=3) == (
        [1],
        [0.0],
        [1.0],
        5,
    )
    constant = nn.Sequential(nn.Flatten(), nn.Linear(256, 2))
    with torch.no_grad():
        constant[1].weight.zero_()
        constant[1].bias.copy_(torch.tensor([0.0, 1.0]))
    both = shift_vs_noise(constant, torch.rand(6, 1, 16, 16), torch.ones(6).long(), [3])
    assert both.shift == [1.0] and both.noise == [1.0] and both.correct == 6
    with pytest.raises(ValueError, match="classifies no image correctly"):
        shift_vs_noise(constant, x, torch.zeros(8, dtype=torch.long), [1])


def test_bad_input_is_explained():
    x = torch.zeros(2, 1, 8, 8)
    with pytest.raises(
        ValueError,
        match=(
            r"shift expects images of shape \(B, C, H, W\), "
            r"got 3-D input of shape \(1, 8, 8\)"
        ),
    ):
        shift(x[0], 1, 1)
    with pytest.raises(
        ValueError,
        match=r"shift mode must be one of \('zeros', 'circular'\), got 'reflect'",
    ):
        shift(x, 1, 1, "reflect")
    with pytest.raises(TypeError, match="shift: dx must be an int"):
        shift(x, 1, 0.5)
    with pytest.raises(
        ValueError,
        match=r"expects labels of shape \(2,\) to match the images, got shape \(3,\)",
    ):
        shift_robustness(
            CornerInkClassifier(), x, torch.zeros(3, dtype=torch.long), [1]
        )
    with pytest.raises(
        ValueError, match=r"distances must be at least 0 pixels, got \[1, -1\]"
    ):
        shift_robustness(
            CornerInkClassifier(), x, torch.zeros(2, dtype=torch.long), [1, -1]
        )


@pytest.mark.parametrize("distance", [1, 3])
def test_shift_flips_matches_one_image_at_a_time(distance):
    torch.manual_seed(0)
    # position-dependent: a linear readout of 4x4 block means
    model = nn.Sequential(nn.AvgPool2d(4), nn.Flatten(), nn.Linear(49, 10))
    x = (torch.rand(16, 1, 28, 28) > 0.8).float()  # sparse ink
    x[-2:] = 0.0  # blank images: no move changes them
    found = shift_flips(model, x, distance, batch_size=5)
    assert isinstance(found, ShiftFlips)
    d = distance
    assert found.moves == [(d, 0), (-d, 0), (0, d), (0, -d)]
    padded = F.pad(x, (d, d, d, d))  # zeros around: the shifted digit is a crop
    with torch.no_grad():
        for i in range(len(x)):
            before = model(x[i : i + 1]).argmax(1).item()
            assert found.before[i].item() == before
            flipped, first = False, None
            for k, (dy, dx) in enumerate(found.moves):
                crop = padded[i : i + 1, :, d - dy : d - dy + 28, d - dx : d - dx + 28]
                after = model(crop).argmax(1).item()
                assert found.after[k, i].item() == after
                if after != before and first is None:
                    first = (dy, dx, after)
                flipped |= after != before
            assert found.flipped[i].item() == flipped
            if flipped:
                assert found.first_flip(i) == first
    assert found.flipped[:-2].sum() >= 10 and not found.flipped[-2:].any()


def test_shift_flips_on_a_known_model():
    # a square just below the top-left 8x8 corner: only the move up brings it in
    x = torch.zeros(3, 1, 16, 16)
    x[0, :, 8, 0:2] = 1.0
    x[1, :, 3, 3] = 1.0  # inside the corner whatever the move: never flips
    x[2, :, 12, 4] = 1.0  # far below it: never flips
    found = shift_flips(CornerInkClassifier(), x)
    assert found.before.tolist() == [0, 1, 0]
    assert found.flipped.tolist() == [True, False, False]
    assert found.after[:, 0].tolist() == [0, 1, 0, 0]  # down, up, right, left
    assert found.first_flip(0) == (-1, 0, 1)
    with pytest.raises(
        ValueError,
        match=(
            r"first_flip: expected an image whose prediction some move changes, "
            r"got image 1, whose prediction \(1\) every move keeps"
        ),
    ):
        found.first_flip(1)
    # circular: the pixel of row 12 moved down 4 comes back at row 0, in the corner
    assert shift_flips(CornerInkClassifier(), x[2:], 4, "circular").flipped.item()


def test_shift_flips_explains_bad_input():
    x = torch.zeros(2, 1, 8, 8)
    for bad in (0, -1, 1.0, True):
        with pytest.raises(
            ValueError,
            match=(
                r"shift_flips: expected a distance of at least 1 whole pixel, "
                rf"got {type(bad).__name__} {bad!r}"
            ),
        ):
            shift_flips(CornerInkClassifier(), x, bad)
    with pytest.raises(
        ValueError,
        match=r"shift_flips expects images of shape \(B, C, H, W\), got 3-D input",
    ):
        shift_flips(CornerInkClassifier(), x[0])
    with pytest.raises(ValueError, match=r"shift mode must be one of"):
        shift_flips(CornerInkClassifier(), x, 1, "reflect")
