"""The machinery behind every exercise check: clear feedback in a few lines.

Every chapter's exercises follow one pattern (introduced in chapter 01):

1. a code cell the student completes; the instructor's solution sits between
   nbgrader-style ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers, and the
   book shows that cell collapsed;
2. the next cell calls one ``check_*`` function from this module with the
   student's work. It prints a line starting with a check mark when the work
   is right, and otherwise raises :class:`ExerciseError` saying what was
   expected and what was got.

Each ``check_*`` docstring states what it verifies (the instructor guide lists
them). The checks of chapter NN live in ``chNN.py`` beside this file, built on
:func:`call`, :func:`compare` and :func:`passed`, which instructors can use to
write new checks in a few lines. The checks of the open-ended exercises share
:func:`hand_in`, :func:`number`, :func:`whole_number`, :func:`table`,
:func:`argument`, :func:`print_hand_in` and :func:`graded_by_hand`.
"""

from __future__ import annotations

import math
import numbers
import textwrap
from typing import Any, Callable

import torch

from ..shapes import format_shape

__all__ = [
    "ExerciseError",
    "call",
    "compare",
    "passed",
    "judge_prediction",
    "accuracy_drop_options",
    "accuracy_drop_answer",
    "MIN_ANSWER_WORDS",
    "hand_in",
    "number",
    "whole_number",
    "table",
    "argument",
    "print_hand_in",
    "graded_by_hand",
]


class ExerciseError(AssertionError):
    """The student's answer is not right yet; the message says how."""


def passed(name: str, detail: str) -> None:
    print(f"\N{CHECK MARK} {name}: {detail}")


def call(fn: Callable, *args, name: str) -> Any:
    """Call the student's ``fn``, turning a stub or a crash into clear feedback."""
    try:
        return fn(*args)
    except NotImplementedError as err:
        raise ExerciseError(
            f"{name} is not written yet: replace `raise NotImplementedError` "
            "with your code."
        ) from err
    except Exception as err:
        # the student's code crashed: say where, keep the traceback
        raise ExerciseError(f"{name} raised {type(err).__name__}: {err}") from err


def compare(
    got: Any,
    expected: torch.Tensor,
    *,
    name: str,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    hint: str = "",
) -> None:
    """Raise :class:`ExerciseError` unless ``got`` is a tensor close to ``expected``.

    The message names the first thing that differs: the type, the shape, or
    the largest error with its index and both values.
    """
    hint = f" Hint: {hint}" if hint else ""
    if got is None:
        raise ExerciseError(
            f"{name} returned None; expected a tensor. Did you forget `return`?{hint}"
        )
    if not isinstance(got, torch.Tensor):
        raise ExerciseError(
            f"{name} returned a {type(got).__name__}; expected a torch.Tensor.{hint}"
        )
    if got.shape != expected.shape:
        raise ExerciseError(
            f"{name} returned shape {format_shape(got.shape)}; "
            f"expected {format_shape(expected.shape)}.{hint}"
        )
    got_f, exp_f = got.detach().double().cpu(), expected.detach().double().cpu()
    if not torch.allclose(got_f, exp_f, atol=atol, rtol=rtol, equal_nan=False):
        err = (got_f - exp_f).abs().nan_to_num(float("inf"))
        where = tuple(int(i) for i in torch.unravel_index(err.argmax(), err.shape))
        raise ExerciseError(
            f"{name} has the right shape but wrong values: at index {where} expected "
            f"{exp_f[where].item():.6g}, got {got_f[where].item():.6g} (largest error "
            f"{err.max().item():.3g}, tolerance {atol:g} + {rtol:g}*|expected|).{hint}"
        )


def judge_prediction(
    name: str,
    predict: Callable,
    options: dict[str, str],
    answer: str,
    measured: str,
    why: str,
) -> None:
    """The feedback of a "predict, then run" exercise.

    ``predict()`` returns the key of the option the student chose before running
    the check; ``answer`` is the key the check's own measurement picked, and
    ``measured`` says what it measured. Right or wrong, the student reads the
    measurement and ``why``; a wrong or missing prediction raises
    :class:`ExerciseError`, so a grader counts it as unanswered.
    """
    got = call(predict, name=name)
    choices = ", ".join(repr(k) for k in options)
    if isinstance(got, str):
        got = got.strip().strip("()").lower()
    if got not in options:
        raise ExerciseError(
            f"{name} returned {got!r}; expected one of {choices}: record your "
            "prediction before you run the check."
        )
    if got != answer:
        raise ExerciseError(
            f"You predicted ({got}), {options[got]}. Measured: {measured}; so the "
            f"answer is ({answer}), {options[answer]}. Why: {why}"
        )
    passed(name, f"({answer}), {options[answer]}. Measured: {measured}. Why: {why}")


# The options of "how much accuracy does it lose?" predictions (chapters 01, 04):
# a drop below SMALL_DROP points, up to LARGE_DROP points, or more.
SMALL_DROP, LARGE_DROP = 2, 20


def accuracy_drop_options(as_before: str) -> dict[str, str]:
    """Options a, b, c of an accuracy-drop prediction; ``as_before`` names the
    reference, e.g. "in evaluation mode"."""
    return {
        "a": f"about as accurate as {as_before} (within {SMALL_DROP} points)",
        "b": f"somewhat less accurate ({SMALL_DROP} to {LARGE_DROP} points lower)",
        "c": f"far less accurate (more than {LARGE_DROP} points lower)",
    }


