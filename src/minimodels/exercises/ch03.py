"""Exercise checks of chapter 03 (Pooling and receptive fields)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from ..receptive_field import receptive_field
from .core import (
    ExerciseError,
    argument,
    call,
    compare,
    graded_by_hand,
    judge_prediction,
    number,
    passed,
    print_hand_in,
    table,
)

__all__ = [
    "check_max_pool2d",
    "check_receptive_field",
    "TRUNK_SHIFT_OPTIONS",
    "check_trunk_shift_prediction",
    "check_antialiasing_report",
]


def _max_pool_cases() -> list[tuple[torch.Tensor, int, int, str]]:
    """(x, K, stride, hint) from easy to tricky."""
    g = torch.Generator().manual_seed(3)
    size_hint = (
        "the output has (H - K) // stride + 1 rows and (W - K) // stride + 1 "
        "columns; window (i, j) starts at row i * stride, column j * stride."
    )
    return [
        (torch.arange(16.0).reshape(1, 1, 4, 4), 2, 2, size_hint),
        (
            torch.randn(2, 3, 7, 9, generator=g),
            3,
            2,
            "H and W differ and do not divide evenly here: " + size_hint,
        ),
        (torch.randn(3, 1, 8, 8, generator=g), 4, 4, size_hint),
        (
            torch.randn(1, 2, 6, 5, generator=g) - 5,
            2,
            1,
            "every value here is negative and the windows overlap (stride 1): "
            "start a running maximum at -inf or at the window's first value, "
            "never at 0.",
        ),
    ]


def check_max_pool2d(max_pool2d: Callable) -> None:
    """Chapter 03, max pooling from scratch.

    Verifies that ``max_pool2d(x, kernel_size, stride)`` equals
    ``torch.nn.functional.max_pool2d`` (no padding) on four inputs: the 4 x 4
    example of the text, a (2, 3, 7, 9) batch with K = 3 and stride 2 (several
    channels, non-square, sizes that do not divide evenly), K = stride = 4, and
    an all-negative input with overlapping windows (stride 1), which catches a
    maximum started at 0 and a stride ignored.
    """
    for x, K, stride, hint in _max_pool_cases():
        got = call(max_pool2d, x.clone(), K, stride, name="max_pool2d")
        compare(
            got,
            F.max_pool2d(x, K, stride),
            name=(
                f"max_pool2d(x, kernel_size={K}, stride={stride}) "
                f"for x of shape {tuple(x.shape)}"
            ),
            hint=hint,
        )
    passed(
        "max_pool2d",
        "matches F.max_pool2d on 4 inputs (several channels, odd sizes, "
        "overlapping windows, negative values).",
    )


# Stacks of (K, stride), checked in this order: simple first, so the first failure
# is easy to read.
_RF_CASES: list[list[tuple[int, int]]] = [
    [],
    [(3, 1)],
    [(3, 1), (3, 1)],
    [(2, 2), (2, 2), (2, 2)],
    [(1, 2), (3, 1)],
    [(3, 1), (1, 2)],
    [(7, 2), (3, 2), (3, 1), (3, 1)],
    # SmallCNN(convs_per_stage=2)
    [(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1), (3, 1)],
]


def _rf_reference(layers) -> tuple[int, int]:
    rf = receptive_field(layers)
    return (rf[-1].size, rf[-1].jump) if rf else (1, 1)


def check_receptive_field(receptive_field_size: Callable) -> None:
    """Chapter 03, the receptive field of a stack.

    Verifies that ``receptive_field_size(layers)``, for a list of ``(K, stride)``
    pairs applied in order to the input, returns the pair ``(size, jump)``: the
    side of the receptive field of one output unit and the distance in input
    pixels between neighbouring output units. Eight stacks, from the empty one
    (``(1, 1)``) to SmallCNN's, including ``[(1, 2), (3, 1)]`` versus
    ``[(3, 1), (1, 2)]``, which differ only in the order of the layers and so
    catch a formula that ignores it.
    """
    for layers in _RF_CASES:
        expected = _rf_reference(layers)
        got = call(receptive_field_size, list(layers), name="receptive_field_size")
        where = f"receptive_field_size({layers})"
        if got is None:
            raise ExerciseError(
                f"{where} returned None; expected the pair (size, jump) = "
                f"{expected}. Did you forget `return`?"
            )
        try:
            pair = tuple(float(v) for v in got)
        except (TypeError, ValueError):
            raise ExerciseError(
                f"{where} returned {got!r}; "
                f"expected a pair of ints (size, jump) = {expected}."
            ) from None
        if len(pair) != 2:
            raise ExerciseError(
                f"{where} returned {len(pair)} values {got!r}; "
                f"expected a pair (size, jump) = {expected}."
            )
        if pair == expected:
            continue
        size_ok, jump_ok = pair[0] == expected[0], pair[1] == expected[1]
        if not jump_ok:
            hint = "the jump is the product of the strides of all layers so far."
        elif not size_ok and not layers:
            hint = (
                "with no layers an output pixel is an input pixel: it sees 1 pixel, "
                "and pixels are 1 apart."
            )
        else:
            hint = (
                "each layer adds (K - 1) times the jump of the layers *before* it "
                "(not including its own stride)."
            )
        raise ExerciseError(
            f"{where}: expected (size, jump) = {expected}, got {tuple(got)}. "
            f"Hint: {hint}"
        )
    passed(
        "receptive_field_size",
        f"correct on {len(_RF_CASES)} stacks, from the empty one to SmallCNN's.",
    )


TRUNK_SHIFT_OPTIONS = {
    "a": "exact for both shifts, 2 and 4 pixels",
    "b": "exact for the 4-pixel shift only",
    "c": "exact for the 2-pixel shift only",
    "d": "exact for neither",
}


def trunk_shift_errors(images: torch.Tensor, shifts=(2, 4)) -> dict[int, float]:
    """Relative equivariance error of SmallCNN's trunk for circular shifts.

    The trunk: three stages of (16, 32, 64) channels, two convolutions each,
    circular padding, untrained (seed 0); ``images`` ``(B, 1, 28, 28)``. For each
    shift s (pixels, to the right) the error is the mean over images of
    ``||f(shift_s x) - shift_t f(x)|| / ||f(x)||`` for the better of t = floor and
    ceil of s / 4 (the trunk's total stride is 4).
    """
    from ..cnn import SmallCNN
    from ..train import seed_everything

    seed_everything(0)
    trunk = SmallCNN(
        widths=(16, 32, 64), convs_per_stage=2, padding_mode="circular"
    ).eval()
    errors = {}
    with torch.no_grad():
        y = trunk.features(images)["stage3"]
        norm = y.flatten(1).norm(dim=1)
        for s in shifts:
            y_s = trunk.features(torch.roll(images, s, dims=3))["stage3"]
            errors[s] = min(
                ((y_s - torch.roll(y, t, dims=3)).flatten(1).norm(dim=1) / norm)
                .mean()
                .item()
                for t in {s // 4, -(-s // 4)}
            )
    return errors


def check_trunk_shift_prediction(predict: Callable, images: torch.Tensor) -> None:
    """Chapter 03, predict then run: which shifts SmallCNN's trunk follows exactly.

    ``predict()`` returns a key of :data:`TRUNK_SHIFT_OPTIONS`: for digits shifted
    (circularly) by 2 and by 4 pixels, is the trunk's output exactly its output for
    the unshifted digit, shifted by whole positions? The check measures it with
    :func:`trunk_shift_errors` (exact: relative error below 1e-4) and compares.
    """
    errors = trunk_shift_errors(images)
    exact = {s: e < 1e-4 for s, e in errors.items()}
    answer = {
        (True, True): "a",
        (False, True): "b",
        (True, False): "c",
        (False, False): "d",
    }[exact[2], exact[4]]
    judge_prediction(
        "trunk_shift_prediction",
        predict,
        TRUNK_SHIFT_OPTIONS,
        answer,
        measured=(
            f"relative error {errors[2]:.2g} for the 2-pixel shift, "
            f"{errors[4]:.2g} for the 4-pixel shift"
        ),
        why=(
            "the trunk halves the map twice, so one position of its output stands "
            "for 4 input pixels (its jump, exercise 3.2). A shift by a multiple of 4 "
            "moves every pooling window onto a whole window and the output by whole "
            "positions; a 2-pixel shift puts the pixels into different windows, and "
            "max pooling then keeps different values (aliasing)."
        ),
    )


ANTIALIASING_KEYS = ("errors", "answer")
BASELINE_POOL = "max pool 2x2, stride 2"  # the chapter's name for it
ODD_SHIFTS, EVEN_SHIFTS = (1, 3, 5, 7), (2, 4, 6, 8)


def _shift_error(f: Callable, images: torch.Tensor, s: int, stride: int = 2) -> float:
    """The chapter's e(s): mean over images of ||f(shift_s x) - shift_t f(x)|| /
    ||f(x)|| for the better of t = floor and ceil of s / stride (circular shifts
    to the right)."""
    y = f(images)
    y_s = f(torch.roll(images, s, dims=3))
    norm = y.flatten(1).norm(dim=1)
    return min(
        ((y_s - torch.roll(y, t, dims=3)).flatten(1).norm(dim=1) / norm).mean().item()
        for t in {s // stride, -(-s // stride)}
    )


def check_antialiasing_report(my_experiment: Callable, images: torch.Tensor) -> dict:
    """Chapter 03, open-ended: downsampling that aliases less.

    Verifies that ``my_experiment()`` returns a dict with ``"errors"``, a table of
    at least three stride-2 downsampling layers (name -> a dict with ``"odd"`` and
    ``"even"``, the chapter's relative error e(s) averaged over the shifts 1, 3, 5,
    7 and over 2, 4, 6, 8, plus any other numbers you measured), one of them
    ``"max pool 2x2, stride 2"``, the chapter's max pooling; and ``"answer"``, at
    least 20 words. Recomputes the max-pooling row on ``images`` (the chapter's
    first 100 test digits). Prints the hand-in and returns it; the argument is
    graded by hand.
    """
    name = "my_experiment"
    report, rows = table(my_experiment, ANTIALIASING_KEYS, min_rows=3, name=name)
    errors: dict[str, dict[str, float]] = {}
    for layer, row in rows.items():
        where = f"errors[{layer!r}]"
        if not isinstance(row, dict) or not {"odd", "even"} <= set(row):
            raise ExerciseError(
                f"{where} is {row!r}; expected a dict with the keys 'odd' and 'even' "
                "(e(s) averaged over the odd and over the even shifts), and any "
                "other numbers you measured."
            )
        errors[layer] = {
            column: number(value, f"{where}[{column!r}]")
            for column, value in row.items()
        }
        for column in ("odd", "even"):
            number(errors[layer][column], f"{where}[{column!r}]", 0, 10)
    if BASELINE_POOL not in errors:
        raise ExerciseError(
            f"{name}'s 'errors' has no {BASELINE_POOL!r} row: include the chapter's "
            "max pooling, the baseline every other layer is compared with."
        )
    with torch.no_grad():
        pool = lambda z: F.max_pool2d(z, 2)  # noqa: E731
        for column, shifts in [("odd", ODD_SHIFTS), ("even", EVEN_SHIFTS)]:
            expected = sum(_shift_error(pool, images, s) for s in shifts) / len(shifts)
            got = errors[BASELINE_POOL][column]
            if abs(got - expected) > 1e-4:
                raise ExerciseError(
                    f"errors[{BASELINE_POOL!r}][{column!r}] is {got:.4g}, but the "
                    f"chapter's e(s) for max pooling, averaged over the shifts "
                    f"{', '.join(map(str, shifts))} of the first {len(images)} test "
                    f"digits, is {expected:.4g}: use equivariance_errors(f, 2, "
                    "x_test[:100]) and average the shifts named."
                )
    answer = argument(report, name)
    columns = ["odd", "even"]
    columns += sorted(
        {c for row in errors.values() for c in row} - set(columns), key=str
    )
    print_hand_in(
        [
            "layer",
            *(f"e(s), {c} shifts" if c in ("odd", "even") else str(c) for c in columns),
        ],
        [
            [str(layer), *(f"{row[c]:.3g}" if c in row else "" for c in columns)]
            for layer, row in errors.items()
        ],
        answer,
    )
    graded_by_hand(name)
    return report
