"""Shifting images, and measuring what shifts do to a model.

Used in chapter 10 (Translation).

Three facts the chapter builds on, each checked in tests/test_shifts.py:

* a stride-1 convolution with circular padding commutes exactly with circular
  shifts (translation *equivariance*);
* a global average pool ignores them (*invariance*);
* a stride-2 layer is equivariant only to shifts by multiples of 2: a 1-pixel
  shift changes which pixels a max pool keeps (aliasing, Zhang 2019; Azulay &
  Weiss 2019 measure it in trained ImageNet CNNs).

:func:`shift` moves images; :func:`equivariance_error` and
:func:`invariance_error` check the first three facts on any function;
:func:`shift_robustness` measures a trained classifier: its accuracy on shifted
test images and its *consistency*, how often the predicted class survives the
shift (Zhang 2019's metric, there between two random shifts of the same image).
:func:`shift_vs_noise` measures consistency on the images a model classifies
correctly, beside a control: noise that changes each image by as much as the
shift did, so a low consistency can be told apart from a model that any change
of that size would flip. :func:`shift_flips` names the images behind a
consistency below 1: those whose predicted class some shift by ``distance``
pixels changes, and how.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import torch
from torch import nn

from .shapes import check_images
from .train import predict

__all__ = [
    "SHIFT_MODES",
    "shift",
    "equivariance_error",
    "invariance_error",
    "ShiftRobustness",
    "shift_robustness",
    "ShiftVsNoise",
    "shift_vs_noise",
    "ShiftFlips",
    "shift_flips",
]

SHIFT_MODES = ("zeros", "circular")


def shift(images: torch.Tensor, dy: int, dx: int, mode: str = "zeros") -> torch.Tensor:
    """Move ``(B, C, H, W)`` images ``dy`` pixels down and ``dx`` pixels right.

    Negative values move up and left. ``mode="zeros"``: pixels that enter are 0, the
    background of MNIST; what leaves is lost (a real camera shift). ``mode="circular"``:
    what leaves on one side comes back on the other (``torch.roll``), the shift under
    which a circular-padded convolution is exactly equivariant.
    """
    B, C, H, W = check_images(images, "shift")
    if mode not in SHIFT_MODES:
        raise ValueError(f"shift mode must be one of {SHIFT_MODES}, got {mode!r}")
    for name, value in (("dy", dy), ("dx", dx)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(
                f"shift: {name} must be an int (whole pixels), "
                f"got {type(value).__name__} {value!r}"
            )
    if mode == "circular":
        return torch.roll(images, shifts=(dy, dx), dims=(2, 3))
    out = torch.zeros_like(images)
    if abs(dy) >= H or abs(dx) >= W:
        return out  # everything left the frame
    # Row i of the output is row i - dy of the input, where that row exists.
    out[:, :, max(dy, 0) : H + min(dy, 0), max(dx, 0) : W + min(dx, 0)] = images[
        :, :, max(-dy, 0) : H + min(-dy, 0), max(-dx, 0) : W + min(-dx, 0)
    ]
    return out


def equivariance_error(
    fn: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    dy: int,
    dx: int,
    mode: str = "circular",
) -> float:
    """Largest ``|fn(shift(x)) - shift'(fn(x))|``: 0 if ``fn`` commutes with the shift.

    ``fn`` maps ``(B, C, H, W)`` to ``(B, C', H', W')`` feature maps. When it
    downsamples by a factor S = H / H' (a stride), the matching output shift is
    ``(dy / S, dx / S)``, which must be whole pixels: equivariance to a shift by
    less than a stride is not even defined, which is the problem.
    """
    B, C, H, W = check_images(images, "equivariance_error")
    out = fn(images)
    if out.ndim != 4:
        raise ValueError(
            "equivariance_error needs fn to return (B, C, H, W) maps, "
            f"got shape {tuple(out.shape)}"
        )
    H_out, W_out = out.shape[-2:]
    if (dy * H_out) % H or (dx * W_out) % W:
        raise ValueError(
            f"a shift of ({dy}, {dx}) pixels on a {H}x{W} input "
            "is not a whole number of pixels "
            f"on fn's {H_out}x{W_out} output "
            f"(downsampling by {H / H_out:g}x{W / W_out:g})"
        )
    expected = shift(out, dy * H_out // H, dx * W_out // W, mode)
    return (fn(shift(images, dy, dx, mode)) - expected).abs().max().item()


def invariance_error(
    fn: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    dy: int,
    dx: int,
    mode: str = "circular",
) -> float:
    """Largest ``|fn(shift(x)) - fn(x)|``.

    0 when the shift leaves ``fn``'s output unchanged.
    """
    check_images(images, "invariance_error")
    return (fn(shift(images, dy, dx, mode)) - fn(images)).abs().max().item()


@dataclass
class ShiftRobustness:
    """What :func:`shift_robustness` measured; one entry per distance, ready to plot.

    ``accuracy[i]`` and ``consistency[i]`` are means over the four directions
    (down, up, right, left) at ``distances[i]`` pixels.
    """

    distances: list[int] = field(default_factory=list)  # pixels
    # fraction of shifted images classified correctly
    accuracy: list[float] = field(default_factory=list)
    # fraction whose prediction equals the unshifted one's
    consistency: list[float] = field(default_factory=list)
    mode: str = "zeros"  # how the images were shifted

    def as_dict(self) -> dict[str, list]:
        """``{"distance": [...], "accuracy": [...], "consistency": [...]}``.

        For example for a DataFrame or glue.
        """
        return {
            "distance": list(self.distances),
            "accuracy": list(self.accuracy),
            "consistency": list(self.consistency),
        }


def _directions(d: int) -> tuple[tuple[int, int], ...]:
    """The four shifts by d pixels: down, up, right, left, as (dy, dx)."""
    return ((d, 0), (-d, 0), (0, d), (0, -d))


def shift_robustness(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    distances,
    mode: str = "zeros",
    batch_size: int = 500,
) -> ShiftRobustness:
    """Accuracy and consistency of ``model`` on shifted images.

    The images are shifted by each of ``distances`` pixels. For a distance d each
    image is shifted in the four directions (+-d rows, +-d columns) and both numbers
    are averaged over them; d = 0 gives the clean accuracy and a consistency of 1.
    Runs in eval mode without gradients (:func:`minimodels.train.predict`),
    ``batch_size`` images at a time.
    """
    B, C, H, W = check_images(images, "shift_robustness")
    if labels.shape != (B,):
        raise ValueError(
            f"shift_robustness expects labels of shape ({B},) to match the images, "
            f"got shape {tuple(labels.shape)}"
        )
    distances = [int(d) for d in distances]
    if any(d < 0 for d in distances):
        raise ValueError(f"distances must be at least 0 pixels, got {distances}")
    labels = labels.cpu()
    reference = predict(model, images, batch_size).argmax(
        1
    )  # (B,) the unshifted predictions
    result = ShiftRobustness(mode=mode)
    for d in distances:
        accuracy = consistency = 0.0
        for dy, dx in _directions(d):
            predicted = (
                predict(model, shift(images, dy, dx, mode), batch_size).argmax(1)
                if d
                else reference
            )
            accuracy += (predicted == labels).float().mean().item() / 4
            consistency += (predicted == reference).float().mean().item() / 4
        result.distances.append(d)
        result.accuracy.append(accuracy)
        result.consistency.append(consistency)
    return result


class ShiftVsNoise(NamedTuple):
    """What :func:`shift_vs_noise` measured, one entry per distance."""

    distances: list[int]  # pixels
    shift: list[float]  # share of correct predictions a shift leaves unchanged
    noise: list[float]  # ... that noise of the same L2 norm leaves unchanged
    correct: int  # how many images the model classified correctly (the base)


def shift_vs_noise(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    distances,
    seed: int = 0,
    batch_size: int = 500,
) -> ShiftVsNoise:
    """Consistency under shifts on the correctly classified images, beside its control.

    Only images the model classifies correctly count, so a model that is merely
    unsure (a less accurate one) is not mistaken for one that shifts disturb. For
    each distance d and each of the four directions, ``shift`` is the share of those
    predictions a zero-filled shift by d pixels leaves unchanged; ``noise`` the share
    that Gaussian noise leaves unchanged when it is scaled, image by image, to the
    same L2 norm as ``shift(x) - x``: a change as large as the shift's, with no
    structure. Both are means over the directions; d = 0 gives 1.0 for both.
    """
    B = check_images(images, "shift_vs_noise")[0]
    if labels.shape != (B,):
        raise ValueError(
            f"shift_vs_noise expects labels of shape ({B},) to match the images, "
            f"got shape {tuple(labels.shape)}"
        )
    reference = predict(model, images, batch_size).argmax(1)
    correct = reference == labels.cpu()
    images, reference = images[correct], reference[correct]
    if not len(images):
        raise ValueError("shift_vs_noise: the model classifies no image correctly")
    g = torch.Generator().manual_seed(seed)
    out = ShiftVsNoise([], [], [], int(correct.sum()))
    for d in (int(d) for d in distances):
        if d < 0:
            raise ValueError(f"distances must be at least 0 pixels, got {d}")
        kept = {"shift": 0.0, "noise": 0.0}
        for dy, dx in _directions(d):
            moved = shift(images, dy, dx)
            change = (moved - images).flatten(1).norm(dim=1)  # (B,)
            noise = torch.randn(images.shape, generator=g)
            noise *= (change / noise.flatten(1).norm(dim=1)).view(-1, 1, 1, 1)
            for name, perturbed in (("shift", moved), ("noise", images + noise)):
                same = predict(model, perturbed, batch_size).argmax(1) == reference
                kept[name] += same.float().mean().item() / 4
        out.distances.append(d)
        out.shift.append(kept["shift"])
        out.noise.append(kept["noise"])
    return out


class ShiftFlips(NamedTuple):
    """What :func:`shift_flips` found: each image's predicted class before and after
    each move."""

    moves: list[tuple[int, int]]  # (dy, dx) of each move: down, up, right, left
    before: torch.Tensor  # (B,) predicted class of each unshifted image
    after: torch.Tensor  # (M, B) predicted class after each of the M moves

    @property
    def flipped(self) -> torch.Tensor:
        """``(B,)`` bool: True where some move changes the predicted class."""
        return (self.after != self.before).any(0)

    def first_flip(self, i: int) -> tuple[int, int, int]:
        """``(dy, dx, predicted class)`` of the first move that changes image ``i``'s
        prediction, in the order of ``moves``."""
        changed = (self.after[:, i] != self.before[i]).nonzero().flatten()
        if not len(changed):
            raise ValueError(
                "first_flip: expected an image whose prediction some move changes, "
                f"got image {i}, whose prediction ({int(self.before[i])}) every move "
                "keeps"
            )
        k = int(changed[0])
        dy, dx = self.moves[k]
        return dy, dx, int(self.after[k, i])


def shift_flips(
    model: nn.Module,
    images: torch.Tensor,
    distance: int = 1,
    mode: str = "zeros",
    batch_size: int = 500,
) -> ShiftFlips:
    """The predicted class of each image, unshifted and moved ``distance`` pixels down,
    up, right and left (:func:`shift` with ``mode``).

    :attr:`ShiftFlips.flipped` marks the images whose class some move changes: the
    images a consistency below 1 (:func:`shift_robustness`) is made of, to look at
    one by one. Eval mode, no gradients, ``batch_size`` images at a time.
    """
    check_images(images, "shift_flips")
    if not isinstance(distance, int) or isinstance(distance, bool) or distance < 1:
        raise ValueError(
            "shift_flips: expected a distance of at least 1 whole pixel, "
            f"got {type(distance).__name__} {distance!r}"
        )
    moves = list(_directions(distance))
    before = predict(model, images, batch_size).argmax(1)  # (B,)
    after = torch.stack(
        [
            predict(model, shift(images, dy, dx, mode), batch_size).argmax(1)
            for dy, dx in moves
        ]
    )  # (M, B)
    return ShiftFlips(moves, before, after)
