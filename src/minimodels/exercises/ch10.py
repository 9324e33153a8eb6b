"""Exercise checks of chapter 10 (Translation)."""

from __future__ import annotations

import textwrap
from typing import Callable

import torch
from torch import nn

from ..shifts import SHIFT_MODES, shift, shift_robustness
from ..train import predict
from .core import ExerciseError, argument, call, hand_in, judge_prediction, passed

__all__ = [
    "WHOLE_PATCH_OPTIONS",
    "check_whole_patch_prediction",
    "check_shift_scores",
    "check_shift_experiment_report",
]


# --- Exercise 10.1: predict, then run: a whole-patch shift -----------------------

PATCH_SHIFT = 7  # pixels: one patch of the chapter's ViT
WITHIN_SHIFT = 3  # pixels: less than half a patch
SAME_POINTS = 5  # consistencies within this many points count as "about as many"

WHOLE_PATCH_OPTIONS = {
    "a": f"the {PATCH_SHIFT}-pixel shift keeps more predictions "
    f"(by more than {SAME_POINTS} points)",
    "b": f"about as many (within {SAME_POINTS} points)",
    "c": f"the {WITHIN_SHIFT}-pixel shift keeps more predictions "
    f"(by more than {SAME_POINTS} points)",
}


def _consistency(
    model: nn.Module,
    images: torch.Tensor,
    moves,
    mode: str,
    reference: torch.Tensor | None = None,
) -> float:
    """Share of ``images`` whose predicted class survives each shift ``(dy, dx)`` of
    ``moves`` (mean over them); :func:`minimodels.shifts.shift_robustness`'s
    consistency for one distance, without labels."""
    if reference is None:
        reference = predict(model, images).argmax(1)
    kept = [
        (predict(model, shift(images, dy, dx, mode)).argmax(1) == reference)
        .float()
        .mean()
        .item()
        for dy, dx in moves
    ]
    return sum(kept) / len(kept)


def _four(d: int) -> list[tuple[int, int]]:
    return [(d, 0), (-d, 0), (0, d), (0, -d)]


def whole_patch_answer(
    model: nn.Module, images: torch.Tensor
) -> tuple[str, float, float]:
    """The option the measurement falls in, and the two consistencies (circular
    shifts, mean over four directions)."""
    reference = predict(model, images).argmax(1)
    within, whole = (
        _consistency(model, images, _four(d), "circular", reference)
        for d in (WITHIN_SHIFT, PATCH_SHIFT)
    )
    gap = 100 * (whole - within)
    answer = "a" if gap > SAME_POINTS else "c" if gap < -SAME_POINTS else "b"
    return answer, within, whole


def check_whole_patch_prediction(
    predict_fn: Callable, model: nn.Module, images: torch.Tensor
) -> None:
    """Chapter 10, predict then run: a whole-patch shift for a ViT with learned
    positions.

    ``predict_fn()`` returns "a", "b" or "c" of :data:`WHOLE_PATCH_OPTIONS`: which
    circular shift of ``images`` leaves more of the trained ``model``'s predictions
    unchanged, by one whole patch (7 pixels) or by 3 pixels. The check measures
    both (mean over the four directions), picks the option the difference falls
    in (``SAME_POINTS``) and compares.
    """
    answer, within, whole = whole_patch_answer(model, images)
    judge_prediction(
        "whole_patch_prediction",
        predict_fn,
        WHOLE_PATCH_OPTIONS,
        answer,
        measured=(
            f"on {len(images)} test digits, circular shifts by {WITHIN_SHIFT} pixels "
            f"keep {within:.1%} of the predictions, by {PATCH_SHIFT} pixels (one "
            f"patch) {whole:.1%}"
        ),
        why=(
            "a circular shift by a whole patch moves every patch, intact, to the "
            "next slot: the tokens' contents are only reordered, and without a "
            "position embedding attention and mean pooling would not notice. But "
            "this ViT adds a learned embedding to each slot before attention, so the "
            "same patch in another slot is another token, just as after any other "
            "shift; trained on centred digits only, nothing made slots 7 pixels "
            "apart alike, so the larger shift moves the digit further from what the "
            "model has seen"
        ),
    )


# --- Exercise 10.2: accuracy and consistency under a shift ----------------------


def _scores(model, images, labels, moves, mode="zeros"):
    """(accuracy, consistency) over the shifts ``moves``, mean over them."""
    reference = predict(model, images).argmax(1)
    accuracy = consistency = 0.0
    for dy, dx in moves:
        after = predict(model, shift(images, dy, dx, mode)).argmax(1)
        accuracy += (after == labels).float().mean().item() / len(moves)
        consistency += (after == reference).float().mean().item() / len(moves)
    return accuracy, consistency


