"""Exercise checks of chapter 02 (Convolution)."""

from __future__ import annotations

import numbers
from typing import Callable

import torch
import torch.nn.functional as F

from .core import ExerciseError, call, compare, passed

__all__ = ["check_conv2d_single", "check_output_size", "check_shift_kernel"]


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
