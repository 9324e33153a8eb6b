"""Exercise checks of chapter 08 (Locality and long range)."""

from __future__ import annotations

import contextlib
import math
import numbers
from typing import Callable, Iterator

import torch

from .core import (
    ExerciseError,
    accuracy_drop_answer,
    accuracy_drop_options,
    argument,
    call,
    compare,
    graded_by_hand,
    hand_in,
    judge_prediction,
    passed,
)

__all__ = [
    "check_attention_distance",
    "check_painted_patch_report",
    "LOCAL_ATTENTION_OPTIONS",
    "LOCAL_RADIUS",
    "check_local_attention_prediction",
]


# --- Exercise 8.1: the mean attention distance ------------------------------------


def _distance_cases() -> list[tuple[torch.Tensor, int, bool]]:
    """(weights, patch_size, class_token): random attention on four grids.

    The scores are scaled up so that every query concentrates its weight on a few
    keys (an unweighted average is then far from the weighted one); with a class
    token, that token gets a large share of every query's weight, so a forgotten
    renormalisation shows.
    """
    g = torch.Generator().manual_seed(8)
    cases = []
    for B, h, grid, P, class_token in [
        (2, 3, 4, 7, False),  # the chapter's ViT: 16 tokens, 7-pixel patches
        (1, 2, 3, 5, False),
        (3, 4, 7, 4, False),  # 49 tokens, 4-pixel patches
        (2, 2, 4, 7, True),  # 16 patches and a class token
        (1, 1, 2, 14, True),
    ]:
        T = grid * grid + class_token
        scores = 2.5 * torch.randn(B, h, T, T, generator=g)
        if class_token:
            scores[..., 0] += 2.0  # the class token draws a large share of attention
        cases.append((scores.softmax(dim=-1), P, class_token))
    return cases


def _grid_offsets(grid: int) -> torch.Tensor:
    """``(N, N, 2)`` row and column offsets, in patches, between the patches of a
    ``grid x grid`` grid in row order."""
    rows, cols = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    cells = torch.stack([rows.flatten(), cols.flatten()], dim=1)  # (N, 2)
    return (cells[:, None, :] - cells[None, :, :]).double()  # (N, N, 2)


def _distance_mistakes(
    weights: torch.Tensor, patch_size: int, class_token: bool
) -> list[tuple[torch.Tensor, str]]:
    """What the classic mistakes return on ``weights``, each with its explanation."""
    from ..attention_distance import attention_distance

    expected = attention_distance(weights.double(), patch_size, class_token)
    patches = weights.double()[..., 1:, 1:] if class_token else weights.double()
    rescaled = patches / patches.sum(dim=-1, keepdim=True)  # rows sum to 1 again
    N = patches.shape[-1]
    grid = round(N**0.5)
    offsets = _grid_offsets(grid)
    euclid = offsets.norm(dim=-1) * patch_size  # (N, N) pixels
    city_block = offsets.abs().sum(dim=-1) * patch_size
    h = weights.shape[1]
    mistakes = [
        (
            expected / patch_size,
            "these are distances in patches: neighbouring patch centres are "
            f"patch_size = {patch_size} pixels apart, and the chapter measures pixels.",
        ),
        (
            euclid.mean().expand(h),
            "every head gets the same number, the mean distance between all pairs of "
            "patches: the attention weights are missing. Weight each query-key "
            "distance by the attention the query pays to that key.",
        ),
        (
            expected / N,
            f"the weighted distances were averaged over the keys (a division by "
            f"N = {N}): a query's weights already sum to 1, so its expected "
            "distance is the *sum* over keys of weight times distance.",
        ),
        (
            expected * N,
            "the weighted distances were summed over the queries too: sum over the "
            "keys only, then average over the queries and the images.",
        ),
        (
            (rescaled * city_block).sum(-1).mean(dim=(0, 2)),
            "the distances are city-block (rows plus columns apart); the chapter's "
            "distance is the straight line between the centres (Euclidean).",
        ),
    ]
    if class_token:
        mistakes += [
            (
                (patches * euclid).sum(-1).mean(dim=(0, 2)),
                "the class token was dropped but each query's remaining weights were "
                "not rescaled to sum to 1 (divide them by their sum over the keys).",
            ),
            (
                (patches / patches.sum(dim=-2, keepdim=True) * euclid)
                .sum(-1)
                .mean(dim=(0, 2)),
                "the weights were rescaled over the queries (dim -2); rescale each "
                "query's weights over the keys (the last axis) so that they sum to 1.",
            ),
        ]
    return mistakes


