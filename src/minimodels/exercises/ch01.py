"""Exercise checks of chapter 01 (Images as tensors)."""

from __future__ import annotations

from typing import Callable

import torch

from .core import (
    ExerciseError,
    accuracy_drop_answer,
    accuracy_drop_options,
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
    "check_mean_images",
    "check_nearest_mean",
    "SHUFFLE_OPTIONS",
    "check_shuffle_prediction",
    "check_nearest_mean_report",
]


def _mean_images_reference(
    images: torch.Tensor, labels: torch.Tensor, num_classes: int
) -> torch.Tensor:
    return torch.stack([images[labels == k, 0].mean(0) for k in range(num_classes)])


def check_mean_images(
    mean_images: Callable, images: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Chapter 01, mean image per digit.

    Verifies that ``mean_images(images, labels)`` returns a ``(10, H, W)``
    tensor whose row ``k`` is the pixel-wise mean of the images labelled ``k``:
    on the given MNIST images, and on a small random batch with a different
    size (so a hard-coded 28 or 4,000 is caught). Returns the result on the
    given images, for plotting.
    """
    g = torch.Generator().manual_seed(1)
    small_labels = torch.arange(30) % 10
    small = torch.rand(30, 1, 5, 7, generator=g)
    for x, y, what in [
        (small, small_labels, "a random (30, 1, 5, 7) batch"),
        (images, labels, "MNIST"),
    ]:
        got = call(mean_images, x, y, name="mean_images")
        compare(
            got,
            _mean_images_reference(x, y, 10),
            name=f"mean_images on {what}",
            hint=(
                "select the images of one digit with a boolean mask, labels == k, "
                "then average over dim 0."
            ),
        )
    passed("mean_images", "correct on a random batch and on MNIST.")
    return got


def check_nearest_mean(
    nearest_mean: Callable, class_means: torch.Tensor, images: torch.Tensor
) -> torch.Tensor:
    """Chapter 01, the nearest-mean classifier.

    Verifies that ``nearest_mean(images, class_means)`` returns, for ``(B, 1, H, W)``
    images and ``(10, H, W)`` mean images, the ``(B,)`` index of the mean image
    nearest to each image in Euclidean distance: on the chapter's images and means,
    and on random images of another size and batch. Taking the *farthest* mean
    (argmax) is named. Returns the predictions on the chapter's images.
    """
    g = torch.Generator().manual_seed(11)
    cases = [
        ("the chapter's test images", images, class_means),
        ("7 random 5x6 images", torch.rand(7, 1, 5, 6, generator=g), None),
    ]
    result = None
    for what, x, means in cases:
        if means is None:
            means = torch.rand(10, 5, 6, generator=g)
        distances = torch.cdist(x.flatten(1), means.flatten(1))  # (B, 10)
        expected = distances.argmin(dim=1)
        got = call(nearest_mean, x.clone(), means.clone(), name="nearest_mean")
        if isinstance(got, torch.Tensor) and got.shape == expected.shape:
            if not torch.equal(got.long(), expected):
                if torch.equal(got.long(), distances.argmax(dim=1)):
                    raise ExerciseError(
                        f"nearest_mean on {what} picked the *farthest* mean "
                        "(argmax); the nearest has the smallest distance (argmin)."
                    )
                wrong = int((got.long() != expected).sum())
                raise ExerciseError(
                    f"nearest_mean on {what}: {wrong} of {len(x)} predictions differ "
                    "from the index of the nearest mean image (Euclidean distance "
                    "over all pixels)."
                )
        else:
            compare(got, expected.float(), name=f"nearest_mean on {what}")
        if result is None:
            result = got.long()
    passed("nearest_mean", "the nearest mean image, on MNIST and on random images.")
    return result


SHUFFLE_OPTIONS = accuracy_drop_options("on real digits")


def check_shuffle_prediction(
    predict: Callable, baseline_acc: float, measure: Callable[[], float]
) -> float:
    """Chapter 01, predict then run: an MLP on digits with shuffled pixels.

    ``predict()`` returns "a", "b" or "c" of :data:`SHUFFLE_OPTIONS`: how the test
    accuracy of the MLP changes when every image's pixels are shuffled by one fixed
    permutation. ``measure()`` trains the MLP on shuffled digits and returns its test
    accuracy; the drop from ``baseline_acc`` picks the option. Returns the measured
    accuracy.
    """
    shuffled_acc = float(measure())
    answer, drop = accuracy_drop_answer(baseline_acc, shuffled_acc)
    judge_prediction(
        "shuffle_prediction",
        predict,
        SHUFFLE_OPTIONS,
        answer,
        measured=(
            f"{baseline_acc:.1%} on real digits, {shuffled_acc:.1%} on shuffled ones "
            f"({drop})"
        ),
        why=(
            "the MLP's first layer gives every pixel its own weights and nothing in "
            "it knows which pixels are neighbours. A fixed shuffle only reorders its "
            "inputs: the same network with its input weights reordered solves the "
            "shuffled task exactly as well as the real one. Whether training finds "
            "such a network is what the measurement shows."
        ),
    )
    return shuffled_acc


# --- Open-ended exercises: the hand-in, checked for completeness -----------------
# The shared checks of a hand-in (hand_in, number, table, argument, print_hand_in,
# graded_by_hand) live in core.py.

NEAREST_MEAN_KEYS = ("val_acc", "chosen", "test_acc", "answer")


def check_nearest_mean_report(
    my_experiment: Callable,
    class_means: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
) -> dict:
    """Chapter 01, open-ended: a better nearest-mean rule.

    Verifies that ``my_experiment()`` returns a dict with ``"val_acc"``, a table
    of at least three variants of the nearest-mean rule (name -> accuracy on the
    validation split, a fraction in [0, 1]) that includes ``"euclidean"``, the
    chapter's rule; ``"chosen"``, one of those names; ``"test_acc"``, the chosen
    variant's test accuracy; and ``"answer"``, at least 20 words. Recomputes the
    ``"euclidean"`` row from ``class_means`` on ``x_val``: another number means the
    table was not measured on the validation split. Prints the hand-in and
    returns it; the argument is graded by hand.
    """
    name = "my_experiment"
    report, rows = table(my_experiment, NEAREST_MEAN_KEYS, min_rows=3, name=name)
    accs = {
        variant: number(acc, f"val_acc[{variant!r}]", 0, 1)
        for variant, acc in rows.items()
    }
    if "euclidean" not in accs:
        raise ExerciseError(
            f"{name}'s 'val_acc' has no 'euclidean' row: include the chapter's "
            "rule (Euclidean distance to the mean images), the baseline every "
            "variant is compared with."
        )
    distances = torch.cdist(x_val.flatten(1), class_means.flatten(1))  # (B, 10)
    euclidean = (distances.argmin(1) == y_val).float().mean().item()
    if abs(accs["euclidean"] - euclidean) > 1.5 / len(y_val):  # one image apart
        raise ExerciseError(
            f"val_acc['euclidean'] is {accs['euclidean']:.4f}, but the chapter's "
            f"nearest mean classifies {euclidean:.4f} of the {len(y_val)} validation "
            "images correctly: measure every variant on the validation split "
            "(x_val, y_val); the test split only reports the chosen one."
        )
    chosen = report["chosen"]
    if not isinstance(chosen, str) or chosen not in accs:
        raise ExerciseError(
            f"{name}'s 'chosen' is {chosen!r}; expected the name of one "
            f"of your variants: {', '.join(map(repr, accs))}."
        )
    test_acc = number(report["test_acc"], "test_acc", 0, 1)
    answer = argument(report, name)
    print_hand_in(
        ["variant", "validation accuracy", ""],
        [
            [str(v), f"{a:.1%}", "chosen" if v == chosen else ""]
            for v, a in accs.items()
        ],
        answer,
        f"test accuracy of {chosen!r}, measured once: {test_acc:.1%}",
    )
    graded_by_hand(name)
    return report