def accuracy_drop_answer(before: float, after: float) -> tuple[str, str]:
    """The option (a, b or c of :func:`accuracy_drop_options`) that the drop from
    accuracy ``before`` to ``after`` falls in, and the drop in words."""
    drop = 100 * (before - after)
    answer = "a" if drop < SMALL_DROP else "b" if drop <= LARGE_DROP else "c"
    return answer, f"{abs(drop):.1f} points {'lower' if drop >= 0 else 'higher'}"


# --- Open-ended exercises: the hand-in, checked for completeness -----------------
# An open-ended exercise's my_experiment() returns a dict: its measurements and
# "answer", a few sentences that argue the conclusion. A check verifies that the
# hand-in is complete and coherent and prints it; a person grades the argument.

MIN_ANSWER_WORDS = 20  # "a few sentences": fewer words cannot argue from numbers


def hand_in(
    experiment: Callable, keys: tuple[str, ...], *args, name: str = "my_experiment"
) -> dict:
    """Call the student's ``experiment(*args)`` and return its hand-in.

    Raises :class:`ExerciseError` (through :func:`call`) when ``experiment`` is a
    stub or crashes, when it returns anything but a dict, or when the dict lacks
    any of ``keys``; the messages name the expected keys and the missing ones.
    ``name`` is how the messages call the function.
    """
    report = call(experiment, *args, name=name)
    expected = ", ".join(repr(k) for k in keys)
    if not isinstance(report, dict):
        raise ExerciseError(
            f"{name} returned {type(report).__name__}; expected a dict with the "
            f"keys {expected}. Did you forget `return`?"
        )
    missing = [k for k in keys if k not in report]
    if missing:
        raise ExerciseError(
            f"{name}'s hand-in has no {', '.join(repr(k) for k in missing)}: "
            f"expected the keys {expected}."
        )
    return report


def _bounds(low: float, high: float) -> str:
    """`` from low to high``, `` of at least low``, ... or nothing."""
    if math.isfinite(low) and math.isfinite(high):
        return f" from {low:g} to {high:g}"
    if math.isfinite(low):
        return f" of at least {low:g}"
    if math.isfinite(high):
        return f" of at most {high:g}"
    return ""


def number(
    value: Any, where: str, low: float = -math.inf, high: float = math.inf
) -> float:
    """``value`` as a float: a finite real number (or a one-element tensor) in
    ``[low, high]``.

    Otherwise raises :class:`ExerciseError` naming ``where`` the value came from
    (e.g. ``"val_acc['euclidean']"``) and what was expected; a share in [0, 1]
    given in percent is named as such. ``bool`` is not a number here.
    """
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ExerciseError(f"{where} is {value!r}; expected a number.")
    if not (math.isfinite(value) and low <= value <= high):
        # a share given in percent is the usual slip
        percent = low == 0 and high == 1 and 1 < value <= 100
        raise ExerciseError(
            f"{where} is {value:g}; expected a finite number{_bounds(low, high)}"
            + (" (0.9, not 90)." if percent else ".")
        )
    return float(value)


def whole_number(
    value: Any, where: str, low: float = -math.inf, high: float = math.inf
) -> int:
    """``value`` as an int: a whole number (``int``, not ``bool``) in
    ``[low, high]``.

    Otherwise raises :class:`ExerciseError` naming ``where`` the value came from
    and what was expected. A float such as ``4.0`` is not a whole number here.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ExerciseError(
            f"{where} is {value!r}; expected a whole number{_bounds(low, high)}."
        )
    if not low <= value <= high:
        raise ExerciseError(
            f"{where} is {value}; expected a whole number{_bounds(low, high)}."
        )
    return int(value)


def table(
    experiment: Callable,
    keys: tuple[str, ...],
    *args,
    min_rows: int,
    name: str = "my_experiment",
) -> tuple[dict, dict]:
    """The hand-in (:func:`hand_in`) and its first key's value, which must be a
    dict of at least ``min_rows`` rows (a table: one row per variant)."""
    report = hand_in(experiment, keys, *args, name=name)
    rows = report[keys[0]]
    if not isinstance(rows, dict) or len(rows) < min_rows:
        got = f"{len(rows)} rows" if isinstance(rows, dict) else repr(rows)
        raise ExerciseError(
            f"{name}'s {keys[0]!r} is {got}; expected a dict of at least "
            f"{min_rows} rows, one per variant you measured."
        )
    return report, rows


def argument(
    report: dict,
    name: str = "my_experiment",
    key: str = "answer",
    least: int = MIN_ANSWER_WORDS,
) -> str:
    """The hand-in's ``report[key]``: a string of at least ``least`` words
    (:data:`MIN_ANSWER_WORDS` unless told), a few sentences that argue the
    conclusion. Otherwise raises :class:`ExerciseError` saying how many words it
    has (0 for anything but a string)."""
    answer = report[key]
    words = len(answer.split()) if isinstance(answer, str) else 0
    if words < least:
        raise ExerciseError(
            f"{name}'s {key!r} has {words} words; expected at least {least}: a few "
            "sentences that argue your conclusion from your numbers."
        )
    return answer


def print_hand_in(
    header: list[str], rows: list[list[str]], answer: str, *notes: str
) -> None:
    """Print a hand-in: the table (``header``, then ``rows`` of strings; first
    column left-aligned, the others right-aligned), the ``notes`` one per line,
    then the argument, wrapped at 88 columns."""
    lines = [header, *rows]
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    for row in lines:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])]
        print("  ".join(cells).rstrip())
    for note in notes:
        print(note)
    print(textwrap.fill(answer, width=88, initial_indent="answer: "))


def graded_by_hand(name: str) -> None:
    """The passing line of an open-ended check: the hand-in is complete, and a
    person grades its argument."""
    passed(name, "complete; the argument is graded by hand.")
