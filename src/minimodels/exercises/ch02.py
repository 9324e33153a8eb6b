"""Exercise checks of chapter 02 (Convolution)."""

from __future__ import annotations

import math
import numbers
from typing import Callable

import torch
import torch.nn.functional as F

from .core import (
    ExerciseError,
    argument,
    call,
    compare,
    graded_by_hand,
    hand_in,
    judge_prediction,
    number,
    passed,
    print_hand_in,
)

__all__ = [
    "check_conv2d_single",
    "check_output_size",
    "check_shift_kernel",
    "FLIP_OPTIONS",
    "check_flip_prediction",
    "check_stroke_report",
]


def _conv2d_single_reference(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    return F.conv2d(image[None, None], kernel[None, None])[0, 0]


def check_conv2d_single(conv2d_single: Callable) -> None:
    """Chapter 02, a single-channel convolution with loops.

    Verifies that ``conv2d_single(image, kernel)``, for a 2-D ``(H, W)`` image
    and a ``(K, K)`` kernel, returns the ``(H - K + 1, W - K + 1)`` tensor
    ``out[i, j] = sum_{u, v} image[i + u, j + v] * kernel[u, v]`` (no padding,
    stride 1, kernel not flipped, as ``torch.nn.functional.conv2d``). Tried on
    non-square images and on kernels of sizes 1, 2, 3 and 4 that are not
    symmetric, so a hard-coded size, a swapped height and width, or a flipped
    kernel is caught and named.
    """
    g = torch.Generator().manual_seed(2)
    cases = [
        (
            torch.rand(5, 7, generator=g, dtype=torch.float64),
            torch.randn(3, 3, generator=g, dtype=torch.float64),
        ),
        (
            torch.rand(8, 6, generator=g, dtype=torch.float64),
            torch.randn(2, 2, generator=g, dtype=torch.float64),
        ),
        (
            torch.rand(4, 9, generator=g, dtype=torch.float64),
            torch.randn(1, 1, generator=g, dtype=torch.float64),
        ),
        (
            torch.rand(9, 10, generator=g, dtype=torch.float64),
            torch.randn(4, 4, generator=g, dtype=torch.float64),
        ),
    ]
    for image, kernel in cases:
        H, W = image.shape
        K = kernel.shape[0]
        what = f"conv2d_single on a ({H}, {W}) image with a ({K}, {K}) kernel"
        got = call(conv2d_single, image.clone(), kernel.clone(), name="conv2d_single")
        expected = _conv2d_single_reference(image, kernel)
        if isinstance(got, torch.Tensor) and got.shape == expected.shape and K > 1:
            flipped = _conv2d_single_reference(image, kernel.flip(0, 1))
            if torch.allclose(got.double(), flipped, atol=1e-6) and not torch.allclose(
                flipped, expected, atol=1e-6
            ):
                raise ExerciseError(
                    f"{what} computed a true convolution: the kernel was flipped. "
                    "Deep learning's conv2d does not flip it: multiply "
                    "image[i + u, j + v] by kernel[u, v]."
                )
        hint = (
            f"the output has one row per position where a {K}-pixel window fits "
            f"in {H} rows (range(H - K + 1)), and one column per position in {W} "
            "columns."
            if isinstance(got, torch.Tensor) and got.shape != expected.shape
            else "out[i, j] = (image[i:i+K, j:j+K] * kernel).sum()."
        )
        compare(got, expected, name=what, hint=hint)
    passed(
        "conv2d_single",
        "matches torch.nn.functional.conv2d on 4 images and kernel sizes 1 to 4.",
    )


def check_output_size(output_size: Callable) -> None:
    """Chapter 02, the output size of a convolution.

    Verifies that ``output_size(size, kernel_size, stride, padding)`` returns,
    as a Python int, the number of positions a window of ``kernel_size``
    pixels takes along an axis of ``size`` pixels padded by ``padding`` on each
    side, moving ``stride`` pixels at a time; the reference is the shape that
    ``torch.nn.functional.conv2d`` returns. The cases include strides that do
    not divide the padded size evenly (rounding up or to nearest is caught),
    kernel size 1, and the ``(28, 5, 2, 2)`` case of a padded strided layer.
    """
    cases = [
        (28, 3, 1, 0),
        (28, 3, 1, 1),
        (28, 5, 1, 2),
        (28, 5, 2, 0),
        (28, 5, 2, 2),
        (32, 4, 4, 0),
        (7, 3, 2, 1),
        (10, 1, 3, 0),
        (17, 7, 3, 3),
    ]
    for size, kernel_size, stride, padding in cases:
        args = (
            f"output_size(size={size}, kernel_size={kernel_size}, "
            f"stride={stride}, padding={padding})"
        )
        x = torch.zeros(1, 1, size, size)
        expected = F.conv2d(
            x,
            torch.zeros(1, 1, kernel_size, kernel_size),
            stride=stride,
            padding=padding,
        ).shape[-1]
        got = call(output_size, size, kernel_size, stride, padding, name="output_size")
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, numbers.Integral):
            raise ExerciseError(
                f"{args} returned {got!r} ({type(got).__name__}); "
                f"expected the int {expected}. "
                "A size is a whole number of pixels: use floor division, //."
            )
        if got != expected:
            raise ExerciseError(
                f"{args} returned {got}; expected {expected}: a window of "
                f"{kernel_size} pixels, moved {stride} at a time, fits at {expected} "
                f"positions along a padded axis of {size + 2 * padding} pixels "
                "(the last position must leave the whole window inside)."
            )
    passed(
        "output_size",
        f"right on all {len(cases)} cases, "
        "including strides that do not divide evenly.",
    )


