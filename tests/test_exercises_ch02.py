"""The exercise checks of chapter 02: right answers pass, wrong ones are explained."""

import pytest
import torch

from minimodels.exercises import (
    ExerciseError,
    check_conv2d_single,
    check_output_size,
    check_shift_kernel,
)

# conv2d_single ---------------------------------------------------------------


def conv2d_single_good(image, kernel):
    H, W = image.shape
    K = kernel.shape[0]
    out = torch.zeros(H - K + 1, W - K + 1, dtype=image.dtype)
    for i in range(H - K + 1):
        for j in range(W - K + 1):
            out[i, j] = (image[i : i + K, j : j + K] * kernel).sum()
    return out


def test_conv2d_single_correct_answer_passes(capsys):
    check_conv2d_single(conv2d_single_good)
    assert capsys.readouterr().out.startswith("\N{CHECK MARK} conv2d_single")


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda x, k: None, "returned None; expected a tensor"),
        (
            lambda x, k: conv2d_single_good(x, k).tolist(),
            "returned a list; expected a torch.Tensor",
        ),
        (
            lambda x, k: conv2d_single_good(x, k.flip(0, 1)),
            "computed a true convolution: the kernel was flipped",
        ),
        (
            lambda x, k: conv2d_single_good(x.T, k).T,
            r"\(5, 7\) image .* wrong values",
        ),  # swapped H and W loops
        (
            lambda x, k: conv2d_single_good(x, k)[:-1, :-1],
            r"returned shape \(2, 4\); expected \(3, 5\).*range\(H - K \+ 1\)",
        ),
        (
            lambda x, k: conv2d_single_good(x, k)[:3, :5],
            r"\(8, 6\) image with a \(2, 2\) kernel "
            r"returned shape \(3, 5\); expected \(7, 5\)",
        ),  # hard-coded
        (
            lambda x, k: conv2d_single_good(x, k) + 0.1,
            r"wrong values: at index \(\d, \d\) expected",
        ),
    ],
)
def test_conv2d_single_wrong_answers_say_what_was_expected_and_got(answer, message):
    with pytest.raises(ExerciseError, match=message):
        check_conv2d_single(answer)


def test_conv2d_single_stub_and_crash_are_explained():
    def stub(image, kernel):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="conv2d_single is not written yet"):
        check_conv2d_single(stub)
    with pytest.raises(ExerciseError, match="conv2d_single raised IndexError"):
        check_conv2d_single(lambda x, k: x[100])


# output_size -----------------------------------------------------------------


def output_size_good(size, kernel_size, stride, padding):
    return (size + 2 * padding - kernel_size) // stride + 1


def test_output_size_correct_answer_passes(capsys):
    check_output_size(output_size_good)
    check_output_size(
        lambda *a: torch.tensor(output_size_good(*a))
    )  # a 0-d integer tensor is fine too
    assert capsys.readouterr().out.startswith("\N{CHECK MARK} output_size")


@pytest.mark.parametrize(
    "answer, message",
    [
        (
            lambda s, k, st, p: s - k + 1,
            r"output_size\(size=28, kernel_size=3, stride=1, padding=1\) returned 26; "
            r"expected 28",
        ),
        (
            lambda s, k, st, p: (s + 2 * p - k) / st + 1,
            r"returned 26.0 \(float\); expected the int 26.*//",
        ),
        (
            lambda s, k, st, p: -(-(s + 2 * p - k) // st) + 1,
            r"stride=2, padding=0\) returned 13; expected 12",
        ),  # ceil
        (
            lambda s, k, st, p: (s + p - k) // st + 1,
            r"padding=1\) returned 27; expected 28.*padded axis of 30 pixels",
        ),
        (lambda s, k, st, p: 26, r"padding=1\) returned 26; expected 28"),  # hard-coded
        (lambda s, k, st, p: None, r"returned None \(NoneType\); expected the int 26"),
    ],
)
def test_output_size_wrong_answers_say_what_was_expected_and_got(answer, message):
    with pytest.raises(ExerciseError, match=message):
        check_output_size(answer)


def test_output_size_stub_is_explained():
    def stub(size, kernel_size, stride, padding):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="output_size is not written yet"):
        check_output_size(stub)


# shift_kernel ----------------------------------------------------------------


def shift_kernel_good(dy, dx):
    m = max(abs(dy), abs(dx))
    kernel = torch.zeros(2 * m + 1, 2 * m + 1)
    kernel[m - dy, m - dx] = 1.0
    return kernel


def shift_kernel_always_3x3(dy, dx):  # right for shifts of one pixel, hard-coded K = 3
    kernel = torch.zeros(3, 3)
    kernel[1 - dy, 1 - dx] = 1.0
    return kernel


def test_shift_kernel_correct_answer_passes(capsys):
    check_shift_kernel(shift_kernel_good)
    assert capsys.readouterr().out.startswith("\N{CHECK MARK} shift_kernel")


@pytest.mark.parametrize(
    "answer, message",
    [
        (
            lambda dy, dx: shift_kernel_good(-dy, -dx),
            r"shift_kernel\(0, 1\) moves the image the opposite way",
        ),
        (
            lambda dy, dx: shift_kernel_good(dx, dy),
            r"shift_kernel\(0, 1\) moves the image along the wrong axes",
        ),
        (
            shift_kernel_always_3x3,
            r"shift_kernel\(0, 0\) returned shape \(3, 3\); expected \(1, 1\).*K = 2",
        ),  # hard-coded
        (
            lambda dy, dx: shift_kernel_good(dy, dx) * 2,
            r"convolution of a \(9, 12\) image with shift_kernel\(0, 1\) has the "
            r"right shape but wrong values",
        ),
        (lambda dy, dx: None, r"shift_kernel\(0, 1\) returned None"),
    ],
)
def test_shift_kernel_wrong_answers_say_what_was_expected_and_got(answer, message):
    with pytest.raises(ExerciseError, match=message):
        check_shift_kernel(answer)


def test_shift_kernel_stub_is_explained():
    def stub(dy, dx):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="shift_kernel is not written yet"):
        check_shift_kernel(stub)
