"""Exercise checks of chapter 01 (Images as tensors)."""

from __future__ import annotations

from typing import Callable

import torch

from .core import (
    ExerciseError,
    accuracy_drop_answer,
    accuracy_drop_options,
    call,
    compare,
    judge_prediction,
    passed,
)

__all__ = [
    "check_mean_images",
    "check_nearest_mean",
    "SHUFFLE_OPTIONS",
    "check_shuffle_prediction",
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
