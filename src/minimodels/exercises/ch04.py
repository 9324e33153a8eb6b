"""Exercise checks of chapter 04 (A CNN from scratch)."""

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
    whole_number,
)

__all__ = [
    "check_conv_parameters",
    "check_confusion_matrix",
    "TRAIN_MODE_OPTIONS",
    "check_train_mode_prediction",
    "check_cnn_variant_report",
]


def check_conv_parameters(conv_parameters: Callable) -> None:
    """Chapter 04, parameters of a convolution layer.

    Verifies that ``conv_parameters(in_channels, out_channels, kernel_size, bias)``
    returns ``out * in * K * K (+ out if bias)`` for seven layers, including
    1x1 and 5x5 kernels, with and without bias, and the layers of SmallCNN;
    the answer must not depend on the image size (it is not an argument).
    """
    cases = [
        (1, 16, 3, False),
        (16, 32, 3, True),
        (3, 64, 7, True),
        (64, 64, 1, False),
        (8, 4, 5, True),
        (32, 64, 3, False),
        (1, 1, 1, True),
    ]
    for c_in, c_out, k, bias in cases:
        got = call(conv_parameters, c_in, c_out, k, bias, name="conv_parameters")
        expected = c_out * c_in * k * k + (c_out if bias else 0)
        if got != expected:
            hint = ""
            if got == c_out * c_in * k * k and bias:
                hint = " Did you forget the bias (one per output channel)?"
            elif got == c_in * k * k + (c_out if bias else 0):
                hint = (
                    " Every output channel has its own kernel over all input channels."
                )
            raise ExerciseError(
                f"conv_parameters(in_channels={c_in}, out_channels={c_out}, "
                f"kernel_size={k}, bias={bias}) "
                f"returned {got!r}; expected {expected}.{hint}"
            )
    passed("conv_parameters", f"correct on {len(cases)} layers.")