def _pixel_model() -> nn.Module:
    """A small fixed classifier that reads every pixel where it is (a linear map of
    the flattened image): wrapped-around pixels, or a missing direction, change its
    predictions where a model of digits on a black background might not notice."""
    g = torch.Generator().manual_seed(10)
    net = nn.Sequential(nn.Flatten(), nn.Linear(12 * 12, 10))
    with torch.no_grad():
        net[1].weight.copy_(torch.randn(10, 12 * 12, generator=g))
        net[1].bias.zero_()
    return net.eval()


def _score_mistake(got, model, images, labels, d) -> str | None:
    """The classic mistake the pair ``got`` shows, in words, or None."""
    four = _four(d)
    named = [
        ((1, 0), "are in the wrong order: return (accuracy, consistency)"),
        (
            (0, 0),
            "are both the accuracy: the consistency compares each shifted "
            "prediction with the prediction for the *unshifted* image, not with the "
            "label",
        ),
        (
            (1, 1),
            "are both the consistency: the accuracy compares each shifted "
            "prediction with the label",
        ),
    ]
    right = _scores(model, images, labels, four)
    for (i, j), words in named:
        if _same(got, (right[i], right[j])) and not _same(got, right):
            return words
    if _same(got, (100 * right[0], 100 * right[1])):
        return "are percentages: return shares between 0 and 1"
    variants = [
        (
            _scores(model, images, labels, four, "circular"),
            "wrap around (torch.roll): the pixels that leave the frame must be lost, "
            "and zeros come in on the other side",
        ),
        (
            _scores(model, images, labels, [(d, d), (-d, -d), (d, -d), (-d, d)]),
            "come from diagonal shifts: move the images by d pixels along one axis "
            "at a time, down, up, right and left",
        ),
    ]
    variants += [
        (
            _scores(model, images, labels, [move]),
            f"come from one direction only, (dy, dx) = {move}: average over the four "
            "directions, down, up, right and left",
        )
        for move in four
    ]
    for values, words in variants:
        if _same(got, values) and not _same(got, right):
            return words
    return None


_STILL = (
    "should be the clean accuracy and 1: at d = 0 nothing moves (a slice such as "
    "x[..., :-d] is empty when d = 0)"
)


def _same(got, expected) -> bool:
    return all(abs(g - e) < 1e-6 for g, e in zip(got, expected))


def _as_pair(got, name: str) -> tuple[float, float]:
    if isinstance(got, (tuple, list)) and len(got) == 2:
        try:
            return float(got[0]), float(got[1])
        except (TypeError, ValueError):
            pass
    raise ExerciseError(
        f"{name} returned {got!r}; expected a pair of floats (accuracy, consistency)."
    )


def check_shift_scores(
    shift_scores: Callable,
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
) -> tuple[float, float]:
    """Chapter 10, accuracy and consistency under a shift.

    Verifies that ``shift_scores(model, images, labels, d)`` returns the pair
    (accuracy, consistency) of :func:`minimodels.shifts.shift_robustness` for the
    distance ``d``: zero-filled shifts by ``d`` pixels down, up, right and left,
    accuracy against the labels, consistency against the unshifted predictions,
    each the mean over the four directions. First on a fixed linear classifier of
    random 12 x 12 images (d = 0, 1, 3), where wrapping around (torch.roll),
    diagonal shifts and a single direction give other numbers and are named, as
    are a swapped pair, percentages and the accuracy or consistency twice; then on
    the given ``model`` and ``images`` at d = 2. Returns that last pair.
    """
    g = torch.Generator().manual_seed(11)
    toy = _pixel_model()
    toy_images = torch.rand(60, 1, 12, 12, generator=g)
    toy_labels = torch.randint(0, 10, (60,), generator=g)
    cases = [
        (toy, toy_images, toy_labels, d, "a linear classifier of random images")
        for d in (1, 3, 0)
    ]
    cases.append((model, images, labels, 2, f"the {len(images)} test digits"))
    for net, x, y, d, what in cases:
        name = f"shift_scores(d={d}) on {what}"
        got = _as_pair(
            call(shift_scores, net, x.clone(), y, d, name="shift_scores"), name
        )
        measured = shift_robustness(net, x, y, [d])
        expected = measured.accuracy[0], measured.consistency[0]
        if not _same(got, expected):
            mistake = _score_mistake(got, net, x, y, d) if d else _STILL
            raise ExerciseError(
                f"{name} returned (accuracy, consistency) = ({got[0]:.4f}, "
                f"{got[1]:.4f}); expected ({expected[0]:.4f}, {expected[1]:.4f})."
                + (f" The values {mistake}." if mistake else "")
            )
    passed(
        "shift_scores",
        "agrees with minimodels.shifts.shift_robustness on a linear classifier "
        f"(d = 0, 1, 3) and on the {len(images)} test digits: shifted by 2 pixels, "
        f"accuracy {got[0]:.1%}, consistency {got[1]:.1%}.",
    )
    return got