def check_attention_distance(
    attention_distance: Callable,
    model: torch.nn.Module | None = None,
    images: torch.Tensor | None = None,
) -> None:
    """Chapter 08, the mean attention distance.

    Verifies that ``attention_distance(weights, patch_size, class_token)`` turns
    one block's attention weights ``(B, h, T, T)`` (rows: queries, columns: keys)
    into the ``(h,)`` mean attention distance of Dosovitskiy et al. (2021, fig. 7)
    in pixels: per query, the sum over keys of weight times the Euclidean distance
    between patch centres (``patch_size`` pixels apart, patches in row order on a
    square grid), then the mean over queries and images; with ``class_token`` the
    first token is dropped as query and key and each query's weights are rescaled to
    sum to 1. Compared with :func:`minimodels.attention_distance.attention_distance`
    on random attention for grids of 2 x 2 to 7 x 7 patches of 4 to 14 pixels, 1 to 4
    heads, with and without a class token; then, when ``model`` and ``images`` are
    given, on every block of that ViT. Distances in patches, an unweighted mean,
    averaging over the keys, summing over the queries, city-block distances, a class
    token kept on the grid (a crash, explained), and one dropped without rescaling
    (or rescaled over the wrong axis) are each named.
    """
    from ..attention_distance import attention_distance as reference

    name = "attention_distance"
    for weights, P, class_token in _distance_cases():
        B, h, T, _ = weights.shape
        where = (
            f"{name}(weights of shape ({B}, {h}, {T}, {T}), patch_size={P}, "
            f"class_token={class_token})"
        )
        try:
            got = call(attention_distance, weights.clone(), P, class_token, name=name)
        except ExerciseError as err:
            if class_token and "not written yet" not in str(err):
                raise ExerciseError(
                    f"{err} (on {where}). Hint: with a class token there are T = N + 1 "
                    "tokens, not a square number: drop token 0 as query and as key, "
                    "weights[..., 1:, 1:], before building the grid."
                ) from err
            raise
        expected = reference(weights.double(), P, class_token)
        if isinstance(got, torch.Tensor) and got.shape == expected.shape:
            got_d = got.detach().double().cpu()
            if not torch.allclose(got_d, expected, atol=1e-4, rtol=1e-4):
                for wrong, why in _distance_mistakes(weights, P, class_token):
                    if torch.allclose(got_d, wrong, atol=1e-4, rtol=1e-4):
                        raise ExerciseError(f"{where}: {why}")
        compare(
            got,
            expected,
            name=where,
            atol=1e-4,
            hint=(
                "one value per head, shape (h,): per query, sum over the keys of "
                "weight x distance in pixels; then average over the queries and the "
                "images."
            ),
        )
    detail = "matches minimodels.attention_distance on five random attention tensors"
    if model is not None and images is not None:
        from ..train import eval_mode

        class_token = getattr(model, "cls_token", None) is not None
        with torch.no_grad(), eval_mode(model):
            attention = model.features(images)["attention"]  # depth x (B, h, T, T)
        for block, weights in enumerate(attention, start=1):
            got = call(
                attention_distance,
                weights.clone(),
                model.patch_size,
                class_token,
                name=name,
            )
            compare(
                got,
                reference(weights, model.patch_size, class_token),
                name=f"{name} on block {block} of the given ViT",
                atol=1e-3,
            )
            if block == 1:
                detail += (
                    f" and on the {len(attention)} blocks of the given ViT (block 1, "
                    f"per head: {', '.join(f'{d:.1f}' for d in got.tolist())} px)"
                )
    passed(name, detail + ".")


# --- Exercise 8.2 (open-ended): how far a painted patch travels --------------------


def _painted_changes(
    model: torch.nn.Module, images: torch.Tensor, patch: int, paint: float
) -> list[tuple[float, float, float]]:
    """Per block (1 to depth): the mean over images of the relative change
    ``|t' - t| / |t|`` of the painted patch's own token, of the tokens of the patches
    touching it (up to 8), and of the others, when ``patch`` is painted ``paint``."""
    from ..train import eval_mode

    P = model.patch_size
    grid = model.image_size // P
    row, col = divmod(patch, grid)
    painted = images.clone()
    painted[..., row * P : (row + 1) * P, col * P : (col + 1) * P] = paint
    with torch.no_grad(), eval_mode(model):
        before = model.features(images)["tokens"]  # (depth + 1) x (B, T, D)
        after = model.features(painted)["tokens"]
    offsets = _grid_offsets(grid)[patch]  # (N, 2): every patch against the painted one
    gap = offsets.abs().amax(dim=-1)  # patches apart, diagonals counting as 1
    near, far = gap == 1, gap > 1
    first = 1 if getattr(model, "cls_token", None) is not None else 0
    out = []
    for t, t_painted in zip(before[1:], after[1:]):
        t, t_painted = t[:, first:], t_painted[:, first:]  # patch tokens (B, N, D)
        change = ((t_painted - t).norm(dim=-1) / t.norm(dim=-1)).mean(dim=0)  # (N,)
        out.append(
            (
                change[patch].item(),
                change[near].mean().item(),
                change[far].mean().item() if far.any() else float("nan"),
            )
        )
    return out


