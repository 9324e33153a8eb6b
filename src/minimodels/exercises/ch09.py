"""Exercise checks of chapter 09 (Parameter efficiency)."""

from __future__ import annotations

import copy
from typing import Callable

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..locally_connected import LocallyConnected2d
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
)

__all__ = [
    "check_locally_connected",
    "check_unshared_filters_report",
    "PATCH_SHUFFLE_OPTIONS",
    "check_patch_shuffle_prediction",
]


# --- Exercise 9.1: a locally connected layer -----------------------------------


def _locally_connected_cases() -> list[tuple[str, LocallyConnected2d, torch.Tensor]]:
    """(what, layer, images), from a convolution in disguise to the awkward cases."""
    # the layers draw their random weights: leave the caller's random state alone
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(9)
        g = torch.Generator().manual_seed(9)
        conv = nn.Conv2d(2, 3, 3, padding=1)
        cases = [
            (
                "every position holding the same filters (a convolution, "
                "checked against F.conv2d)",
                LocallyConnected2d.from_conv(conv, 6),
                torch.randn(2, 2, 6, 6, generator=g),
            ),
            (
                "one channel, 3x3 windows, no padding",
                LocallyConnected2d(1, 4, 3, 7),
                torch.randn(3, 1, 7, 7, generator=g),
            ),
            (
                "three channels, stride 2, padding 1",
                LocallyConnected2d(3, 2, 3, 8, stride=2, padding=1),
                torch.randn(2, 3, 8, 8, generator=g),
            ),
            (
                "2x2 windows, stride 2, no bias",
                LocallyConnected2d(2, 5, 2, 6, stride=2, bias=False),
                torch.randn(2, 2, 6, 6, generator=g),
            ),
            (
                "5x5 windows, padding 2 (SmallCNN's 'same' padding)",
                LocallyConnected2d(2, 3, 5, 9, padding=2),
                torch.randn(2, 2, 9, 9, generator=g),
            ),
        ]
        return cases


def _with_weight(layer: LocallyConnected2d, weight: torch.Tensor) -> LocallyConnected2d:
    """``layer``'s weight replaced by ``weight``: a copy, for the mistakes' outputs."""
    other = copy.deepcopy(layer)
    with torch.no_grad():
        other.weight.copy_(weight)
    return other