# --- Exercise 10.3: open-ended, circular and zero-filled shifts -------------------

REPORT_ROWS = 6  # at least this many rows in the hand-in
REPORT_TOLERANCE = 0.01  # a recomputed consistency may differ by this much


def _report_error(what: str) -> ExerciseError:
    return ExerciseError(f"my_experiment's hand-in is not complete: {what}.")


def check_shift_experiment_report(
    my_experiment: Callable, models: dict[str, nn.Module], images: torch.Tensor
) -> dict:
    """Chapter 10, open-ended: which shifts leave which model's predictions alone.

    Verifies that ``my_experiment(models, images)`` returns a dict with
    ``"rows"``, at least six ``(model, dy, dx, mode, consistency)`` rows (a key of
    ``models``, whole pixels, "zeros" or "circular", a share in [0, 1]) covering
    two models, both modes and a non-zero shift, and ``"answer"``, at least 20
    words. Recomputes the first row with a non-zero shift on ``images``; prints the
    rows as one line per model and mode, then the answer. The argument is graded
    by hand.
    Returns the hand-in.
    """
    out = hand_in(my_experiment, ("rows", "answer"), models, images)
    rows = out["rows"]
    if not isinstance(rows, (list, tuple)) or len(rows) < REPORT_ROWS:
        n = len(rows) if isinstance(rows, (list, tuple)) else type(rows).__name__
        raise _report_error(f'"rows" needs at least {REPORT_ROWS} rows, got {n}')
    clean = []
    for i, row in enumerate(rows):
        if not isinstance(row, (list, tuple)) or len(row) != 5:
            raise _report_error(
                f"row {i} is {row!r}; expected (model, dy, dx, mode, consistency)"
            )
        name, dy, dx, mode, value = row
        if name not in models:
            raise _report_error(
                f"row {i} names the model {name!r}; expected one of {list(models)}"
            )
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (dy, dx)):
            raise _report_error(f"row {i}: dy and dx must be whole pixels (int)")
        if mode not in SHIFT_MODES:
            raise _report_error(
                f"row {i}: mode {mode!r} is not one of {list(SHIFT_MODES)}"
            )
        if isinstance(value, torch.Tensor):
            value = value.item()
        if not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise _report_error(
                f"row {i}: the consistency {value!r} is not a share between 0 and 1"
            )
        clean.append((name, dy, dx, mode, float(value)))
    if len({r[0] for r in clean}) < 2:
        raise _report_error("the rows cover one model; compare at least two")
    if {r[3] for r in clean} != set(SHIFT_MODES):
        raise _report_error(f"the rows must cover both modes, {list(SHIFT_MODES)}")
    moved = [r for r in clean if (r[1], r[2]) != (0, 0)]
    if not moved:
        raise _report_error("every row is the unshifted image")
    answer = argument(out)
    name, dy, dx, mode, value = moved[0]
    again = _consistency(models[name], images, [(dy, dx)], mode)
    if abs(again - value) > REPORT_TOLERANCE:
        raise ExerciseError(
            f"the row ({name!r}, {dy}, {dx}, {mode!r}) says {value:.3f}, but the "
            f"share of the {len(images)} images whose predicted class survives that "
            f"shift is {again:.3f}: measure on `images`, shifted with "
            "minimodels.shifts.shift(images, dy, dx, mode)."
        )
    lines = {}
    for name, dy, dx, mode, value in clean:
        lines.setdefault((name, mode), []).append(f"({dy},{dx}) {value:.1%}")
    width = max(len(f"{n}, {m}") for n, m in lines)
    for (name, mode), cells in lines.items():
        print(f"{f'{name}, {mode}':<{width}}  " + "  ".join(cells))
    print(textwrap.fill(answer, 88, initial_indent="answer: ", subsequent_indent="  "))
    passed(
        "shift_experiment_report",
        f"complete ({len(clean)} rows; row ({moved[0][0]!r}, {moved[0][1]}, "
        f"{moved[0][2]}, {moved[0][3]!r}) recomputed: {again:.1%}); the argument is "
        "graded by hand.",
    )
    return out