REPORT_KEYS = ("patch", "paint", "rows", "answer")


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _plain(x):
    """A one-element tensor as its Python number; anything else as it is."""
    return x.item() if isinstance(x, torch.Tensor) and x.numel() == 1 else x


def check_painted_patch_report(
    my_experiment: Callable, model: torch.nn.Module, images: torch.Tensor
) -> dict:
    """Chapter 08, open-ended: how far a painted patch travels.

    Verifies that ``my_experiment(model, images)`` returns a complete hand-in: a dict
    with ``"patch"`` (the index of the painted patch, in row order), ``"paint"`` (the
    value painted over it), ``"rows"`` (one ``(block, own, near, far)`` tuple per
    block measured, at least two distinct blocks between 1 and the depth: the mean
    relative change ``|t' - t| / |t|`` of the painted patch's own token, of the
    tokens of the patches touching it, and of the others; numbers that are finite and
    not negative, ``far`` may be NaN when no patch is farther) and ``"answer"``
    (at least 20 words). Recomputes the first row from ``patch`` and ``paint`` on the
    same images and requires agreement (2% or 1e-4), prints the table, and returns
    the dict. The argument is graded by hand.
    """
    name = "my_experiment"
    report = hand_in(my_experiment, REPORT_KEYS, model, images, name=name)
    grid = model.image_size // model.patch_size
    patch, paint, rows, answer = (_plain(report[k]) for k in REPORT_KEYS)
    if not isinstance(patch, numbers.Integral) or not 0 <= patch < grid * grid:
        raise ExerciseError(
            f"'patch' is {patch!r}; expected the index of a patch, an int from 0 to "
            f"{grid * grid - 1} (row by row on the {grid} x {grid} grid)."
        )
    if not _is_number(paint):
        raise ExerciseError(
            f"'paint' is {paint!r}; expected the number painted over the patch "
            "(1.0 for ink, 0.0 for background, as in the chapter's cell)."
        )
    depth = len(model.blocks)
    if not isinstance(rows, (list, tuple)) or len(rows) < 2:
        raise ExerciseError(
            f"'rows' must be a list of (block, own, near, far) tuples for at least two "
            f"blocks (the model has {depth}); got {rows!r}."
        )
    seen = set()
    for row in rows:
        if not isinstance(row, (list, tuple)) or len(row) != 4:
            raise ExerciseError(
                f"each row must be a (block, own, near, far) tuple; got {row!r}."
            )
    rows = [tuple(_plain(x) for x in row) for row in rows]  # tensors as numbers
    for row in rows:
        block, *changes = row
        if not isinstance(block, numbers.Integral) or not 1 <= block <= depth:
            raise ExerciseError(
                f"a row's block is {block!r}; expected an int from 1 (after the first "
                f"block) to {depth}."
            )
        if block in seen:
            raise ExerciseError(f"block {block} has two rows; give one per block.")
        seen.add(block)
        for what, x in zip(("own", "near", "far"), changes):
            nan_ok = what == "far" and _is_number(x) and math.isnan(x)
            if not nan_ok and not (_is_number(x) and math.isfinite(x) and x >= 0):
                raise ExerciseError(
                    f"block {block}: '{what}' is {x!r}; expected a relative change, a "
                    "finite number of at least 0."
                )
    argument(report, name)
    block, *given = rows[0]
    measured = _painted_changes(model, images, int(patch), float(paint))[block - 1]
    for what, x, y in zip(("own", "near", "far"), given, measured):
        if math.isnan(y) and math.isnan(x):
            continue
        if not abs(x - y) <= max(1e-4, 0.02 * abs(y)):
            raise ExerciseError(
                f"block {block}, '{what}': your table says {x:.4g}; the check measures "
                f"{y:.4g} for patch {patch} painted {paint:g} on the same images "
                "(the mean over images of |t' - t| / |t|; 'near': the patches touching "
                "it, diagonals included; 'far': the others)."
            )
    lines = [
        f"painted patch {patch} (row {patch // grid}, column {patch % grid}) "
        f"with {paint:g}; mean relative change of the tokens:",
        f"{'block':>6} {'own':>8} {'near':>8} {'far':>8}",
    ]
    lines += [
        f"{b:>6} {own:>8.1%} {near:>8.1%} {far:>8.1%}" for b, own, near, far in rows
    ]
    print("\n".join(lines))
    graded_by_hand(name)
    return report


