"""Exercise checks of chapter 12 (Robustness and performance)."""

from __future__ import annotations

import math
from typing import Callable

import torch
from einops import rearrange, repeat
from torch import nn

from ..corruptions import occlude_patches
from ..train import eval_mode
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
    "check_occlusion",
    "INVERSION_MOST",
    "INVERSION_LITTLE",
    "INVERSION_OPTIONS",
    "check_inversion_prediction",
    "check_corruption_report",
]

# --- Exercise 12.1: occluding whole patches -------------------------------------

# (shape, patch size P, fraction, seed). The chapter's setting first; then 0.3 of 16
# patches, 4.8 (rounding down gives 4); 49 patches, where half is 24.5, and a
# non-square grid of 3 x 5 patches with three channels, where 0.3 of 15 is 4.5
# (Python's round() gives 24 and 4: it rounds halves to even); then everything and
# nothing occluded.
_OCCLUSION_CASES = [
    ((2, 1, 28, 28), 7, 0.5, 0),
    ((4, 2, 8, 8), 2, 0.3, 3),
    ((3, 1, 28, 28), 4, 0.5, 1),
    ((2, 3, 12, 20), 4, 0.3, 2),
    ((2, 1, 6, 6), 3, 1.0, 4),
    ((2, 2, 6, 9), 3, 0.0, 5),
]


def _column_by_column(
    images: torch.Tensor, fraction: float, patch_size: int, seed: int
) -> torch.Tensor:
    """The package's occlusion with the patches numbered column by column: the
    same draw, the squares at transposed places of the grid."""
    B, _, H, W = images.shape
    gh, gw = H // patch_size, W // patch_size
    N = gh * gw
    order = torch.rand(B, N, generator=torch.Generator().manual_seed(seed))
    order = order.argsort(dim=1)
    keep = torch.ones(B, N, dtype=images.dtype)
    keep.scatter_(1, order[:, : math.floor(fraction * N + 0.5)], 0.0)
    mask = repeat(
        keep, "b (w h) -> b 1 (h p1) (w p2)", h=gh, p1=patch_size, p2=patch_size
    )
    return images * mask