def check_confusion_matrix(
    confusion_matrix: Callable, predictions: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Chapter 04, the confusion matrix.

    Verifies that ``confusion_matrix(predictions, labels)`` returns a
    ``(10, 10)`` integer tensor whose entry ``[i, j]`` counts the images of
    true class ``i`` predicted as ``j`` (rows are the truth), on a hand-made
    example where rows and columns are easy to swap and on the given
    predictions. Returns the matrix of the given predictions.
    """
    small_pred = torch.tensor([0, 1, 1, 2, 9, 9])
    small_true = torch.tensor([0, 0, 1, 2, 9, 3])
    for pred, true, what in [
        (small_pred, small_true, "a hand-made example"),
        (predictions, labels, "the test set"),
    ]:
        got = call(confusion_matrix, pred, true, name="confusion_matrix")
        expected = torch.zeros(10, 10, dtype=torch.long)
        expected.index_put_((true, pred), torch.ones_like(true), accumulate=True)
        if (
            isinstance(got, torch.Tensor)
            and got.shape == (10, 10)
            and torch.equal(got.long(), expected.T)
        ):
            raise ExerciseError(
                f"confusion_matrix on {what} is transposed: rows must be the true "
                "class, columns the prediction."
            )
        compare(
            got,
            expected,
            name=f"confusion_matrix on {what}",
            atol=0,
            rtol=0,
            hint=(
                "count with a loop over (true, predicted) pairs, or with "
                "index_put_(..., accumulate=True)."
            ),
        )
    passed("confusion_matrix", "correct on a hand-made example and on the test set.")
    return got.long()


TRAIN_MODE_OPTIONS = accuracy_drop_options("in evaluation mode")


def check_train_mode_prediction(
    predict: Callable,
    model: torch.nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
) -> None:
    """Chapter 04, predict then run: a CNN with batch norm left in training mode.

    ``predict()`` returns "a", "b" or "c" of :data:`TRAIN_MODE_OPTIONS`: how the
    accuracy on ``images`` changes when the trained ``model`` is left in training
    mode and classifies them one image at a time. The check then measures it, on
    a copy of the model (training mode updates the running averages; ``model``
    stays as it was), picks the option the drop falls in, and compares.
    """
    import copy

    from ..train import eval_mode

    with torch.no_grad():
        with eval_mode(model):
            eval_acc = (model(images).argmax(1) == labels).float().mean().item()
        loose = copy.deepcopy(model).train()
        one_by_one = torch.cat([loose(x).argmax(1) for x in images.split(1)])
        train_acc = (one_by_one == labels).float().mean().item()
    answer, drop = accuracy_drop_answer(eval_acc, train_acc)
    judge_prediction(
        "train_mode_prediction",
        predict,
        TRAIN_MODE_OPTIONS,
        answer,
        measured=(
            f"{eval_acc:.1%} in evaluation mode, {train_acc:.1%} in training mode "
            f"one image at a time ({drop})"
        ),
        why=(
            "in training mode, batch normalisation normalises each channel with the "
            "statistics of the batch. With one image, that is over its own positions "
            "only, which erases how strongly each feature fired on this image compared "
            "with other images: much of what tells the digits apart. The running "
            "averages used in evaluation mode keep it."
        ),
    )


CNN_VARIANT_KEYS = ("results", "train_images", "epochs", "answer")
BASELINE_CNN = "SmallCNN"  # the recipe's model, trained like the variants
TRAIN_IMAGES = 3500  # MNIST-5k's training split; the validation split measures
RESULT_COLUMNS = ("params", "val_acc", "seconds")


def check_cnn_variant_report(my_experiment: Callable) -> dict:
    """Chapter 04, open-ended: one change to SmallCNN, trained briefly.

    Verifies that ``my_experiment()`` returns a dict with ``"results"``, a table of
    at least two models (name -> a dict with ``"params"``, the trainable parameter
    count, an int; ``"val_acc"``, the accuracy on the validation split, in [0, 1];
    ``"seconds"``, the training time), one of them ``"SmallCNN"``, the recipe's
    model; ``"train_images"`` and ``"epochs"``, the budget every model trained
    with (at most the 3,500 images of the training split: the validation
    split measures, so it must not train);
    and ``"answer"``, at least 20 words. Recomputes the parameter count of the
    ``"SmallCNN"`` row from the recipe. Prints the hand-in and returns it; the
    argument is graded by hand.
    """
    from ..cnn import SmallCNN
    from ..recipes import RECIPES
    from ..train import count_parameters

    name = "my_experiment"
    report, rows = table(my_experiment, CNN_VARIANT_KEYS, min_rows=2, name=name)
    results = {}
    for model, row in rows.items():
        where = f"results[{model!r}]"
        if not isinstance(row, dict) or not set(RESULT_COLUMNS) <= set(row):
            raise ExerciseError(
                f"{where} is {row!r}; expected a dict with the keys "
                f"{', '.join(map(repr, RESULT_COLUMNS))}."
            )
        results[model] = {
            "params": whole_number(row["params"], f"{where}['params']", 1, 10**9),
            "val_acc": number(row["val_acc"], f"{where}['val_acc']", 0, 1),
            "seconds": number(row["seconds"], f"{where}['seconds']", 0),
        }
    if BASELINE_CNN not in results:
        raise ExerciseError(
            f"{name}'s 'results' has no {BASELINE_CNN!r} row: train the recipe's "
            "model with the same budget, the baseline your change is compared with."
        )
    expected = count_parameters(SmallCNN(**RECIPES["cnn"].model))
    if results[BASELINE_CNN]["params"] != expected:
        raise ExerciseError(
            f"results[{BASELINE_CNN!r}]['params'] is "
            f"{results[BASELINE_CNN]['params']:,}; the recipe's SmallCNN "
            f"(build('cnn')) has {expected:,} trainable parameters."
        )
    if (
        isinstance(report["train_images"], int)
        and report["train_images"] > TRAIN_IMAGES
    ):
        raise ExerciseError(
            f"train_images is {report['train_images']:,}; the training split has "
            f"{TRAIN_IMAGES:,}. The validation split measures the models, so it must "
            "not train them."
        )
    images = whole_number(report["train_images"], "train_images", 1, TRAIN_IMAGES)
    epochs = whole_number(report["epochs"], "epochs", 1, 1000)
    answer = argument(report, name)
    print_hand_in(
        ["model", "parameters", "validation accuracy", "training seconds"],
        [
            [
                str(model),
                f"{row['params']:,}",
                f"{row['val_acc']:.1%}",
                f"{row['seconds']:.1f}",
            ]
            for model, row in results.items()
        ],
        answer,
        f"budget: {epochs} epoch(s) on {images:,} training images",
    )
    graded_by_hand(name)
    return report