def _mistakes(layer: LocallyConnected2d, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """What the classic mistakes return on ``x``, each with the message naming it."""
    w, n, K = layer.weight, layer.output_size, layer.kernel_size
    with torch.no_grad():
        expected = layer(x)
        no_bias = expected if layer.bias is None else expected - layer.bias
        out = {
            "one filter bank for every position: position l has its own filters, "
            "weight[l]; using weight[0] (or any one of them) everywhere is a "
            "convolution, the weight sharing this layer takes away.": _with_weight(
                layer, w[:1].expand_as(w)
            )(x),
            "your output is transposed: position l = i * W_out + j is output row i, "
            "column j (F.unfold lists the windows row by row, like reading).": (
                expected.transpose(-1, -2)
            ),
            "windows paired with the wrong positions' filters: you read the "
            "positions column by column, but l = i * W_out + j counts them row by "
            "row, the order F.unfold lists the windows in.": _with_weight(
                layer,
                rearrange(w, "(j i) o k -> (i j) o k", i=n),
            )(x),
            "each window is flattened in another order than the filters: "
            "flatten it as (channel, window row, window column), the order "
            "F.unfold uses, not with the channel last.": _with_weight(
                layer,
                rearrange(
                    w, "l o (u v c) -> l o (c u v)", u=K, v=K, c=layer.in_channels
                ),
            )(x),
        }
        if layer.bias is not None:
            out[
                "the bias is missing: add bias, one number per output channel *and* "
                "position, shape (C_out, H_out, W_out)."
            ] = no_bias
            out[
                "the bias is added at the wrong positions: it has shape "
                "(C_out, H_out, W_out), rows first, like the output."
            ] = no_bias + layer.bias.transpose(-1, -2)
            out[
                "one bias per output channel is not enough: every position has its "
                "own, bias[:, i, j]."
            ] = no_bias + layer.bias[:, :1, :1]
    return out


def check_locally_connected(locally_connected: Callable) -> None:
    """Chapter 09, a locally connected layer's forward pass.

    Verifies that ``locally_connected(images, weight, bias, kernel_size, stride,
    padding)`` computes what :class:`minimodels.locally_connected.LocallyConnected2d`
    computes with that weight ``(L, C_out, C*K*K)`` and bias ``(C_out, H_out,
    W_out)`` (or None), on five layers: every position holding one convolution's
    filters (compared with ``F.conv2d``), one to three input channels, 2x2, 3x3
    and 5x5 windows, strides 1 and 2, paddings 0 to 2, with and without bias. All
    weights and biases are random, so each classic mistake changes the output; the
    message names it: one filter bank for every position (sharing), a transposed
    output, positions read column by column, windows flattened with the channel
    last, a missing bias, a transposed bias and one bias per channel only.
    """
    cases = _locally_connected_cases()
    for what, layer, x in cases:
        K, S, P = layer.kernel_size, layer.stride, layer.padding
        bias = None if layer.bias is None else layer.bias.detach().clone()
        name = (
            f"locally_connected on {what} (images {tuple(x.shape)}, weight "
            f"{tuple(layer.weight.shape)}, kernel_size={K}, stride={S}, padding={P})"
        )
        try:
            got = call(
                locally_connected,
                x.clone(),
                layer.weight.detach().clone(),
                bias,
                K,
                S,
                P,
                name="locally_connected",
            )
        except ExerciseError as err:
            if "not written yet" in str(err):
                raise
            raise ExerciseError(f"{name}: {err}") from err.__cause__
        with torch.no_grad():
            expected = layer(x)
            if what.startswith("every position"):
                kernel = layer.weight[0].view(layer.out_channels, -1, K, K)
                expected = F.conv2d(x, kernel, layer.bias[:, 0, 0], S, P)
        if (
            isinstance(got, torch.Tensor)
            and got.shape == expected.shape
            and not torch.allclose(got.detach().double(), expected.double(), atol=1e-4)
        ):
            for message, wrong in _mistakes(layer, x).items():
                if torch.allclose(got.detach().double(), wrong.double(), atol=1e-4):
                    raise ExerciseError(f"{name}: {message}")
        n = layer.output_size
        compare(
            got,
            expected,
            name=name,
            atol=1e-4,
            hint=(
                f"the output is (B, C_out, H_out, W_out) with H_out = W_out = "
                f"(H + 2 * padding - K) // stride + 1 = {n} here; F.unfold(images, "
                "kernel_size, padding=padding, stride=stride) gives every window, "
                "(B, C*K*K, L), and position l multiplies its window by weight[l]."
            ),
        )
    passed(
        "locally_connected",
        f"matches LocallyConnected2d on {len(cases)} layers, and F.conv2d when every "
        "position holds the same filters.",
    )


# --- Exercise 9.2: open-ended, is the unshared CNN a convolution in disguise? ---

_REPORT_LAYER_KEYS = (
    "positions",
    "parameters",
    "shared_parameters",
    "similarity",
    "similarity_at_init",
    "accuracy_shared",
)


def check_unshared_filters_report(
    my_experiment: Callable,
    model: nn.Module,
    model_at_init: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
) -> dict:
    """Chapter 09, open-ended: is the CNN without weight sharing a convolution in
    disguise?

    Calls ``my_experiment(model, model_at_init, images, labels)`` on copies (the
    chapter's models stay as they were) and verifies the hand-in is complete and
    coherent: a ``"measure"`` sentence, one row in ``"layers"`` per
    :class:`~minimodels.locally_connected.LocallyConnected2d` of ``model``, in
    order, whose ``positions``, ``parameters`` and ``shared_parameters`` equal the
    layer's (recounted here), ``similarity`` and ``similarity_at_init`` in
    [-1, 1], ``accuracy_shared`` in [0, 1]; ``"accuracy"`` equal to the model's
    accuracy on ``images`` (recomputed, within half a point), and an ``"answer"``
    of at least 20 words. Prints the table; the argument is graded by hand.
    Returns the hand-in.
    """
    layers = [m for m in model.modules() if isinstance(m, LocallyConnected2d)]
    with torch.no_grad():
        was_training = model.training
        model.eval()
        accuracy = (model(images).argmax(1) == labels).float().mean().item()
        model.train(was_training)
    report = hand_in(
        my_experiment,
        ("measure", "layers", "accuracy", "answer"),
        copy.deepcopy(model),
        copy.deepcopy(model_at_init),
        images.clone(),
        labels.clone(),
    )
    measure = report["measure"]
    if not isinstance(measure, str) or len(measure.split()) < 5:
        raise ExerciseError(
            '"measure" must say in a sentence how you measure how alike the '
            "filters are and what your intervention does."
        )
    rows = report["layers"]
    if not isinstance(rows, (list, tuple)) or len(rows) != len(layers):
        got = len(rows) if isinstance(rows, (list, tuple)) else type(rows).__name__
        raise ExerciseError(
            f'"layers" must be a list of {len(layers)} rows, one per locally connected '
            f"layer of the model in order; got {got}."
        )
    for k, (row, layer) in enumerate(zip(rows, layers), start=1):
        where = f"layer {k}"
        if not isinstance(row, dict):
            raise ExerciseError(
                f"{where}'s row is a {type(row).__name__}; expected a dict."
            )
        missing = [key for key in _REPORT_LAYER_KEYS if key not in row]
        if missing:
            raise ExerciseError(
                f"{where}'s row has no {', '.join(map(repr, missing))}."
            )
        counts = {
            "positions": layer.output_size**2,
            "parameters": layer.weight.numel(),
            "shared_parameters": layer.weight[0].numel(),
        }
        for key, expected in counts.items():
            if row[key] != expected:
                raise ExerciseError(
                    f'{where}: "{key}" is {row[key]!r}; the layer has {expected:,} '
                    f"(its weight is {tuple(layer.weight.shape)}: positions, output "
                    "channels, C*K*K)."
                )
        for key in ("similarity", "similarity_at_init"):
            number(row[key], f'{where}: "{key}"', -1.0, 1.0)
        number(row["accuracy_shared"], f'{where}: "accuracy_shared"', 0.0, 1.0)
    got_accuracy = number(report["accuracy"], '"accuracy"', 0.0, 1.0)
    if abs(got_accuracy - accuracy) > 0.005:
        raise ExerciseError(
            f'"accuracy" is {got_accuracy:.1%}, but the model classifies '
            f"{accuracy:.1%} of the {len(labels)} images it was given correctly: "
            "measure on those images, in evaluation mode."
        )
    answer = argument(report)
    lines = [
        f"{'layer':>5} {'positions':>9} {'parameters':>10} {'shared':>6} "
        f"{'similarity':>10} {'at init':>7} {'accuracy shared':>15}"
    ]
    for k, row in enumerate(rows, start=1):
        lines.append(
            f"{k:>5} {row['positions']:>9,} {row['parameters']:>10,} "
            f"{row['shared_parameters']:>6,} {float(row['similarity']):>10.3f} "
            f"{float(row['similarity_at_init']):>7.3f} "
            f"{float(row['accuracy_shared']):>15.1%}"
        )
    print(f"measure: {measure}")
    print("\n".join(lines))
    print(f"accuracy as trained: {got_accuracy:.1%}")
    print(f"answer: {answer}")
    graded_by_hand("unshared_filters_report")
    return report


# --- Exercise 9.3: predict, then run: shuffle the pixels inside every patch ------

# The seed of the one permutation of a patch's pixels; the prediction is "a" when at
# least SAME_PREDICTIONS of the digits keep their prediction (float rounding may flip
# a near tie), "c" when the accuracy falls by more than COLLAPSE_POINTS, "b" otherwise.
PATCH_SHUFFLE_SEED = 0
SAME_PREDICTIONS = 0.99
COLLAPSE_POINTS = 20

PATCH_SHUFFLE_OPTIONS = {
    "a": "exactly as accurate: the same prediction for every test digit, up to "
    f"rounding (at least {SAME_PREDICTIONS:.0%} of them unchanged)",
    "b": "a little different: some predictions change, but the accuracy falls by "
    f"at most {COLLAPSE_POINTS} points",
    "c": f"far less accurate: more than {COLLAPSE_POINTS} points lower",
}


def _shuffle_within_patches(
    images: torch.Tensor, patch_size: int, order: torch.Tensor
) -> torch.Tensor:
    """``images`` (B, C, H, W) with the P * P pixels of every patch reordered by
    ``order``: pixel k of each patch (row by row) becomes its pixel ``order[k]``."""
    P = patch_size
    patches = rearrange(images, "b c (h p1) (w p2) -> b c h w (p1 p2)", p1=P, p2=P)
    return rearrange(
        patches[..., order], "b c h w (p1 p2) -> b c (h p1) (w p2)", p1=P, p2=P
    )


def _patch_shuffle_answer(same: float, before: float, after: float) -> str:
    """The option of :data:`PATCH_SHUFFLE_OPTIONS` for a share ``same`` of unchanged
    predictions and accuracies ``before`` and ``after``."""
    if same >= SAME_PREDICTIONS:
        return "a"
    return "c" if 100 * (before - after) > COLLAPSE_POINTS else "b"


def check_patch_shuffle_prediction(
    predict: Callable,
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
) -> None:
    """Chapter 09, predict then run: the pixels inside every patch shuffled, and
    the patch embedding's weights with them.

    ``predict()`` returns "a", "b" or "c" of :data:`PATCH_SHUFFLE_OPTIONS`. The
    check draws one permutation of a patch's P * P pixels (seed
    :data:`PATCH_SHUFFLE_SEED`), shuffles every patch of ``images`` with it, and
    permutes the columns of the trained ViT's linear patch embedding the same way
    (on a copy: ``model`` stays as it was). It measures the share of digits whose
    prediction is unchanged and both accuracies, picks the option and compares;
    the message also gives the accuracy of the unchanged model on the shuffled
    digits, for contrast.
    """
    P, C = model.patch_size, model.in_channels
    proj = model.patch_embed.proj  # nn.Linear(P * P * C, D), inputs (p1 p2 c)
    order = torch.randperm(
        P * P, generator=torch.Generator().manual_seed(PATCH_SHUFFLE_SEED)
    )
    shuffled_model = copy.deepcopy(model).eval()
    columns = rearrange(torch.arange(P * P * C), "(k c) -> k c", c=C)[order].flatten()
    shuffled = _shuffle_within_patches(images, P, order)
    with torch.no_grad():
        shuffled_model.patch_embed.proj.weight.copy_(proj.weight[:, columns])
        was_training = model.training
        model.eval()
        logits, logits_shuffled = model(images), shuffled_model(shuffled)
        plain = (model(shuffled).argmax(1) == labels).float().mean().item()
        model.train(was_training)
    before = (logits.argmax(1) == labels).float().mean().item()
    after = (logits_shuffled.argmax(1) == labels).float().mean().item()
    same_count = int((logits.argmax(1) == logits_shuffled.argmax(1)).sum())
    same = same_count / len(labels)
    difference = (logits - logits_shuffled).abs().max().item()
    judge_prediction(
        "patch_shuffle_prediction",
        predict,
        PATCH_SHUFFLE_OPTIONS,
        _patch_shuffle_answer(same, before, after),
        measured=(
            f"{before:.1%} on the digits, {after:.1%} on the shuffled digits with "
            f"the shuffled weights; the same prediction for {same_count:,} of "
            f"{len(labels):,} digits (largest logit difference {difference:.1g}). "
            f"The unchanged ViT on the shuffled digits: {plain:.1%}"
        ),
        why=(
            "the patch embedding is one linear map of a patch's pixels: it multiplies "
            "pixel k by column k of its weight and adds the products, and a sum does "
            "not depend on the order of its terms. Shuffle the pixels and the columns "
            "alike and every token is the same, so is everything after it (up to "
            "rounding). Inside a patch the ViT has no notion of which pixels are "
            "neighbours, like chapter 1's MLP: trained without shifts (like this "
            "chapter's sweep), a ViT learns digits shuffled this way exactly as well "
            "as the originals, since the shuffled initialisation is as likely as the "
            "original one. Its locality prior is only which pixels share a patch; a "
            "CNN's 3 x 3 windows assume neighbours at every layer."
        ),
    )
