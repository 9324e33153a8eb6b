"""The exercise checks of chapter 02: right answers pass, wrong ones are explained."""

import nbformat
import pytest
import torch

from minimodels.exercises import (
    FLIP_OPTIONS,
    ExerciseError,
    check_conv2d_single,
    check_flip_prediction,
    check_output_size,
    check_shift_kernel,
    check_stroke_report,
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


# --- Exercise 2.4: predict, then run: flips and convolution ----------------------

SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def _flip_kernels():
    return {
        "Sobel G_x": SOBEL_X,
        "Sobel G_y": SOBEL_X.T,
        "box": torch.ones(3, 3) / 9,
        "random": torch.randn(3, 3, generator=torch.Generator().manual_seed(0)),
    }


def _photo():
    return torch.rand(1, 1, 12, 17, generator=torch.Generator().manual_seed(1))


def test_flip_prediction(capsys):
    check_flip_prediction(lambda: "b", _photo(), _flip_kernels())
    out = capsys.readouterr().out
    assert "\N{CHECK MARK} flip_prediction: (b)" in out
    assert "Sobel G_x negated" in out and "Sobel G_y the same" in out
    assert "random" in out and "% different" in out
    for wrong in ("a", "c"):
        with pytest.raises(ExerciseError, match=r"so the answer is \(b\)"):
            check_flip_prediction(lambda w=wrong: w, _photo(), _flip_kernels())


@pytest.mark.parametrize(
    "names, answer",
    [(["Sobel G_y", "box"], "a"), (["Sobel G_x", "random"], "c")],
)
def test_flip_prediction_follows_the_measurement(names, answer):
    kernels = {n: k for n, k in _flip_kernels().items() if n in names}
    check_flip_prediction(lambda: answer, _photo(), kernels)
    with pytest.raises(ExerciseError, match=rf"so the answer is \({answer}\)"):
        check_flip_prediction(lambda: "b", _photo(), kernels)


def test_flip_prediction_needs_an_answer():
    def stub():
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="flip_prediction is not written yet"):
        check_flip_prediction(stub, _photo(), _flip_kernels())
    with pytest.raises(ExerciseError, match="expected one of 'a', 'b', 'c'"):
        check_flip_prediction(lambda: "both", _photo(), _flip_kernels())


def test_chapter_lists_the_flip_options(root):
    path = root / "chapters" / "02_convolution.ipynb"
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    for key, option in FLIP_OPTIONS.items():
        assert f'- `"{key}"`: {option}' in text, option


# --- Exercise 2.5: open-ended, a kernel for one stroke direction -----------------

SLASH = torch.eye(3).flip(1) - 1 / 3  # "/" through the centre, weights sum to 0


def _strokes():
    """20 9 x 9 images of "/" strokes (two per digit label) with a little noise."""
    g = torch.Generator().manual_seed(4)
    images = torch.rand(20, 1, 9, 9, generator=g) * 0.1
    images[:, 0] += torch.eye(9).flip(1)
    return images, torch.arange(20) % 10


def _responses(kernel, images, labels):  # the definition, written independently
    K = kernel.shape[-1]
    out = torch.relu(
        torch.nn.functional.conv2d(images, kernel[None, None], padding=K // 2)
    )
    means = out.mean(dim=(1, 2, 3))
    return {d: means[labels == d].mean().item() for d in range(10)}


def _stroke_hand_in(tables_of=SLASH, **changes):
    """A hand-in whose tables are those of the kernel ``tables_of``."""

    def experiment(images, labels):
        report = {
            "kernel": tables_of,
            "direction": "/",
            "per_digit": _responses(tables_of, images, labels),
            "per_digit_rotated": _responses(torch.rot90(tables_of), images, labels),
            "answer": " ".join(["word"] * 25),
        }
        return {**report, **changes}

    return experiment


def test_stroke_report(capsys):
    report = check_stroke_report(_stroke_hand_in(), *_strokes())
    assert report["direction"] == "/"
    out = capsys.readouterr().out
    assert "rotated 90°" in out and "direction: /; kernel 3 x 3:" in out
    assert "\N{CHECK MARK} my_experiment: complete; the argument is graded by hand" in (
        out
    )


@pytest.mark.parametrize(
    "experiment, message",
    [
        (
            _stroke_hand_in(kernel=torch.zeros(4, 4)),
            r"'kernel' has shape \(4, 4\); expected a square \(K, K\) kernel",
        ),
        (
            _stroke_hand_in(kernel=torch.zeros(1, 3, 3)),
            r"'kernel' has shape \(1, 3, 3\)",
        ),
        (_stroke_hand_in(kernel=[[0, 1], [1, 0]]), r"'kernel' is a list"),
        (_stroke_hand_in(kernel=torch.zeros(3, 3)), r"finite and not all zero"),
        (_stroke_hand_in(direction=""), r"'direction' is ''; expected a string"),
        (
            _stroke_hand_in(per_digit={str(d): 0.1 for d in range(10)}),
            r"'per_digit' has the keys \['0', .*expected a dict with one entry per",
        ),
        (
            _stroke_hand_in(per_digit={d: 1.0 for d in range(10)}),
            r"per_digit\[0\] is 1, but the mean response of the kernel",
        ),
        (  # the rotated table computed with the kernel itself
            _stroke_hand_in(per_digit_rotated=_responses(SLASH, *_strokes())),
            r"per_digit_rotated\[0\] is .* response of torch.rot90\(kernel\)",
        ),
        (  # a kernel for "\" strokes, on "/" strokes
            _stroke_hand_in(tables_of=torch.rot90(SLASH)),
            r"should respond more to strokes in that direction",
        ),
        (_stroke_hand_in(answer="it works"), r"'answer' has 2 words"),
    ],
)
def test_stroke_report_incomplete(experiment, message):
    with pytest.raises(ExerciseError, match=message):
        check_stroke_report(experiment, *_strokes())


def test_stroke_report_stub():
    def stub(images, labels):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="my_experiment is not written yet"):
        check_stroke_report(stub, *_strokes())
