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
write new checks in a few lines.
"""

from __future__ import annotations

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
