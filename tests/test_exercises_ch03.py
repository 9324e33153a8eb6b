"""The exercise checks of chapter 03: right answers pass, wrong ones say what was
expected and got.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange

from minimodels.exercises import (
    ExerciseError,
    check_antialiasing_report,
    check_max_pool2d,
    check_receptive_field,
    check_trunk_shift_prediction,
)
from minimodels.exercises.ch03 import trunk_shift_errors

# --- max pooling -------------------------------------------------------------------


def pool_unfold(x, kernel_size, stride):
    B, C, H, W = x.shape
    windows = F.unfold(x, kernel_size, stride=stride)  # (B, C*K*K, H_out*W_out)
    windows = rearrange(windows, "b (c kk) l -> b c kk l", c=C)
    H_out, W_out = (H - kernel_size) // stride + 1, (W - kernel_size) // stride + 1
    return rearrange(windows.amax(dim=2), "b c (h w) -> b c h w", h=H_out, w=W_out)


def pool_loops(x, kernel_size, stride):
    B, C, H, W = x.shape
    H_out, W_out = (H - kernel_size) // stride + 1, (W - kernel_size) // stride + 1
    out = torch.empty(B, C, H_out, W_out)
    for i in range(H_out):
        for j in range(W_out):
            window = x[
                :,
                :,
                i * stride : i * stride + kernel_size,
                j * stride : j * stride + kernel_size,
            ]
            out[:, :, i, j] = window.amax(dim=(2, 3))
    return out


def pool_from_zero(x, kernel_size, stride):
    """A running maximum started at 0: wrong on negative values."""
    return pool_loops(x, kernel_size, stride).clamp(min=0)


def pool_ignores_stride(x, kernel_size, stride):
    return F.max_pool2d(x, kernel_size)


def pool_square_only(x, kernel_size, stride):
    """Uses H for both axes."""
    H = x.shape[2]
    return F.max_pool2d(x[..., :H, :H] if x.shape[3] >= H else x, kernel_size, stride)


@pytest.mark.parametrize("answer", [pool_unfold, pool_loops, F.max_pool2d])
def test_max_pool_correct_answers_pass(answer, capsys):
    check_max_pool2d(answer)
    assert capsys.readouterr().out.startswith("\N{CHECK MARK} max_pool2d")


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda x, k, s: None, "returned None; expected a tensor"),
        (
            lambda x, k, s: F.avg_pool2d(x, k, s),
            r"kernel_size=2, stride=2\) for x of shape \(1, 1, 4, 4\) has the right "
            r"shape but wrong values: at index \(0, 0, 0, 0\) expected 5, got 2.5",
        ),
        (
            pool_ignores_stride,
            r"kernel_size=3, stride=2\) for x of shape \(2, 3, 7, 9\) returned shape "
            r"\(2, 3, 2, 3\); expected \(2, 3, 3, 4\)",
        ),
        (
            pool_square_only,
            r"for x of shape \(2, 3, 7, 9\) returned shape \(2, 3, 3, 3\); expected "
            r"\(2, 3, 3, 4\)",
        ),
        (
            pool_from_zero,
            r"stride=1\) for x of shape \(1, 2, 6, 5\) has the right shape but wrong "
            r"values.*every value here is negative",
        ),
        (
            lambda x, k, s: torch.tensor([[[[5.0, 7.0], [13.0, 15.0]]]]),
            r"for x of shape \(2, 3, 7, 9\) returned shape \(1, 1, 2, 2\)",
        ),  # hard-coded
    ],
)
def test_max_pool_wrong_answers_say_what_was_expected_and_got(answer, message):
    with pytest.raises(ExerciseError, match=message):
        check_max_pool2d(answer)


def test_max_pool_stub_and_crash_are_explained():
    def stub(x, kernel_size, stride):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="max_pool2d is not written yet"):
        check_max_pool2d(stub)
    with pytest.raises(ExerciseError, match="max_pool2d raised IndexError"):
        check_max_pool2d(lambda x, k, s: x[9, 9, 9, 9])


# --- receptive field ---------------------------------------------------------------


def rf_good(layers):
    size, jump = 1, 1
    for K, stride in layers:
        size += (K - 1) * jump
        jump *= stride
    return size, jump


def rf_closed_form(layers):
    """The closed form of Araujo et al. 2019, as a list."""
    size = 1 + sum(
        (K - 1) * math.prod(s for _, s in layers[:depth])
        for depth, (K, _) in enumerate(layers)
    )
    return [size, math.prod(s for _, s in layers)]


def rf_own_stride_first(layers):
    """Multiplies the jump before adding the layer's (K - 1): uses its own stride too
    early."""
    size, jump = 1, 1
    for K, stride in layers:
        jump *= stride
        size += (K - 1) * jump
    return size, jump


def rf_sum_of_kernels(layers):
    return 1 + sum(K - 1 for K, _ in layers), math.prod(s for _, s in layers)


@pytest.mark.parametrize(
    "answer", [rf_good, rf_closed_form, lambda layers: torch.tensor(rf_good(layers))]
)
def test_receptive_field_correct_answers_pass(answer, capsys):
    check_receptive_field(answer)
    assert capsys.readouterr().out.startswith("\N{CHECK MARK} receptive_field_size")


@pytest.mark.parametrize(
    "answer, message",
    [
        (
            lambda layers: None,
            r"receptive_field_size\(\[\]\) returned None; "
            r"expected the pair \(size, jump\) = \(1, 1\)",
        ),
        (
            lambda layers: 5,
            r"returned 5; expected a pair of ints \(size, jump\) = \(1, 1\)",
        ),
        (lambda layers: (1, 1, 0), r"returned 3 values"),
        (
            lambda layers: (0, 1) if not layers else rf_good(layers),
            r"receptive_field_size\(\[\]\): expected \(size, jump\) = \(1, 1\), got "
            r"\(0, 1\).*an output pixel is an input pixel",
        ),
        (
            rf_own_stride_first,
            r"receptive_field_size\(\[\(2, 2\), \(2, 2\), \(2, 2\)\]\): expected "
            r"\(size, jump\) = \(8, 8\), got \(15, 8\).*layers \*before\* it",
        ),
        (
            rf_sum_of_kernels,
            r"receptive_field_size\(\[\(2, 2\), \(2, 2\), \(2, 2\)\]\): expected "
            r"\(size, jump\) = \(8, 8\), got \(4, 8\)",
        ),
        (
            lambda layers: (rf_good(layers)[0], 1),
            r"\[\(2, 2\), \(2, 2\), \(2, 2\)\]\): expected \(size, jump\) = \(8, 8\), "
            r"got \(8, 1\).*product of the strides",
        ),
        (
            lambda layers: (32, 4),
            r"receptive_field_size\(\[\]\): expected \(size, jump\) = \(1, 1\), "
            r"got \(32, 4\)",
        ),  # hard-coded SmallCNN
    ],
)
def test_receptive_field_wrong_answers_say_what_was_expected_and_got(answer, message):
    with pytest.raises(ExerciseError, match=message):
        check_receptive_field(answer)


def test_receptive_field_stub_and_crash_are_explained():
    def stub(layers):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="receptive_field_size is not written yet"):
        check_receptive_field(stub)
    with pytest.raises(ExerciseError, match="receptive_field_size raised IndexError"):
        check_receptive_field(lambda layers: (layers[0][0], 1))


def test_trunk_shift_prediction(capsys):
    images = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    errors = trunk_shift_errors(images)
    assert errors[4] < 1e-4 < 0.05 < errors[2], errors  # jump 4: multiples of 4 only
    check_trunk_shift_prediction(lambda: "b", images)
    assert "\N{CHECK MARK} trunk_shift_prediction: (b)" in capsys.readouterr().out
    for wrong in "acd":
        with pytest.raises(ExerciseError, match=r"so the answer is \(b\)"):
            check_trunk_shift_prediction(lambda w=wrong: w, images)


# --- Exercise 3.4: open-ended, downsampling that aliases less --------------------


def _digits():
    return torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(6))


def _e(f, x, s):  # the chapter's e(s), written again: best of floor and ceil of s / 2
    y, y_s = f(x), f(torch.roll(x, s, dims=3))
    norm = y.flatten(1).norm(dim=1)
    return min(
        ((y_s - torch.roll(y, t, dims=3)).flatten(1).norm(dim=1) / norm).mean().item()
        for t in (s // 2, (s + 1) // 2)
    )


def _errors(f, x):
    return {
        "odd": sum(_e(f, x, s) for s in (1, 3, 5, 7)) / 4,
        "even": sum(_e(f, x, s) for s in (2, 4, 6, 8)) / 4,
        "peak": f(x).amax(dim=(1, 2, 3)).mean().item(),
    }


def _antialiasing_hand_in(**changes):
    x = _digits()
    errors = {
        "max pool 2x2, stride 2": _errors(lambda z: F.max_pool2d(z, 2), x),
        "avg pool 2x2, stride 2": _errors(lambda z: F.avg_pool2d(z, 2), x),
        "blur": {"odd": 0.2, "even": 0.0},
    }
    return {"errors": errors, "answer": " ".join(["word"] * 25), **changes}


def test_antialiasing_report(capsys):
    report = _antialiasing_hand_in()
    assert check_antialiasing_report(lambda: report, _digits()) is report
    out = capsys.readouterr().out
    assert "e(s), odd shifts" in out and "peak" in out and "blur" in out
    assert "\N{CHECK MARK} my_experiment: complete; the argument is graded by hand" in (
        out
    )


def _baseline(**row):
    errors = _antialiasing_hand_in()["errors"]
    return {**errors, "max pool 2x2, stride 2": row}


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            {"errors": {"blur": {"odd": 0.2, "even": 0.0}}},
            r"'errors' is 1 rows; expected a dict of at least 3 rows",
        ),
        (
            {
                "errors": {
                    k: v
                    for k, v in _antialiasing_hand_in()["errors"].items()
                    if not k.startswith("max")
                }
                | {"x": {"odd": 0.1, "even": 0.0}}
            },
            r"has no 'max pool 2x2, stride 2' row",
        ),
        (
            {"errors": _baseline(odd=0.3, even=0.0)},
            r"\['odd'\] is 0.3, but .* averaged over the shifts 1, 3, 5, 7",
        ),
        (
            {"errors": {**_antialiasing_hand_in()["errors"], "blur": 0.2}},
            r"errors\['blur'\] is 0.2; expected a dict with the keys 'odd' and 'even'",
        ),
        (
            {"errors": {**_antialiasing_hand_in()["errors"], "blur": {"odd": 0.2}}},
            r"errors\['blur'\] is .*; expected a dict with the keys 'odd' and 'even'",
        ),
        (
            {
                "errors": {
                    **_antialiasing_hand_in()["errors"],
                    "blur": {"odd": float("nan"), "even": 0.0},
                }
            },
            r"errors\['blur'\]\['odd'\] is nan; expected a finite number",
        ),
        ({"answer": "blur helps"}, r"'answer' has 2 words"),
    ],
)
def test_antialiasing_report_incomplete(changes, message):
    report = _antialiasing_hand_in(**changes)
    with pytest.raises(ExerciseError, match=message):
        check_antialiasing_report(lambda: report, _digits())


def test_antialiasing_report_stub():
    def stub():
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="my_experiment is not written yet"):
        check_antialiasing_report(stub, _digits())
