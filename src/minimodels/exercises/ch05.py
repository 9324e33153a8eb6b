"""Exercise checks of chapter 05 (Patch embedding)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..patches import linear_to_conv_weight, patchify, unpatchify
from ..shapes import format_shape
from ..train import count_parameters, eval_mode
from ..vit import ViT
from .core import (
    SMALL_DROP,
    ExerciseError,
    argument,
    call,
    compare,
    graded_by_hand,
    hand_in,
    judge_prediction,
    number,
    passed,
    whole_number,
)

__all__ = [
    "check_patchify",
    "check_linear_to_conv",
    "check_patch_embedding_size",
    "SHUFFLED_PATCHES_OPTIONS",
    "check_shuffled_patches_prediction",
    "check_patch_size_report",
]


# (B, C, H, W, P): square and non-square images, one and several channels, P = 1.
_PATCHIFY_CASES = [
    (2, 1, 28, 28, 7),
    (1, 3, 8, 12, 4),
    (2, 2, 6, 9, 3),
    (1, 3, 10, 4, 2),
    (1, 1, 3, 5, 1),
]

# Layouts a patchify can plausibly get wrong, each with what to say about it.
_PATCHIFY_MISTAKES = [
    (
        "b c (h p1) (w p2) -> b (h w) (c p1 p2)",
        "the values of a patch are flattened channel first. ViT (and this course) "
        "flattens each patch as (p1 p2 c): pixel rows, then pixel columns, with the "
        "C channels of a pixel side by side.",
    ),
    (
        "b c (h p1) (w p2) -> b (h w) (p2 p1 c)",
        "within a patch the pixel columns come before the rows. "
        "Flatten a patch row by row: (p1 p2 c).",
    ),
    (
        "b c (h p1) (w p2) -> b (w h) (p1 p2 c)",
        "the tokens are in column order. Token n must be the patch in grid row "
        "n // (W/P), column n % (W/P): (h w).",
    ),
    (
        "b c (p1 h) (p2 w) -> b (h w) (p1 p2 c)",
        "each 'patch' collects pixels P apart, spread over the whole image. "
        "In the pattern the grid index comes first and the position inside the "
        "patch second: (h p1), not (p1 h).",
    ),
]


def check_patchify(patchify_fn: Callable) -> None:
    """Chapter 05, cutting images into patches.

    Verifies that ``patchify_fn(images, patch_size)`` turns ``(B, C, H, W)``
    images into ``(B, N, P*P*C)`` patches, N = (H/P)(W/P), with the layout of
    :func:`minimodels.patches.patchify`: tokens row by row, each patch
    flattened as (pixel row, pixel column, channel). Tried on five batches:
    square and non-square images, C = 1, 2 and 3, P = 1, 2, 3, 4 and 7, so a
    hard-coded size, a swapped height and width, channels flattened first, or
    tokens in column order is caught and named.
    """
    g = torch.Generator().manual_seed(5)
    for B, C, H, W, P in _PATCHIFY_CASES:
        images = torch.rand(B, C, H, W, generator=g, dtype=torch.float64)
        what = (
            f"patchify on images of shape {format_shape(images.shape)} "
            f"with patch_size={P}"
        )
        got = call(patchify_fn, images.clone(), P, name="patchify")
        expected = patchify(images, P)
        if (
            isinstance(got, torch.Tensor)
            and got.shape == expected.shape
            and not torch.equal(got.to(expected.dtype), expected)
        ):
            for pattern, advice in _PATCHIFY_MISTAKES:
                alternative = rearrange(images, pattern, p1=P, p2=P)
                if torch.equal(got.to(expected.dtype), alternative) and not torch.equal(
                    alternative, expected
                ):
                    raise ExerciseError(f"{what}: right shape, but {advice}")
        compare(
            got,
            expected,
            name=what,
            atol=0,
            rtol=0,
            hint=(
                f"expected (B, N, P*P*C) = {format_shape(expected.shape)}: "
                f"N = (H/P)(W/P) = {H // P}*{W // P} tokens of P*P*C = {P * P * C} "
                "values; read H, W and C from images.shape."
            ),
        )
    passed(
        "patchify",
        "same patches as minimodels.patches.patchify on "
        f"{len(_PATCHIFY_CASES)} batches, square and not, with 1 to 3 channels.",
    )


# (D, P, C): one channel (where channel order cannot show), several, P = 1.
_CONV_CASES = [(8, 4, 1), (5, 2, 3), (6, 3, 2), (4, 1, 3), (3, 7, 3)]


def check_linear_to_conv(linear_to_conv: Callable) -> None:
    """Chapter 05, a patch embedding's weight as a convolution kernel.

    Verifies that ``linear_to_conv(weight, patch_size, channels)`` turns the
    ``(D, P*P*C)`` weight of a linear patch embedding into the ``(D, C, P, P)``
    kernel of the equivalent convolution (kernel size = stride = P): the same
    tensor as :func:`minimodels.patches.linear_to_conv_weight`, and therefore a
    convolution whose output equals the linear embedding of the patches. Tried
    with C = 1, 2 and 3 and P = 1 to 7, so a plain ``reshape(D, C, P, P)``,
    which is right only when C = 1, is caught and explained.
    """
    g = torch.Generator().manual_seed(6)
    for D, P, C in _CONV_CASES:
        weight = torch.randn(D, P * P * C, generator=g, dtype=torch.float64)
        what = (
            f"linear_to_conv on a ({D}, {P * P * C}) weight "
            f"with patch_size={P}, channels={C}"
        )
        got = call(linear_to_conv, weight.clone(), P, C, name="linear_to_conv")
        expected = linear_to_conv_weight(weight, P, C)
        if (
            isinstance(got, torch.Tensor)
            and got.shape == expected.shape
            and not torch.equal(got.to(weight.dtype), expected)
        ):
            if torch.equal(got.to(weight.dtype), weight.reshape(D, C, P, P)):
                raise ExerciseError(
                    f"{what}: a plain reshape to (D, C, P, P) reads the P*P*C values "
                    "as (c p1 p2), but patchify lays them out as (p1 p2 c), channels "
                    "last. (With C = 1 the two agree, which is why a reshape can "
                    "look right.) Use rearrange with 'd (p1 p2 c) -> d c p1 p2'."
                )
            if torch.equal(got.to(weight.dtype), expected.transpose(-1, -2)):
                raise ExerciseError(
                    f"{what}: the kernel is transposed: its last two axes must be "
                    "(p1, p2), pixel row then column."
                )
        compare(
            got,
            expected,
            name=what,
            atol=0,
            rtol=0,
            hint=(
                "the kernel has shape (D, C, P, P); the weight's P*P*C values per "
                "row are ordered (p1 p2 c)."
            ),
        )
        # The point of the exercise: the convolution now computes the linear
        # embedding.
        images = torch.rand(2, C, 2 * P, 3 * P, generator=g, dtype=torch.float64)
        tokens = patchify(images, P) @ weight.T  # (B, N, D)
        conv = (
            F.conv2d(images, got.to(weight.dtype), stride=P).flatten(2).transpose(1, 2)
        )  # (B, N, D)
        compare(conv, tokens, name=f"the convolution with your kernel ({what})")
    passed(
        "linear_to_conv",
        f"on {len(_CONV_CASES)} weights "
        "the convolution equals the linear patch embedding.",
    )


# (H, W, C, P, D): MNIST with this chapter's sizes, ViT-B/16 at 224 px, non-square,
# C = 2.
_SIZE_CASES = [
    (28, 28, 1, 4, 64),
    (28, 28, 1, 7, 32),
    (224, 224, 3, 16, 768),
    (32, 48, 3, 8, 10),
    (12, 20, 2, 2, 5),
]


def check_patch_embedding_size(patch_embedding_size: Callable) -> None:
    """Chapter 05, tokens and parameters of a patch embedding.

    Verifies that ``patch_embedding_size(height, width, channels, patch_size, dim)``
    returns the pair ``(N, parameters)``: ``N = (H/P)(W/P)`` tokens and
    ``D * P*P*C + D`` weights and biases of the linear embedding (positions
    not included). Tried on five configurations, among them ViT-B/16 at
    224 px and non-square images, so a square assumption, a forgotten bias or
    channel count, or parameters that depend on the image size are caught.
    """
    for H, W, C, P, D in _SIZE_CASES:
        expected = ((H // P) * (W // P), D * P * P * C + D)
        where = (
            f"patch_embedding_size(height={H}, width={W}, channels={C}, "
            f"patch_size={P}, dim={D})"
        )
        got = call(patch_embedding_size, H, W, C, P, D, name="patch_embedding_size")
        if got is None:
            raise ExerciseError(
                f"{where} returned None; expected the pair (N, parameters) = "
                f"{expected}. Did you forget `return`?"
            )
        try:
            pair = tuple(got)
        except TypeError:
            raise ExerciseError(
                f"{where} returned {got!r}; "
                f"expected a pair (N, parameters) = {expected}."
            ) from None
        if len(pair) != 2:
            raise ExerciseError(
                f"{where} returned {len(pair)} values {got!r}; "
                f"expected a pair (N, parameters) = {expected}."
            )
        n, params = pair
        if n != expected[0]:
            hint = " The grid has H/P rows and W/P columns of patches."
            if n == (H // P) ** 2 or n == (W // P) ** 2:
                hint = " The image is not always square: use both height and width."
            elif n == H * W // P:
                hint = " Each patch covers P*P pixels, so N = H*W / P**2."
            raise ExerciseError(
                f"{where}: the number of tokens should be {expected[0]}, "
                f"got {n!r}.{hint}"
            )
        if params != expected[1]:
            hint = ""
            if params == D * P * P * C:
                hint = " Did you forget the bias (one per output feature, D in all)?"
            elif params == D * P * P + D:
                hint = " Each patch holds P*P*C values: count the channels."
            elif params == expected[1] * n or params == D * (P * P * C + 1) * n:
                hint = (
                    " The same weights serve every patch: "
                    "the count does not depend on N."
                )
            raise ExerciseError(
                f"{where}: the embedding should have {expected[1]} parameters, "
                f"got {params!r}.{hint}"
            )
    passed(
        "patch_embedding_size",
        f"correct on {len(_SIZE_CASES)} configurations, ViT-B/16 included.",
    )


# --- Exercise 5.4: predict, then run: a trained ViT on shuffled patches -----------

# Every digit gets its own random order of patches, drawn from this seed. The answer
# is "a" when the ViT with positions loses less than SMALL_DROP points on the
# shuffled digits, "c" when it falls below the ViT trained without positions (which
# sees a bag of patches, so shuffling cannot change its accuracy), "b" in between.
SHUFFLE_SEED = 0

SHUFFLED_PATCHES_OPTIONS = {
    "a": f"about as accurate as on the digits in order (within {SMALL_DROP} points)",
    "b": "less accurate than on the digits in order, but at least as accurate as "
    "the ViT trained without position embeddings",
    "c": "less accurate than the ViT trained without position embeddings",
}


def _shuffle_patches(images: torch.Tensor, patch_size: int, seed: int) -> torch.Tensor:
    """``images`` (B, C, H, W) with the patches of each image in a random order of
    its own (the same orders for the same seed)."""
    B, C, H, W = images.shape
    patches = patchify(images, patch_size)  # (B, N, P*P*C)
    g = torch.Generator().manual_seed(seed)
    orders = torch.stack(
        [torch.randperm(patches.shape[1], generator=g) for _ in range(B)]
    )  # (B, N)
    shuffled = patches[torch.arange(B)[:, None], orders]  # (B, N, P*P*C)
    return unpatchify(shuffled, patch_size, H, W)


def _shuffled_patches_answer(in_order: float, shuffled: float, bag: float) -> str:
    """The option of :data:`SHUFFLED_PATCHES_OPTIONS` for the accuracies of the ViT
    with positions on the digits ``in_order`` and ``shuffled``, and of the ViT
    without positions (``bag``)."""
    if 100 * (in_order - shuffled) < SMALL_DROP:
        return "a"
    return "b" if shuffled >= bag else "c"


def _accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad(), eval_mode(model):
        return (model(images).argmax(1) == labels).float().mean().item()


def check_shuffled_patches_prediction(
    predict: Callable,
    with_positions: nn.Module,
    without_positions: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
) -> None:
    """Chapter 05, predict then run: a trained ViT on digits with shuffled patches.

    ``predict()`` returns "a", "b" or "c" of :data:`SHUFFLED_PATCHES_OPTIONS`: how
    accurate the ViT trained with learned position embeddings is on ``images``
    whose patches are shuffled (each digit in its own random order, seed
    :data:`SHUFFLE_SEED`), compared with the same digits in order and with the
    ViT trained without position embeddings. The check measures the three
    accuracies (and the fourth, the ViT without positions on the shuffled
    digits, which must equal its accuracy in order), picks the option and
    compares. The models are left as they were.
    """
    P = with_positions.patch_size
    if (
        with_positions.pos_embedding is None
        or without_positions.pos_embedding is not None
    ):
        raise ValueError(
            "pass the ViT trained with position embeddings first, then the one "
            "trained without"
        )
    if without_positions.patch_size != P:
        raise ValueError(
            f"the two ViTs must have the same patch size, got {P} and "
            f"{without_positions.patch_size}"
        )
    shuffled_images = _shuffle_patches(images, P, SHUFFLE_SEED)
    in_order = _accuracy(with_positions, images, labels)
    shuffled = _accuracy(with_positions, shuffled_images, labels)
    bag = _accuracy(without_positions, images, labels)
    bag_shuffled = _accuracy(without_positions, shuffled_images, labels)
    judge_prediction(
        "shuffled_patches_prediction",
        predict,
        SHUFFLED_PATCHES_OPTIONS,
        _shuffled_patches_answer(in_order, shuffled, bag),
        measured=(
            f"on {len(labels):,} test digits cut into {P} x {P} patches, the ViT "
            f"with learned positions classifies {in_order:.1%} correctly in order and "
            f"{shuffled:.1%} with their patches shuffled; the ViT without positions "
            f"{bag:.1%} in order and {bag_shuffled:.1%} shuffled"
        ),
        why=(
            "the ViT with positions was trained on digits in order: every patch "
            "arrived with the position embedding of its place, and the model learned "
            "to read content and place together. Shuffled, each patch comes with the "
            "position of another: combinations it never saw, which mislead it rather "
            "than merely leave it uninformed. The ViT without positions was trained "
            "on exactly what it sees, a bag of patches, so the order cannot matter to "
            "it. Position embeddings make a ViT depend on where the patches are; "
            "nothing makes it robust to their order unless it is trained for that."
        ),
    )


# --- Exercise 5.5: open-ended: another patch size ---------------------------------

# The small ViT of the chapter's short training run; only the patch size (and,
# for sizes that do not divide 28, the image size) changes.
SMALL_VIT = dict(dim=32, depth=2, heads=2, mlp_dim=64, readout="mean")
_PATCH_SIZE_KEYS = (
    "image_size",
    "patch_size",
    "tokens",
    "parameters",
    "position_parameters",
    "accuracy_learned",
    "accuracy_none",
    "answer",
)


def _small_vit(image_size: int, patch_size: int, positions: str) -> nn.Module:
    """The chapter's small ViT; the global random state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        return ViT(
            image_size=image_size,
            patch_size=patch_size,
            pos_embedding=positions,
            **SMALL_VIT,
        )


