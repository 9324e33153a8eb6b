"""Exercise checks of chapter 11 (Data efficiency)."""

from __future__ import annotations

import math
import textwrap
from typing import Callable

import torch
from torch import nn
from torch.utils.data import TensorDataset

from .core import ExerciseError, argument, call, hand_in, judge_prediction, passed

__all__ = [
    "check_balanced_indices",
    "FIT_OPTIONS",
    "check_small_data_fit_prediction",
    "check_augmentation_worth_report",
]


# --- Exercise 11.1: a class-balanced subset ------------------------------------


def _package_indices(labels: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """The indices that ``minimodels.experiments.balanced_subset`` draws: it is given
    the indices themselves as its "images"."""
    from ..experiments import balanced_subset

    data = TensorDataset(torch.arange(len(labels)), labels)
    return balanced_subset(data, n, seed).tensors[0]


def _index_cases() -> list[tuple[str, torch.Tensor, int, int]]:
    """(where, labels, n, seed): the real split, the same sorted by class (where
    ``[:n]`` shows), and two unequal classes (where a hard-coded 10 shows)."""
    from ..experiments import dataset

    labels = dataset("mnist5k").train.tensors[1]
    two = torch.randint(0, 2, (300,), generator=torch.Generator().manual_seed(11))
    return [
        ("MNIST-5k's training labels", labels, 250, 0),
        (
            "the same labels sorted by class (all the 0s, then the 1s, ...), "
            "as many data sets are stored",
            labels.sort(stable=True).values,
            500,
            1,
        ),
        ("300 labels of two classes, in unequal numbers", two, 40, 7),
    ]


def _as_indices(got, labels: torch.Tensor, n: int, call_text: str) -> torch.Tensor:
    """``got`` as a long tensor of ``n`` valid indices, or an ExerciseError."""
    classes = int(labels.max()) + 1
    if got is None:
        raise ExerciseError(
            f"{call_text} returned None; expected a ({n},) tensor of indices. "
            "Did you forget `return`?"
        )
    if not isinstance(got, torch.Tensor):
        raise ExerciseError(
            f"{call_text} returned a {type(got).__name__}; expected a torch.Tensor "
            "of indices (torch.tensor(...) makes one from a list)."
        )
    if got.dtype == torch.bool:
        raise ExerciseError(
            f"{call_text} returned a boolean mask; expected the indices themselves "
            "(torch.nonzero or torch.where turns a mask into indices)."
        )
    if got.is_floating_point() or got.is_complex():
        raise ExerciseError(
            f"{call_text} returned {got.dtype} values; expected integer indices "
            "(torch.long)."
        )
    if got.shape != (n,):
        hint = ""
        if got.numel() == n * classes:
            hint = (
                f" n is the size of the whole subset ({n // classes} per class), "
                "not the number per class."
            )
        elif classes != 10:
            hint = (
                f" There are {classes} classes here (labels.max() + 1), not 10: "
                f"take n / {classes} of each."
            )
        raise ExerciseError(
            f"{call_text} returned shape {tuple(got.shape)}; expected ({n},): "
            f"n indices in all.{hint}"
        )
    got = got.long()
    bad = got[(got < 0) | (got >= len(labels))]
    if len(bad):
        raise ExerciseError(
            f"{call_text} returned index {int(bad[0])}, out of range for "
            f"{len(labels)} labels (0 to {len(labels) - 1})."
        )
    return got


def _first_n(got: torch.Tensor) -> bool:
    return torch.equal(got.sort().values, torch.arange(len(got)))


def _check_balance(got: torch.Tensor, labels: torch.Tensor, call_text, where) -> None:
    n, classes = len(got), int(labels.max()) + 1
    repeated = n - len(torch.unique(got))
    if repeated:
        raise ExerciseError(
            f"{call_text} on {where} repeats {repeated} indices: each image may be "
            "drawn once. Drawing with replacement (torch.randint, or "
            "torch.multinomial with replacement=True) repeats images; a random "
            "permutation does not."
        )
    counts = torch.bincount(labels[got], minlength=classes).tolist()
    if counts == [n // classes] * classes:
        return
    if _first_n(got):
        raise ExerciseError(
            f"{call_text} on {where} returned the first {n} indices (`[:n]`), "
            f"whose class counts are {counts}; expected {n // classes} of each. "
            "On a split stored class by class, the first images are all of the "
            "first classes: a learning curve on them would not be about digits."
        )
    raise ExerciseError(
        f"{call_text} on {where} has class counts {counts}; expected "
        f"{n // classes} of each. A random subset of n images is balanced only on "
        f"average: take n / {classes} images from each class."
    )


def _same_under_other_global_seeds(fn, labels, n, seed, name) -> tuple:
    """Two calls with the same arguments, torch's global generator seeded
    differently before each (its state is restored afterwards)."""
    state = torch.get_rng_state()
    try:
        torch.manual_seed(0)
        first = call(fn, labels.clone(), n, seed, name=name)
        torch.manual_seed(1)
        second = call(fn, labels.clone(), n, seed, name=name)
    finally:
        torch.set_rng_state(state)
    return first, second


def check_balanced_indices(balanced_indices: Callable) -> None:
    """Chapter 11, a class-balanced subset.

    Verifies that ``balanced_indices(labels, n, seed)`` returns a ``(n,)`` tensor
    of distinct indices into ``labels``, ``n / C`` of each of the ``C =
    labels.max() + 1`` classes, on MNIST-5k's training labels, on the same labels
    sorted by class (where the first ``n`` indices, ``[:n]``, are all 0s and 1s,
    a mistake named as such) and on two unequal classes (where a hard-coded 10
    classes fails). Then, on each: the same seed gives the same indices whatever
    torch's global generator did before (a draw from the global generator is
    caught), another seed gives other images (``[:n]`` on the interleaved split is
    named again), the subset of a smaller ``n`` lies inside that of a larger one,
    every prefix of ``k C`` indices is balanced (class 0, 1, ..., C - 1, then
    again), and the indices are those of
    ``minimodels.experiments.balanced_subset`` (seeded with ``seed``, or with the
    package's ``1234 + seed``).
    """
    name = "balanced_indices"
    cases = _index_cases()
    for where, labels, n, seed in cases:
        classes = int(labels.max()) + 1
        text = f"balanced_indices(labels, n={n}, seed={seed})"
        first, second = _same_under_other_global_seeds(
            balanced_indices, labels, n, seed, name
        )
        got = _as_indices(first, labels, n, text)
        _check_balance(got, labels, text, where)
        again = _as_indices(second, labels, n, text)
        if not torch.equal(got, again):
            raise ExerciseError(
                f"{text} on {where} returned other indices when called again with "
                "the same seed: it draws from torch's global random generator, "
                "which the rest of the program moves. Draw from your own "
                "generator, torch.Generator().manual_seed(seed), so that the seed "
                "alone decides the subset."
            )
        other = _as_indices(
            call(balanced_indices, labels.clone(), n, seed + 1, name=name),
            labels,
            n,
            f"balanced_indices(labels, n={n}, seed={seed + 1})",
        )
        if set(other.tolist()) == set(got.tolist()):
            mistake = (
                " It returns the first n indices (`[:n]`): balanced here only "
                "because MNIST-5k's split is stored class-interleaved (on a split "
                "stored class by class they would all be 0s and 1s), and the same "
                "images whatever the seed."
                if _first_n(got)
                else ""
            )
            raise ExerciseError(
                f"balanced_indices on {where} returned the same {n} images for "
                f"seed {seed} and seed {seed + 1}: the seed must choose the images, "
                "so that the spread over seeds includes which images were drawn."
                + mistake
            )
        smaller = n // (2 * classes) * classes
        inner = _as_indices(
            call(balanced_indices, labels.clone(), smaller, seed, name=name),
            labels,
            smaller,
            f"balanced_indices(labels, n={smaller}, seed={seed})",
        )
        outside = set(inner.tolist()) - set(got.tolist())
        if outside:
            raise ExerciseError(
                f"balanced_indices on {where}: {len(outside)} of the {smaller} "
                f"images for seed {seed} are not among its {n} images. Within a "
                "seed the subsets must be nested, so that a learning curve adds "
                "images rather than swapping them: draw one random order for all "
                "sizes and take the first n / C of each class in it."
            )
        if not torch.equal(labels[got], torch.arange(classes).repeat(n // classes)):
            raise ExerciseError(
                f"{text} on {where} is balanced as a whole but not in order: the "
                f"labels of the indices begin {labels[got][:12].tolist()}. "
                f"Interleave the classes, 0, 1, ..., {classes - 1}, then again, so "
                f"that every prefix of a multiple of {classes} indices is balanced "
                "too (what torch.stack(per_class, dim=1).reshape(-1) does)."
            )
        expected = [_package_indices(labels, n, s) for s in (seed - 1234, seed)]
        if any(torch.equal(got, e) for e in expected):
            continue
        if any(set(got.tolist()) == set(e.tolist()) for e in expected):
            raise ExerciseError(
                f"{text} on {where} has the right images in another order: keep "
                "each class's indices in the order of the random permutation "
                "(do not sort them)."
            )
        raise ExerciseError(
            f"{text} on {where} is balanced, seeded, nested and interleaved, but "
            "draws other images than minimodels.experiments.balanced_subset: draw "
            "one order of all indices, torch.randperm(len(labels), "
            "generator=torch.Generator().manual_seed(seed)), and keep, in that "
            "order, the first n / C indices of each class."
        )
    passed(
        name,
        f"balanced, distinct, seeded, nested and interleaved on {len(cases)} label "
        "sets, and the same images as minimodels.experiments.balanced_subset.",
    )


# --- Exercise 11.2: predict, then run ------------------------------------------

# How many of its own training images the ViT trained on the smallest set gets
# right: "nearly all" from NEARLY_ALL up; "about as many as of the test digits" up
# to SAME_POINTS points above its test accuracy; in between, the middle option.
NEARLY_ALL = 0.95
SAME_POINTS = 5

FIT_OPTIONS = {
    "a": f"nearly all of them ({NEARLY_ALL:.0%} or more)",
    "b": (
        "clearly more than of the test digits, but not nearly all (more than "
        f"{SAME_POINTS} points above its test accuracy, below {NEARLY_ALL:.0%})"
    ),
    "c": (
        "about as many as of the test digits (at most "
        f"{SAME_POINTS} points above its test accuracy)"
    ),
}


def _fit_answer(train_acc: float, test_acc: float) -> str:
    """The option of :data:`FIT_OPTIONS` that accuracies on the training images
    (``train_acc``) and on the test digits (``test_acc``) fall in."""
    # the slack absorbs float32 rounding: 95 right of 100 is 0.94999999 in float32
    if train_acc >= NEARLY_ALL - 1e-6:
        return "a"
    return "b" if 100 * (train_acc - test_acc) > SAME_POINTS + 1e-4 else "c"


def check_small_data_fit_prediction(
    predict: Callable,
    vit: nn.Module,
    cnn: nn.Module,
    train_set: TensorDataset,
    test_set: TensorDataset,
) -> None:
    """Chapter 11, predict then run: does the ViT trained on few images fit them?

    ``predict()`` returns "a", "b" or "c" of :data:`FIT_OPTIONS`: how many of its
    own training images (``train_set``) the trained ``vit`` classifies right,
    compared with the digits of ``test_set``. The prediction is read first (a stub
    fails at once); the check then measures both accuracies (evaluation mode), and
    the same for ``cnn``, trained on the same images, for comparison, picks the
    option (thresholds ``NEARLY_ALL`` and ``SAME_POINTS``) and compares.
    """
    from ..train import count_parameters, evaluate

    name = "small_data_fit_prediction"
    call(predict, name=name)  # before the measurement: a stub fails at once
    vit_train, vit_test = (evaluate(vit, d)[1] for d in (train_set, test_set))
    cnn_train, cnn_test = (evaluate(cnn, d)[1] for d in (train_set, test_set))
    n, m = len(train_set), len(test_set)
    answer = _fit_answer(vit_train, vit_test)
    if answer == "a":
        why = (
            f"{count_parameters(vit):,} parameters, trained for many passes over "
            f"{n} images, are enough to fit them all: the ViT's errors on new "
            "digits are a generalisation gap, not a failure to learn. "
            + (
                "The CNN fits its training images as well; what differs is which "
                "of the many functions that fit them each model ends with. "
                if cnn_train >= NEARLY_ALL
                else ""
            )
            + "Locality and weight sharing make the CNN's fit carry over to digits "
            "it has not seen; the ViT must learn that structure from the images, "
            "which is why it needs more of them (or a convolutional stem, or "
            "augmentation)."
        )
    else:
        why = (
            f"the ViT has not fit its own {n} training images: it is still "
            "learning them (too short a budget, or too small a model), so part of "
            "its error on new digits is a failure to fit, not only to generalise."
        )
    judge_prediction(
        name,
        predict,
        FIT_OPTIONS,
        answer,
        measured=(
            f"the ViT gets {vit_train:.1%} of its {n:,} training images right "
            f"and {vit_test:.1%} of the {m:,} test digits; the CNN trained on the "
            f"same images {cnn_train:.1%} and {cnn_test:.1%}"
        ),
        why=why,
    )


# --- Exercise 11.3: open-ended, what random shifts are worth in images ----------

WORTH_KEYS = ("rows", "answer")
WORTH_COLUMNS = (
    "target",
    "without shifts",
    "with shifts",
    "ratio (log)",
    "ratio (linear)",
)
WORTH_CURVES = ("ViT", "ViT + shifts")  # without, with
MIN_TARGETS = 3
RELATIVE = 0.01  # recomputed numbers must agree this closely (plus 1 image)


def _linear_size(curve, accuracy: float) -> float | None:
    """Like ``experiments.size_to_reach``, interpolating linearly in n."""
    pts = sorted((n, p.test_acc.mean) for n, p in curve.items())
    if pts[0][1] >= accuracy:
        return float(pts[0][0])
    for (n0, a0), (n1, a1) in zip(pts, pts[1:]):
        if a0 < accuracy <= a1:
            return n0 + (accuracy - a0) / (a1 - a0) * (n1 - n0)
    return None


def _number(value, what: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExerciseError(f"{what} is {value!r}; expected a number.")
    if not math.isfinite(value) or value <= 0:
        raise ExerciseError(f"{what} is {value!r}; expected a positive number.")
    return float(value)


def _close(got: float, expected: float, slack: float = 0.0) -> bool:
    return abs(got - expected) <= RELATIVE * abs(expected) + slack


def check_augmentation_worth_report(my_experiment: Callable, curves: dict) -> None:
    """Chapter 11, open-ended: what random shifts are worth to the ViT, in images.

    Verifies that ``my_experiment(curves)`` returns a dict with ``"rows"``: at
    least three rows (target accuracy, images the ViT needs without shifts, with
    shifts, their ratio with log-linear interpolation, and with linear
    interpolation), targets distinct fractions within the range both curves
    measure; the image counts equal ``experiments.size_to_reach`` on
    ``curves["ViT"]`` and ``curves["ViT + shifts"]`` and each ratio its own
    interpolation's (within 1% and one image); and ``"answer"``, an argument
    of at least 20 words. Prints the table and the answer; the argument is
    graded by hand.
    """
    from ..experiments import size_to_reach

    name = "augmentation_worth_report"
    report = hand_in(my_experiment, WORTH_KEYS, curves)
    rows = report["rows"]
    if not isinstance(rows, (list, tuple)) or len(rows) < MIN_TARGETS:
        size = len(rows) if isinstance(rows, (list, tuple)) else type(rows).__name__
        raise ExerciseError(
            f"report['rows'] has {size} rows; expected a list of at least "
            f"{MIN_TARGETS}, one per target accuracy."
        )
    without, shifted = (curves[k] for k in WORTH_CURVES)
    first = max(min(curve.items())[1].test_acc.mean for curve in (without, shifted))
    top = min(
        max(p.test_acc.mean for p in curve.values()) for curve in (without, shifted)
    )
    table, targets = [], []
    for i, row in enumerate(rows):
        where = f"row {i}"
        if not isinstance(row, (list, tuple)) or len(row) != len(WORTH_COLUMNS):
            raise ExerciseError(
                f"report['rows'][{i}] is {row!r}; expected {len(WORTH_COLUMNS)} "
                f"numbers: {', '.join(WORTH_COLUMNS)}."
            )
        target, n_without, n_with, ratio_log, ratio_linear = (
            _number(v, f"report['rows'][{i}]: {column}")
            for v, column in zip(row, WORTH_COLUMNS)
        )
        if target >= 1:
            raise ExerciseError(
                f"{where}: target {target:g}; give accuracies as fractions "
                "(0.85), not percent."
            )
        if not first < target <= top:
            raise ExerciseError(
                f"{where}: target {target:.1%} is outside the range both curves "
                f"measure ({first:.1%} to {top:.1%}). Below a curve's first point "
                "the size is only a bound (that many images or fewer), above its "
                "last the model does not get there: neither gives a ratio."
            )
        targets.append(target)
        for got, curve, label in (
            (n_without, without, "without"),
            (n_with, shifted, "with"),
        ):
            expected = size_to_reach(curve, target)
            if not _close(got, expected, slack=1.0):
                raise ExerciseError(
                    f"{where}: the ViT {label} shifts reaches {target:.1%} at "
                    f"{expected:,.0f} images by log-linear interpolation "
                    f"(experiments.size_to_reach); the row says {got:,.1f}. "
                    "Give the numbers as computed, unrounded."
                )
        if not _close(ratio_log, n_without / n_with):
            raise ExerciseError(
                f"{where}: ratio (log) is {ratio_log:.3g}; the row's images give "
                f"{n_without / n_with:.3g} (without shifts / with shifts)."
            )
        linear = _linear_size(without, target) / _linear_size(shifted, target)
        if not _close(ratio_linear, linear):
            raise ExerciseError(
                f"{where}: ratio (linear) is {ratio_linear:.3g}; interpolating "
                f"linearly in n (n0 + t (n1 - n0) between the two sizes around "
                f"the target) gives {linear:.3g}."
            )
        table.append(
            f"{target:>7.1%} {n_without:>15,.0f} {n_with:>12,.0f} "
            f"{ratio_log:>11.2f}x {ratio_linear:>13.2f}x"
        )
    if len(set(targets)) < len(targets):
        raise ExerciseError(
            f"report['rows'] repeats a target: expected {MIN_TARGETS} or more "
            "different target accuracies."
        )
    answer = argument(report)
    header = (
        f"{'target':>7} {'without shifts':>15} {'with shifts':>12} "
        f"{'ratio (log)':>12} {'ratio (linear)':>14}"
    )
    print("\n".join([header, *table]))
    print(textwrap.fill(answer, width=88))
    passed(
        name,
        f"complete ({len(rows)} targets, the numbers agree with the curves); "
        "the argument is graded by hand.",
    )