def _circular_conv(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    pad = kernel.shape[-1] // 2
    return F.conv2d(F.pad(x, (pad,) * 4, mode="circular"), kernel[None, None])


def check_shift_kernel(shift_kernel: Callable) -> None:
    """Chapter 02, a kernel that translates the image.

    Verifies that ``shift_kernel(dy, dx)`` returns a ``(K, K)`` kernel with
    ``K = 2 * max(|dy|, |dx|) + 1`` such that a convolution with it and
    circular padding ``K // 2`` moves every image ``dy`` pixels down and
    ``dx`` pixels right, i.e. equals ``torch.roll(x, (dy, dx), dims=(-2, -1))``.
    Tried for several shifts, including zero and negative ones, on random
    non-square images; a kernel that moves the image the opposite way
    (flipped) or along the wrong axis is named as such.
    """
    g = torch.Generator().manual_seed(3)
    x = torch.rand(2, 1, 9, 12, generator=g, dtype=torch.float64)
    for dy, dx in [(0, 1), (1, 0), (0, 0), (2, -1), (-1, 3)]:
        name = f"shift_kernel({dy}, {dx})"
        kernel = call(shift_kernel, dy, dx, name="shift_kernel")
        K = 2 * max(abs(dy), abs(dx)) + 1
        if not isinstance(kernel, torch.Tensor):
            compare(kernel, torch.zeros(K, K), name=name)  # explains None / wrong type
        if kernel.shape != (K, K):
            compare(
                kernel,
                torch.zeros(K, K),
                name=name,
                hint=f"K = 2 * max(|dy|, |dx|) + 1 = {K} for this shift.",
            )
        got = _circular_conv(x, kernel.detach().double())
        expected = torch.roll(x, (dy, dx), dims=(-2, -1))
        opposite_way = (
            "the opposite way (up/left instead of down/right): the kernel is not "
            "flipped, so out[i, j] = x[i - dy, j - dx] needs the 1 at "
            "kernel[K//2 - dy, K//2 - dx]"
        )
        wrong_axes = "along the wrong axes (dy is rows, the first index; dx is columns)"
        wrong_ways = {opposite_way: (-dy, -dx), wrong_axes: (dx, dy)}
        if not torch.allclose(got, expected, atol=1e-6):
            for why, shift in wrong_ways.items():
                if shift != (dy, dx) and torch.allclose(
                    got, torch.roll(x, shift, dims=(-2, -1)), atol=1e-6
                ):
                    raise ExerciseError(f"{name} moves the image {why}.")
            compare(
                got[0, 0],
                expected[0, 0],
                name=f"the convolution of a (9, 12) image with {name}",
                hint=(
                    "the result should be torch.roll(x, (dy, dx), dims=(-2, -1)): "
                    "one entry of the kernel is 1, the others 0."
                ),
            )
    passed(
        "shift_kernel",
        "moves images by every shift tried, including negative and zero shifts.",
    )


FLIP_OPTIONS = {
    "a": "the same for all five kernels: a flip commutes with every convolution, "
    "as a shift does",
    "b": "the same for some of the kernels, different for the others",
    "c": "different for all five kernels",
}
# Two results count as the same when they differ by less than this fraction of the
# largest output value: float32 rounding is about 1e-7 of it.
FLIP_EXACT = 1e-5


def _conv_same(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) convolved with one (K, K) kernel, zero padding K // 2."""
    return F.conv2d(x, kernel[None, None].to(x.dtype), padding=kernel.shape[-1] // 2)


def _flip_differences(
    image: torch.Tensor, kernels: dict[str, torch.Tensor]
) -> dict[str, tuple[float, float]]:
    """For each kernel, how far flipping ``image`` left to right is from commuting
    with the convolution (zero padding K // 2): the largest
    ``|conv(flip x) - flip conv(x)|``, and the largest ``|conv(flip x) + flip
    conv(x)|`` (zero when the flip only negates the output), both relative to the
    largest ``|conv(x)|``.
    """
    out = {}
    for name, kernel in kernels.items():
        y = _conv_same(image, kernel)
        y_flip = _conv_same(image.flip(-1), kernel)
        scale = y.abs().max()
        out[name] = (
            ((y_flip - y.flip(-1)).abs().max() / scale).item(),
            ((y_flip + y.flip(-1)).abs().max() / scale).item(),
        )
    return out


def check_flip_prediction(
    predict: Callable, image: torch.Tensor, kernels: dict[str, torch.Tensor]
) -> None:
    """Chapter 02, predict then run: does a left-right flip commute with convolution?

    ``predict()`` returns a key of :data:`FLIP_OPTIONS`: for which of the
    ``kernels`` (name -> ``(K, K)``) does convolving the mirrored ``image``
    ``(B, 1, H, W)`` give the mirror image of the convolved one? The check measures
    it with :func:`_flip_differences` (the same: a relative difference below
    :data:`FLIP_EXACT`) and compares.
    """
    differences = _flip_differences(image, kernels)
    same = {name: d < FLIP_EXACT for name, (d, _) in differences.items()}
    answer = "a" if all(same.values()) else "c" if not any(same.values()) else "b"

    def in_words(name: str) -> str:
        difference, negated = differences[name]
        if same[name]:
            return f"{name} the same ({difference:.0e})"
        if negated < FLIP_EXACT:
            return f"{name} negated"
        return f"{name} {difference:.0%} different"

    judge_prediction(
        "flip_prediction",
        predict,
        FLIP_OPTIONS,
        answer,
        measured=(
            "convolving the mirrored image, compared with mirroring the output "
            "(largest difference, relative to the largest output): "
            + ", ".join(in_words(name) for name in kernels)
        ),
        why=(
            "mirroring the image and then convolving is the same as convolving with "
            "the mirrored kernel and then mirroring the output. The two orders agree "
            "when a kernel is its own mirror image from left to right, as the "
            "Gaussian, the sharpen kernel and G_y are. G_x's mirror image is -G_x, so "
            "its output comes back negated, and a random kernel gives another output "
            "altogether. Weight sharing builds in shifts and nothing else: a CNN that "
            "should treat a digit and its mirror image alike has to learn it."
        ),
    )


STROKE_KEYS = ("kernel", "direction", "per_digit", "per_digit_rotated", "answer")


def _stroke_responses(
    kernel: torch.Tensor, digits: torch.Tensor, labels: torch.Tensor
) -> dict[int, float]:
    """Digit -> the mean response of ``kernel`` to the ``digits`` of that class:
    ``relu(conv(x))`` (zero padding K // 2) averaged over positions and images."""
    response = F.relu(_conv_same(digits, kernel)).mean(dim=(1, 2, 3))  # (B,)
    return {k: response[labels == k].mean().item() for k in range(10)}


def _per_digit(report: dict, key: str) -> dict[int, float]:
    table = report[key]
    if not isinstance(table, dict) or sorted(table) != list(range(10)):
        keys = sorted(table) if isinstance(table, dict) else type(table).__name__
        raise ExerciseError(
            f"my_experiment's {key!r} has the keys {keys}; expected a dict with one "
            "entry per digit, 0 to 9 (ints)."
        )
    return {k: number(v, f"{key}[{k}]") for k, v in table.items()}


def check_stroke_report(
    my_experiment: Callable, digits: torch.Tensor, labels: torch.Tensor
) -> dict:
    """Chapter 02, open-ended: a kernel that detects one stroke direction.

    Verifies that ``my_experiment(digits, labels)`` returns a dict with
    ``"kernel"``, a square ``(K, K)`` tensor with K odd, from 3 to 9, not all
    zero; ``"direction"``, a string naming the stroke direction it detects;
    ``"per_digit"`` and ``"per_digit_rotated"``, digit (0 to 9) -> the mean
    response of the kernel and of the kernel rotated by 90 degrees
    (``torch.rot90``) to the test ``digits`` of that class: ``relu(conv(x))``
    with zero padding K // 2, averaged over positions and over the digits of the
    class; and ``"answer"``, at least 20 words. Recomputes both tables; requires
    that the kernel responds more, over all digits, than its rotation (it prefers
    its direction to the perpendicular one). Prints the hand-in and returns it;
    the argument is graded by hand.
    """
    name = "my_experiment"
    report = hand_in(my_experiment, STROKE_KEYS, digits, labels, name=name)
    kernel = report["kernel"]
    if not isinstance(kernel, torch.Tensor):
        raise ExerciseError(
            f"my_experiment's 'kernel' is a {type(kernel).__name__}; expected a "
            "(K, K) torch.Tensor."
        )
    if (
        kernel.dim() != 2
        or kernel.shape[0] != kernel.shape[1]
        or kernel.shape[0] % 2 == 0
        or not 3 <= kernel.shape[0] <= 9
    ):
        raise ExerciseError(
            f"my_experiment's 'kernel' has shape {tuple(kernel.shape)}; expected a "
            "square (K, K) kernel with K odd, from 3 to 9 (so that padding K // 2 "
            "keeps the image size)."
        )
    K = kernel.shape[0]
    kernel = kernel.detach().float().cpu()
    if not torch.isfinite(kernel).all() or not kernel.abs().sum() > 0:
        raise ExerciseError("my_experiment's 'kernel' must be finite and not all zero.")
    direction = report["direction"]
    if not isinstance(direction, str) or not direction.strip():
        raise ExerciseError(
            f"my_experiment's 'direction' is {direction!r}; expected a string that "
            'names the direction your kernel detects, such as "/" or "horizontal".'
        )
    rotated = torch.rot90(kernel)
    tables = {}
    for key, k in [("per_digit", kernel), ("per_digit_rotated", rotated)]:
        tables[key] = got = _per_digit(report, key)
        expected = _stroke_responses(k, digits, labels)
        for digit in range(10):
            if not math.isclose(
                got[digit], expected[digit], rel_tol=1e-3, abs_tol=1e-6
            ):
                what = "the kernel" if k is kernel else "torch.rot90(kernel)"
                raise ExerciseError(
                    f"my_experiment's {key}[{digit}] is {got[digit]:.4g}, but the "
                    f"mean response of {what} to the test {digit}s is "
                    f"{expected[digit]:.4g}: relu(conv(x)) with zero padding K // 2, "
                    "averaged over positions and over the digits of the class."
                )
    overall = {
        key: sum(table[k] * int((labels == k).sum()) for k in range(10)) / len(labels)
        for key, table in tables.items()
    }
    if overall["per_digit"] <= overall["per_digit_rotated"]:
        raise ExerciseError(
            f"your kernel responds {overall['per_digit']:.4g} on average over the "
            f"digits, its rotation by 90 degrees {overall['per_digit_rotated']:.4g}: "
            "a kernel that detects a direction should respond more to strokes in that "
            "direction than to strokes across it. Make it positive along a line "
            "through its centre and negative beside it, with weights summing to 0."
        )
    answer = argument(report, name)
    per_digit, per_rotated = tables["per_digit"], tables["per_digit_rotated"]
    print_hand_in(
        ["digit", "kernel", "rotated 90°", "ratio"],
        [
            [
                str(k),
                f"{per_digit[k]:.3g}",
                f"{per_rotated[k]:.3g}",
                f"{per_digit[k] / per_rotated[k]:.2f}" if per_rotated[k] else "",
            ]
            for k in range(10)
        ],
        answer,
        f"direction: {direction.strip()}; kernel {K} x {K}:",
        *("  " + " ".join(f"{w:6.2f}" for w in row) for row in kernel.tolist()),
    )
    graded_by_hand(name)
    return report