def _diagnose_occlusion(
    got: torch.Tensor,
    images: torch.Tensor,
    expected: torch.Tensor,
    fraction: float,
    patch_size: int,
    seed: int,
    where: str,
) -> None:
    """Name the mistake that makes ``got`` differ from ``expected``, if a known one."""
    B, C, H, W = images.shape
    P, N = patch_size, (H // patch_size) * (W // patch_size)
    changed = got != images
    wrong = changed & (got != 0)
    if wrong.any():
        i = tuple(int(v) for v in wrong.nonzero()[0])
        raise ExerciseError(
            f"occlude{where} returned {got[i].item():.4g} at index {i}, where the "
            f"image holds {images[i].item():.4g}: an occluded pixel must become 0 "
            "(black) and every other pixel keep its value."
        )
    # (B, N, C, P*P): which pixels of each patch, in each channel, were occluded
    per_patch = rearrange(changed, "b c (h p1) (w p2) -> b (h w) c (p1 p2)", p1=P, p2=P)
    whole_in_channel = per_patch.all(-1) | ~per_patch.any(-1)  # (B, N, C)
    if not whole_in_channel.all():
        raise ExerciseError(
            f"occlude{where}: the occluded pixels do not make whole {P}x{P} patches. "
            f"Patch i covers rows {P}*(i // (W/{P})) to {P}*(i // (W/{P})) + {P - 1} "
            f"and the same {P} columns from {P}*(i % (W/{P})); occlude all of it."
        )
    occluded = per_patch.all(-1)  # (B, N, C)
    if (occluded.any(-1) & ~occluded.all(-1)).any():
        raise ExerciseError(
            f"occlude{where} occluded a patch in some channels and not in others: "
            "an occluded patch is black in every channel."
        )
    counts = occluded[..., 0].sum(1).tolist()  # patches occluded, per image
    k = math.floor(fraction * N + 0.5)
    if any(c != k for c in counts):
        if all(c == round(fraction * N) for c in counts):
            hint = (
                f" Python's round({fraction * N:g}) gives {round(fraction * N)}: it "
                "rounds halves to the even neighbour. Round halves up: "
                "math.floor(fraction * N + 0.5)."
            )
        elif all(c == N - k for c in counts):
            hint = (
                " That is the number of patches to keep: fraction is the share "
                "occluded."
            )
        elif all(c == math.floor(fraction * N) for c in counts):
            hint = " Round to the nearest number, halves up, not down."
        else:
            hint = ""
        raise ExerciseError(
            f"occlude{where} occluded {counts} patches in its {B} images; expected "
            f"{k} in each: {fraction:g} of the {N} patches of {P}x{P}, rounded to "
            f"the nearest number, halves up.{hint}"
        )
    masks = changed[:, 0].flatten(1)  # (B, H*W)
    expected_masks = (expected != images)[:, 0].flatten(1)
    if torch.equal(masks, ~expected_masks):
        raise ExerciseError(
            f"occlude{where} occluded exactly the patches that should stay visible: "
            "fraction is the share occluded; occlude the first k patches of each "
            "image's random order."
        )
    if (
        B > 1
        and (masks == masks[:1]).all()
        and not (expected_masks == expected_masks[:1]).all()
    ):
        raise ExerciseError(
            f"occlude{where} occluded the same patches in every image: draw one "
            "random order per image, a (B, N) tensor of random numbers sorted along "
            "dim 1."
        )
    if seed != 0 and torch.equal(got, occlude_patches(images, fraction, P, seed=0)):
        raise ExerciseError(
            f"occlude{where} ignores its seed: it drew the patches of seed 0. Seed "
            "the generator with `seed`."
        )
    if torch.equal(got, _column_by_column(images, fraction, P, seed)):
        raise ExerciseError(
            f"occlude{where} numbers the patches column by column: the occluded "
            "squares sit at transposed places of the grid. Number them row by row, "
            "as a ViT orders its tokens: patch i is in grid row i // (W/P), column "
            "i % (W/P)."
        )
    compare(
        got,
        expected,
        name=f"occlude{where}",
        atol=0,
        rtol=0,
        hint=(
            "the right number of whole patches, but not those the package's draw "
            "picks: order = torch.rand(B, N, generator=torch.Generator()."
            "manual_seed(seed)).argsort(dim=1), then occlude the patches "
            "order[b, :k] of image b."
        ),
    )


def check_occlusion(occlude: Callable) -> None:
    """Chapter 12, occluding whole patches.

    Verifies ``occlude(images, fraction, patch_size, seed)`` against
    :func:`minimodels.corruptions.occlude_patches`, exactly, on six cases: the
    chapter's 4x4 grid of 7x7 patches, 0.3 of 16 patches (4.8), 49 patches where
    half is 24.5, a non-square grid of 3x5 patches with three channels where 0.3
    of 15 is 4.5, and fractions 1 and 0. It must return a new tensor (the input
    unchanged), leave torch's global random state as it was, and give the same
    result twice for one seed. A wrong value, partial patches, a patch occluded in
    only some channels, Python's ``round`` (halves to even), rounding down,
    occluding the patches to keep, the same patches in every image, an ignored
    seed and patches numbered column by column are each named.
    """
    for shape, P, fraction, seed in _OCCLUSION_CASES:
        where = f"(images {shape}, fraction={fraction}, patch_size={P}, seed={seed})"
        # no pixel is 0 already, so every occluded pixel shows
        images = 0.05 + 0.95 * torch.rand(
            shape, generator=torch.Generator().manual_seed(100 + seed)
        )
        original = images.clone()
        expected = occlude_patches(original, fraction, P, seed=seed)
        state = torch.get_rng_state()
        got = call(occlude, images, fraction, P, seed, name="occlude")
        if not torch.equal(torch.get_rng_state(), state):
            raise ExerciseError(
                f"occlude{where} changed torch's global random state (torch.rand "
                "without a generator, or torch.manual_seed): then what a later "
                "training run draws depends on whether you corrupted images before. "
                "Draw from your own torch.Generator().manual_seed(seed)."
            )
        if not torch.equal(images, original):
            raise ExerciseError(
                f"occlude{where} changed the images it was given: return an occluded "
                "copy (the chapter measures every model on the same clean images)."
            )
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            compare(got, expected, name=f"occlude{where}")
        again = call(occlude, images.clone(), fraction, P, seed, name="occlude")
        if isinstance(again, torch.Tensor) and not torch.equal(again, got):
            raise ExerciseError(
                f"occlude{where} is not reproducible: two calls with the same seed "
                "occluded different patches. Create the generator inside occlude, "
                "seeded with `seed`, so that every model compared sees the same "
                "damage."
            )
        if not torch.equal(got, expected):
            _diagnose_occlusion(got, original, expected, fraction, P, seed, where)
    passed(
        "occlude",
        f"equal to minimodels.corruptions.occlude_patches on {len(_OCCLUSION_CASES)} "
        "cases (grids of 2x2 to 7x7 patches, 1 to 3 channels, fractions 0 to 1), "
        "reproducible, and without touching its input or the global random state.",
    )


# --- Exercise 12.2: predict, then run: inverted digits --------------------------

# The option the better of the two families' retained share falls in: more than
# INVERSION_MOST of its accuracy above chance kept, between INVERSION_LITTLE and
# INVERSION_MOST, or less than INVERSION_LITTLE (a fifth: close to guessing).
INVERSION_MOST, INVERSION_LITTLE = 0.5, 0.2

INVERSION_OPTIONS = {
    "a": (
        "at least one of the two families keeps more than "
        f"{INVERSION_MOST:.0%} of its accuracy above chance"
    ),
    "b": (
        f"the better of the two keeps between {INVERSION_LITTLE:.0%} and "
        f"{INVERSION_MOST:.0%} of it"
    ),
    "c": (
        f"both keep less than {INVERSION_LITTLE:.0%} of it, little better than guessing"
    ),
}


def _accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad(), eval_mode(model):
        return (model(images).argmax(1) == labels).float().mean().item()


def _as_list(models) -> list[nn.Module]:
    return list(models) if isinstance(models, (list, tuple)) else [models]


def check_inversion_prediction(
    predict: Callable,
    models: dict,
    images: torch.Tensor,
    labels: torch.Tensor,
) -> None:
    """Chapter 12, predict then run: digits with their intensities inverted.

    ``predict()`` returns "a", "b" or "c" of :data:`INVERSION_OPTIONS`: how much
    of its accuracy above chance each family keeps on ``1 - images`` (white
    background, dark strokes). ``models`` maps "CNN" and "ViT" to a model or a
    list of models (the chapter's three seeds). The check measures the share
    kept, ``(a - 0.1) / (a_clean - 0.1)`` as the chapter's curves, seed by seed,
    averages it per family, picks the option the better family falls in
    (thresholds :data:`INVERSION_MOST` and :data:`INVERSION_LITTLE`), and
    compares.
    """
    from ..experiments.robustness import CHANCE

    kept, words = {}, []
    for name in ("CNN", "ViT"):
        clean, inverted, shares = [], [], []
        for model in _as_list(models[name]):
            c = _accuracy(model, images, labels)
            a = _accuracy(model, 1 - images, labels)
            if c <= CHANCE:
                raise ValueError(
                    f"the {name}'s clean accuracy, {c:.1%}, is not above chance"
                )
            clean.append(c)
            inverted.append(a)
            shares.append((a - CHANCE) / (c - CHANCE))
        kept[name] = sum(shares) / len(shares)
        words.append(
            f"the {name} from {sum(clean) / len(clean):.1%} to "
            f"{sum(inverted) / len(inverted):.1%} (it keeps {kept[name]:.0%} of its "
            f"accuracy above chance; per seed {', '.join(f'{s:.0%}' for s in shares)})"
        )
    best = max(kept.values())
    answer = "a" if best > INVERSION_MOST else "b" if best >= INVERSION_LITTLE else "c"
    judge_prediction(
        "inversion_prediction",
        predict,
        INVERSION_OPTIONS,
        answer,
        measured=f"on {len(labels)} inverted test digits, " + "; ".join(words),
        why=(
            "inverting loses no information (a person reads a dark digit on a white "
            "page at once), but every background pixel the models learnt as 0 is now "
            "1. Both families start with a map that is linear in the pixels (the "
            "CNN's first convolution, the ViT's patch embedding), so every feature "
            "now receives minus its usual input plus a large constant from the white "
            "background: features that detected ink respond to the background "
            "everywhere, and the strokes look like holes. Neither architecture "
            "builds in invariance to the polarity of the contrast; only data can "
            "teach it (training on inverted digits too). Robustness to damage, like "
            "occlusion, does not carry over to inputs unlike any seen in training."
        ),
    )


# --- Exercise 12.3: open-ended, a corruption of your own ------------------------

_REPORT_KEYS = ("corruption", "corrupt", "strengths", "CNN", "ViT", "answer")
_ACCURACY_TOLERANCE = 0.01  # a recomputed mean accuracy may differ by this much


def _numbers(values, what: str, low: float, high: float) -> list[float]:
    if isinstance(values, torch.Tensor):
        values = values.tolist()
    if not isinstance(values, (list, tuple)):
        raise ExerciseError(
            f"{what} is a {type(values).__name__}; expected a list of numbers."
        )
    return [number(v, f"{what}[{i}]", low, high) for i, v in enumerate(values)]


def _mean_accuracy(models, images, labels) -> float:
    accuracies = [_accuracy(m, images, labels) for m in _as_list(models)]
    return sum(accuracies) / len(accuracies)


def check_corruption_report(
    my_experiment: Callable,
    models: dict,
    images: torch.Tensor,
    labels: torch.Tensor,
) -> dict:
    """Chapter 12, open-ended: a corruption of your own.

    Calls ``my_experiment(models, images, labels)`` and verifies the hand-in is
    complete and coherent: a ``"corruption"`` described in words; ``"corrupt"``,
    a function ``(images, strength) -> images`` that returns images of the same
    shape in [0, 1], the clean images at strength 0, different ones at the
    strongest, and the same ones twice (seeded); at least three
    ``"strengths"``, increasing from 0; ``"CNN"`` and ``"ViT"``, one mean
    accuracy in [0, 1] per strength, the CNN's at strength 0 and at the
    strongest equal (within a point) to what the check measures with
    ``corrupt`` on ``models["CNN"]``; and an ``"answer"`` of at least 20 words.
    Prints the table (with the share of the accuracy above chance kept); the
    argument is graded by hand. Returns the hand-in.
    """
    from ..experiments.robustness import CHANCE

    report = hand_in(my_experiment, _REPORT_KEYS, models, images.clone(), labels)
    description = report["corruption"]
    if not isinstance(description, str) or len(description.split()) < 3:
        raise ExerciseError(
            '"corruption" must say in words what your corruption does and what '
            "damage it imitates."
        )
    corrupt = report["corrupt"]
    if not callable(corrupt):
        raise ExerciseError(
            f'"corrupt" is a {type(corrupt).__name__}; expected your function '
            "corrupt(images, strength)."
        )
    strengths = _numbers(report["strengths"], '"strengths"', -math.inf, math.inf)
    if len(strengths) < 3 or strengths[0] != 0:
        raise ExerciseError(
            f'"strengths" is {strengths}; expected at least three, the first 0 '
            "(the clean images)."
        )
    if any(b <= a for a, b in zip(strengths, strengths[1:])):
        raise ExerciseError(f'"strengths" is {strengths}; expected them increasing.')
    table = {}
    for name in ("CNN", "ViT"):
        table[name] = _numbers(report[name], f'"{name}"', 0.0, 1.0)
        if len(table[name]) != len(strengths):
            raise ExerciseError(
                f'"{name}" has {len(table[name])} accuracies; expected one per '
                f"strength, {len(strengths)}."
            )
    raw = list(report["strengths"])  # as given: corrupt may expect ints
    sample = images[:16]
    for s, r in zip(strengths, raw):
        out = call(corrupt, sample.clone(), r, name="corrupt")
        if not isinstance(out, torch.Tensor) or out.shape != sample.shape:
            compare(out, sample, name=f"corrupt(images, {s:g})")
        if not torch.isfinite(out).all() or out.min() < -1e-6 or out.max() > 1 + 1e-6:
            raise ExerciseError(
                f"corrupt(images, {s:g}) returned values from {out.min().item():.3g} "
                f"to {out.max().item():.3g}; images must stay in [0, 1] (clip them)."
            )
    strongest = raw[-1]
    clean = call(corrupt, sample.clone(), raw[0], name="corrupt")
    if not torch.allclose(clean, sample, atol=1e-6):
        raise ExerciseError(
            "corrupt(images, 0) must return the clean images: strength 0 is the "
            "reference every accuracy is compared with."
        )
    damaged = call(corrupt, sample.clone(), strongest, name="corrupt")
    if torch.allclose(damaged, sample, atol=1e-3):
        raise ExerciseError(
            f"corrupt(images, {strongest}) returns the images unchanged: the "
            "strongest setting must damage them."
        )
    if not torch.equal(
        damaged, call(corrupt, sample.clone(), strongest, name="corrupt")
    ):
        raise ExerciseError(
            "corrupt gave different images in two calls with the same strength: "
            "seed its randomness (a torch.Generator().manual_seed(...) inside it), "
            "so that every model sees the same damage."
        )
    for s, i in ((strengths[0], 0), (strengths[-1], -1)):
        x = call(corrupt, images.clone(), raw[i], name="corrupt")
        measured = _mean_accuracy(models["CNN"], x, labels)
        if abs(measured - table["CNN"][i]) > _ACCURACY_TOLERANCE:
            raise ExerciseError(
                f'"CNN" gives {table["CNN"][i]:.1%} at strength {s:g}, but the '
                f"CNN models given classify {measured:.1%} of the {len(labels)} images "
                "correctly, corrupted by your function (mean over the models): measure "
                "on the images given, with every model in models['CNN']."
            )
    answer = argument(report)

    def kept(accuracies, i):
        base = accuracies[0] - CHANCE
        return "–" if base <= 0 else f"{(accuracies[i] - CHANCE) / base:.0%}"

    lines = [f"{'strength':>8} {'CNN':>6} {'ViT':>6} {'CNN kept':>8} {'ViT kept':>8}"]
    for i, s in enumerate(strengths):
        lines.append(
            f"{s:>8g} {table['CNN'][i]:>6.1%} {table['ViT'][i]:>6.1%} "
            f"{kept(table['CNN'], i):>8} {kept(table['ViT'], i):>8}"
        )
    print(f"corruption: {description}")
    print("\n".join(lines))
    print("(kept: the share of the clean accuracy above chance, of the means)")
    print(f"answer: {answer}")
    graded_by_hand("corruption_report")
    return report