def check_patch_size_report(
    my_experiment: Callable, accuracy: dict | None = None
) -> dict:
    """Chapter 05, open-ended: another patch size.

    Calls ``my_experiment()`` and verifies the hand-in is complete and coherent:
    a dict with ``image_size`` and ``patch_size`` (whole numbers, P dividing the
    image size), ``tokens`` and ``parameters`` and ``position_parameters`` equal
    to those of the chapter's small ViT (width 32, 2 blocks of 2 heads, mean
    readout, learned positions) at that size, recounted here;
    ``accuracy_learned`` and ``accuracy_none`` between 0 and 1, and an
    ``answer`` of at least 20 words. Prints the hand-in beside the chapter's
    runs (``accuracy``, keyed by (patch size, "learned" or "none")); the
    argument is graded by hand. Returns the hand-in.
    """
    report = hand_in(my_experiment, _PATCH_SIZE_KEYS)
    size = whole_number(report["image_size"], '"image_size"', 1)
    P = whole_number(report["patch_size"], '"patch_size"', 1)
    if size % P:
        raise ExerciseError(
            f"patch_size {P} does not divide image_size {size}: pad or crop the "
            "digits to a multiple of P (and say so in image_size)."
        )
    model = _small_vit(size, P, "learned")
    expected = {
        "tokens": model.num_patches,
        "parameters": count_parameters(model),
        "position_parameters": model.pos_embedding.numel(),
    }
    hints = {
        "tokens": f"N = (H/P)^2 = ({size}/{P})^2",
        "parameters": "count_parameters of the ViT with learned positions",
        "position_parameters": "one vector of D = 32 numbers per token",
    }
    for key, value in expected.items():
        got = whole_number(report[key], f'"{key}"', 0)
        if got != value:
            raise ExerciseError(
                f'"{key}" is {got:,}; the chapter\'s small ViT with P = {P} on '
                f"{size} x {size} images has {value:,} ({hints[key]}). Keep its "
                "other settings (width 32, 2 blocks of 2 heads, mean readout)."
            )
    learned = number(report["accuracy_learned"], '"accuracy_learned"', 0, 1)
    none = number(report["accuracy_none"], '"accuracy_none"', 0, 1)
    answer = argument(report)
    rows = []
    for (p, kind), acc in sorted((accuracy or {}).items()):
        if kind == "learned" and (p, "none") in accuracy:
            reference = _small_vit(28, p, "learned")
            rows.append(
                (
                    f"{p} (chapter)",
                    reference.num_patches,
                    count_parameters(reference),
                    acc,
                    accuracy[p, "none"],
                )
            )
    rows.append(
        (f"{P} (yours)", expected["tokens"], expected["parameters"], learned, none)
    )
    print(
        f"{'P':>12} {'tokens':>6} {'parameters':>10} {'learned':>8} {'none':>8} "
        f"{'difference':>10}"
    )
    for name, n, params, acc_l, acc_n in rows:
        print(
            f"{name:>12} {n:>6,} {params:>10,} {acc_l:>8.1%} {acc_n:>8.1%} "
            f"{100 * (acc_l - acc_n):>+8.1f} pt"
        )
    print(f"answer: {answer}")
    graded_by_hand("patch_size_report")
    return report