# --- Exercise 8.3 (predict, then run): attention restricted to neighbours ------------

# Each patch may attend to the patches whose centres lie at most LOCAL_RADIUS patch
# sides away: itself and the 8 touching it (a 3 x 3 neighbourhood, as a 3 x 3
# convolution on the grid of patches).
LOCAL_RADIUS = math.sqrt(2)
LOCAL_ATTENTION_OPTIONS = accuracy_drop_options("with its full attention")


@contextlib.contextmanager
def _local_attention(model) -> Iterator[None]:
    """Within the ``with``, every block of the ViT ``model`` lets each patch token
    attend only to the patches within :data:`LOCAL_RADIUS` (its learned weights
    renormalised over them: the others are masked before the softmax); a class token
    still attends to and is attended by every token. Restored after, even on an
    error."""
    from ..attention_distance import patch_distances

    grid = model.image_size // model.patch_size
    near = patch_distances(grid, 1) <= LOCAL_RADIUS + 1e-9  # (N, N)
    if getattr(model, "cls_token", None) is not None:
        mask = torch.ones(len(near) + 1, len(near) + 1, dtype=torch.bool)
        mask[1:, 1:] = near
    else:
        mask = near
    mask = mask.to(next(model.parameters()).device)

    def with_mask(module, args, kwargs):
        return args, {**kwargs, "mask": mask}

    hooks = [
        block.attn.register_forward_pre_hook(with_mask, with_kwargs=True)
        for block in model.blocks
    ]
    try:
        yield
    finally:
        for hook in hooks:
            hook.remove()


def check_local_attention_prediction(
    predict: Callable,
    model: torch.nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
) -> None:
    """Chapter 08, predict then run: a ViT whose attention may only reach neighbours.

    ``predict()`` returns "a", "b" or "c" of :data:`LOCAL_ATTENTION_OPTIONS`: how the
    accuracy of the trained ViT ``model`` on ``images`` changes when, in every block,
    each patch may attend only to itself and the patches touching it (centres at most
    :data:`LOCAL_RADIUS` patch sides apart; the learned weights are renormalised over
    them). The check measures both accuracies, picks the option the drop falls in, and
    compares; the model is left as it was.
    """
    from ..train import predict as logits_of

    full = (logits_of(model, images).argmax(1) == labels).float().mean().item()
    with _local_attention(model):
        local_logits = logits_of(model, images)
    local = (local_logits.argmax(1) == labels).float().mean().item()
    answer, drop = accuracy_drop_answer(full, local)
    grid, depth = model.image_size // model.patch_size, len(model.blocks)
    hops = grid - 1  # neighbourhood steps from one corner of the grid to the other
    if depth >= hops:
        travel = (
            f"on the {grid} x {grid} grid of patches, {hops} such blocks already carry "
            f"information from any patch to any other, and the model has {depth}"
        )
    else:
        travel = (
            f"on the {grid} x {grid} grid of patches, crossing it takes {hops} such "
            f"blocks and the model has only {depth}, so the farthest patches never meet"
        )
    judge_prediction(
        "local_attention_prediction",
        predict,
        LOCAL_ATTENTION_OPTIONS,
        answer,
        measured=(
            f"{full:.1%} with full attention, {local:.1%} with each patch attending "
            f"only to its 3 x 3 neighbourhood in every block ({drop})"
        ),
        why=(
            "the mask takes away the one-step path between distant patches, not every "
            "path: neighbourhoods chain from block to block, as a CNN's receptive "
            f"field grows with depth, and {travel}. What is lost is the direct path. "
            "The weight the trained heads put on far patches is renormalised onto the "
            "neighbours, so each block passes on tokens unlike those the next block "
            "was trained on, and a relation between distant strokes must be relayed "
            "through several blocks. A mean attention distance close to uniform "
            "attention's says where the weight goes, not how much the model needs it "
            "there."
        ),
    )
