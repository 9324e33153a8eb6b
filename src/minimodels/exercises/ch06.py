"""Exercise checks of chapter 06 (Self-attention)."""

from __future__ import annotations

import copy
import math
import numbers
from typing import Callable

import torch

from ..attention import MultiHeadAttention
from ..shapes import format_shape
from ..train import count_parameters
from .core import (
    ExerciseError,
    argument,
    call,
    compare,
    graded_by_hand,
    hand_in,
    judge_prediction,
    passed,
    whole_number,
)

__all__ = [
    "check_dot_product_attention",
    "check_padding_mask",
    "check_mha_parameters",
    "DUPLICATE_TOKENS_OPTIONS",
    "check_duplicate_tokens_prediction",
    "check_local_attention_report",
]


def _attention_variant(
    q, k, v, scale: float, dim: int = -1, softmax: bool = True
) -> torch.Tensor:
    scores = q @ k.transpose(-2, -1) * scale  # (..., N_q, N_k)
    weights = scores.softmax(dim=dim) if softmax else scores
    return weights @ v


def _attention_cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, str]]:
    """(q, k, v, description), from a single sequence to batched heads."""
    g = torch.Generator().manual_seed(6)

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    return [
        (
            randn(5, 8),
            randn(5, 8),
            randn(5, 8),
            "q, k, v of shape (5, 8) (N = 5 tokens, d = 8)",
        ),
        (
            randn(3, 16),
            randn(6, 16),
            randn(6, 4),
            "q (3, 16), k (6, 16), v (6, 4) (3 queries, 6 keys, d = 16, d_v = 4)",
        ),
        (
            randn(2, 4, 7, 16),
            randn(2, 4, 9, 16),
            randn(2, 4, 9, 5),
            "batched heads: q (2, 4, 7, 16), k (2, 4, 9, 16), v (2, 4, 9, 5)",
        ),
    ]


def check_dot_product_attention(dot_product_attention: Callable) -> None:
    """Chapter 06, scaled dot-product attention from scratch.

    Verifies that ``dot_product_attention(q, k, v)`` returns only the output
    ``softmax(q k^T / sqrt(d)) v`` of shape ``(..., N_q, d_v)``, with ``d =
    q.shape[-1]``, on three cases: one sequence of 5 tokens; 3 queries against
    6 keys with values narrower than the keys (``d_v != d``, so scaling by the
    wrong width is caught); and inputs with batch and head axes, ``(2, 4, N,
    d)``, which catch ``k.T`` (it reverses every axis). A missing or wrong
    scaling (by ``d``, by ``sqrt(d_v)`` or ``sqrt(N)``), a softmax over the
    queries instead of the keys, a missing softmax, and returning the weights
    or a tuple are each named.
    """
    name = "dot_product_attention"
    for q, k, v, what in _attention_cases():
        d, d_v, n_k = q.shape[-1], v.shape[-1], k.shape[-2]
        where = f"{name} on {what}"
        try:
            got = call(
                dot_product_attention, q.clone(), k.clone(), v.clone(), name=name
            )
        except ExerciseError as err:
            if q.ndim > 2 and "not written yet" not in str(err):
                raise ExerciseError(
                    f"{err} (on {what}). Hint: with batch and head axes, transpose "
                    "only the last two axes of k, k.transpose(-2, -1); k.T reverses "
                    "all of them."
                ) from err
            raise
        expected = _attention_variant(q, k, v, 1 / math.sqrt(d))
        if isinstance(got, tuple):
            raise ExerciseError(
                f"{where} returned a tuple of {len(got)} values; return only the "
                f"output tensor, weights @ v, of shape {format_shape(expected.shape)}."
            )
        weights_shape = q.shape[:-1] + (n_k,)
        if (
            isinstance(got, torch.Tensor)
            and got.shape == weights_shape
            and got.shape != expected.shape
        ):
            raise ExerciseError(
                f"{where} returned shape {format_shape(got.shape)}, the shape of the "
                f"attention weights; expected the output "
                f"{format_shape(expected.shape)}: multiply the weights by v."
            )
        if isinstance(got, torch.Tensor) and got.shape == expected.shape:
            got_d = got.detach().double()
            if not torch.allclose(got_d, expected, atol=1e-5, rtol=1e-4):
                wrong = [
                    (
                        _attention_variant(q, k, v, 1.0),
                        "the scores were not scaled: divide q @ k^T by "
                        f"sqrt(d) = sqrt({d}) before the softmax.",
                    ),
                    (
                        _attention_variant(q, k, v, 1 / d),
                        f"the scores were divided by d = {d}; divide by its "
                        f"square root, sqrt(d) = {math.sqrt(d):.3g}.",
                    ),
                    (
                        _attention_variant(q, k, v, 1 / math.sqrt(d_v)),
                        f"the scores were divided by sqrt(d_v) = "
                        f"sqrt({d_v}), the width of the values; the scale uses the "
                        f"width of queries and keys, d = q.shape[-1] = {d}.",
                    ),
                    (
                        _attention_variant(q, k, v, 1 / math.sqrt(n_k)),
                        f"the scores were divided by the square "
                        f"root of the number of keys, {n_k}; divide by sqrt(d) = "
                        f"sqrt(q.shape[-1]) = sqrt({d}).",
                    ),
                    (
                        _attention_variant(q, k, v, 1 / math.sqrt(d), dim=-2),
                        "the softmax ran over the queries "
                        "(dim=-2). Each query's weights must sum to 1 over the keys: "
                        "softmax(dim=-1).",
                    ),
                    (
                        _attention_variant(q, k, v, 1.0, dim=-2),
                        "the softmax ran over the queries (dim=-2) and "
                        "the scores were not scaled. Use softmax(dim=-1) on "
                        "q @ k^T / sqrt(d).",
                    ),
                    (
                        _attention_variant(q, k, v, 1 / math.sqrt(d), softmax=False),
                        "the softmax is missing: "
                        "the scores must become weights that are positive and sum "
                        "to 1 over the keys.",
                    ),
                ]
                for variant, why in wrong:
                    if variant.shape == got_d.shape and torch.allclose(
                        got_d, variant, atol=1e-5, rtol=1e-4
                    ):
                        raise ExerciseError(f"{where}: {why}")
        compare(
            got,
            expected,
            name=where,
            hint=(
                "softmax(q @ k.transpose(-2, -1) / sqrt(d), dim=-1) @ v, "
                "with d = q.shape[-1]."
            ),
        )
    passed(
        name,
        "matches softmax(q k^T / sqrt(d)) v on one sequence, on N_q != N_k with "
        "d_v != d, and with batch and head axes.",
    )


def _padding_cases() -> list[tuple[list[int], int]]:
    """(lengths, N): one sequence, a batch, a batch as long as N (a (B, N) mask
    broadcasts there, wrongly), no padding."""
    return [([3], 5), ([5, 2, 4], 5), ([4, 1, 4, 2], 4), ([7, 7], 7)]


def check_padding_mask(padding_mask: Callable, heads: int = 2) -> None:
    """Chapter 06, a padding mask.

    Verifies that ``padding_mask(lengths, N)``, for a ``(B,)`` int64 tensor of
    sequence lengths and the padded length ``N``, returns a boolean tensor that
    broadcasts against attention scores of shape ``(B, h, N, N)`` (queries,
    then keys) and is True exactly where key ``j < lengths[b]``: every query
    may attend to the real tokens of its own sequence and to no padding. Four
    cases: one sequence, a batch of 3, a batch of ``B = N = 4`` (where a
    ``(B, N)`` mask broadcasts without an error but against the wrong axes),
    and a batch without padding. A non-boolean mask, a mask that does not
    broadcast, masking the queries instead of the keys, ``j <= length`` and an
    inverted mask are each named.
    """
    name = "padding_mask"
    for lengths_list, N in _padding_cases():
        lengths = torch.tensor(lengths_list)
        B = len(lengths_list)
        target = (B, heads, N, N)
        where = f"{name}(lengths=torch.tensor({lengths_list}), N={N})"
        got = call(padding_mask, lengths.clone(), N, name=name)
        keys = torch.arange(N)
        # (B, h, N_q, N_k)
        expected = (keys[None, :] < lengths[:, None])[:, None, None, :].expand(target)
        if not isinstance(got, torch.Tensor):
            compare(got, expected, name=where)  # explains None and wrong types
        if got.dtype != torch.bool:
            raise ExerciseError(
                f"{where} returned a tensor of dtype {got.dtype}; expected a boolean "
                "tensor (True = may attend), as minimodels.attention and "
                "F.scaled_dot_product_attention take. A comparison such as "
                "torch.arange(N) < lengths[:, None] gives one."
            )
        if got.ndim == 2 and got.shape == (B, N) and B > 1:
            raise ExerciseError(
                f"{where} returned shape {format_shape(got.shape)}. Broadcasting "
                "lines a (B, N) mask up with the last two axes of the scores "
                "(queries, keys), not with (batch, keys): add the head and query "
                "axes, mask[:, None, None, :], for shape (B, 1, 1, N) = "
                f"{format_shape((B, 1, 1, N))}."
            )
        try:
            full = torch.broadcast_to(got, target)
        except RuntimeError:
            raise ExerciseError(
                f"{where} returned shape {format_shape(got.shape)}, which does not "
                f"broadcast to the scores' shape (B, h, N_q, N_k) = "
                f"{format_shape(target)}: put the batch axis first and the keys "
                "last, with size-1 axes for heads and queries, (B, 1, 1, N) = "
                f"{format_shape((B, 1, 1, N))}."
            ) from None
        if torch.equal(full, expected):
            continue
        diagnoses = [
            (
                expected.transpose(-2, -1),
                "masks the queries (rows), not the keys (columns). Padding must not be "
                "attended to, so the key axis (the last one) carries the mask: "
                "shape (B, 1, 1, N).",
            ),
            (
                ~expected,
                "is inverted: True must mark the tokens that may be attended to "
                "(the real ones), False the padding.",
            ),
            (
                (keys[None, :] <= lengths[:, None])[:, None, None, :].expand(target),
                "lets each query attend to one "
                "padding token too: tokens are numbered 0 to length - 1, so use "
                "j < length, not j <= length.",
            ),
        ]
        for wrong, why in diagnoses:
            if torch.equal(full, wrong):
                raise ExerciseError(f"{where} {why}")
        diff = (full != expected).nonzero()[0].tolist()
        b, _, i, j = diff
        raise ExerciseError(
            f"{where}: for sequence {b} (length {lengths_list[b]}), query {i} and "
            f"key {j} the mask is {bool(full[tuple(diff)])}; expected "
            f"{bool(expected[tuple(diff)])} (True exactly for keys j < length)."
        )
    passed(
        name,
        f"right for {len(_padding_cases())} batches, "
        "and broadcasts against (B, h, N, N) scores.",
    )


def check_mha_parameters(mha_parameters: Callable) -> None:
    """Chapter 06, the parameters of multi-head attention.

    Verifies that ``mha_parameters(dim, heads, bias)`` returns, as an int, the
    number of parameters of ``MultiHeadAttention(dim, heads, bias=bias)``:
    the packed query/key/value projection and the output projection,
    ``4 D^2`` weights plus ``4 D`` biases when ``bias`` is true. The cases
    include the same width with different numbers of heads (the count does
    not depend on ``h``), layers without biases, and ViT-B's (D = 768,
    h = 12). Forgetting the output projection, the biases, or multiplying by
    the number of heads is named.
    """
    name = "mha_parameters"
    cases = [
        (32, 4, True),
        (32, 8, True),
        (64, 1, False),
        (48, 3, True),
        (10, 5, False),
        (768, 12, True),
    ]
    for dim, heads, bias in cases:
        where = f"mha_parameters(dim={dim}, heads={heads}, bias={bias})"
        expected = count_parameters(MultiHeadAttention(dim, heads, bias=bias))
        got = call(mha_parameters, dim, heads, bias, name=name)
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, numbers.Integral):
            if isinstance(got, numbers.Real) and got == expected:
                raise ExerciseError(
                    f"{where} returned {got!r} ({type(got).__name__}); "
                    f"expected the int {expected}: use integer arithmetic."
                )
            raise ExerciseError(
                f"{where} returned {got!r} ({type(got).__name__}); "
                f"expected the int {expected}."
            )
        if got == expected:
            continue
        b = dim if bias else 0
        hints = {
            3 * (dim * dim + b): (
                "that is the packed query/key/value projection alone; add the output "
                "projection (D x D weights, plus D biases if bias)."
            ),
            4 * dim * dim: (
                "the biases are missing: with bias=True each of the four projections "
                "(query, key, value, output) has D of them."
            ),
            4 * dim * dim + 4 * dim: "bias=False: the projections have no biases.",
            heads * expected: (
                "the number of heads does not change the count: the h heads split the "
                "D features into h slices of D/h; they do not add weights."
            ),
            4 * (dim * (dim // heads) + b): (
                "the projections map D features to D (all heads together), not to D/h."
            ),
        }
        hint = hints.get(
            got,
            "count the weights and biases of in_proj (D -> 3D) and out_proj (D -> D).",
        )
        raise ExerciseError(
            f"{where} returned {got}; expected {expected}. Hint: {hint}"
        )
    passed(
        name,
        f"right on {len(cases)} layers, with and without biases; "
        "the count depends on D only, not on h (or N).",
    )


# --- Exercise 6.4: predict, then run: every token twice ----------------------------

# The outputs count as unchanged when they move by less than SAME_OUTPUTS times the
# largest output (float32 rounding is about 1e-7 of it), and as clearly changed from
# CLEAR_CHANGE on.
SAME_OUTPUTS = 1e-4
CLEAR_CHANGE = 0.1

DUPLICATE_TOKENS_OPTIONS = {
    "a": "the same outputs as before, up to float rounding",
    "b": "slightly different outputs (changed by less than "
    f"{CLEAR_CHANGE:.0%} of the largest output)",
    "c": f"clearly different outputs (changed by {CLEAR_CHANGE:.0%} of the largest "
    "output or more)",
}


def _duplicate_tokens_answer(change: float) -> str:
    """The option of :data:`DUPLICATE_TOKENS_OPTIONS` for a largest change of the
    outputs, relative to the largest output."""
    if change < SAME_OUTPUTS:
        return "a"
    return "b" if change < CLEAR_CHANGE else "c"


def check_duplicate_tokens_prediction(
    predict: Callable, mha: MultiHeadAttention, tokens: torch.Tensor
) -> None:
    """Chapter 06, predict then run: attention over every token twice.

    ``predict()`` returns "a", "b" or "c" of :data:`DUPLICATE_TOKENS_OPTIONS`: how
    the outputs of multi-head attention for the ``N`` tokens of ``tokens``
    ``(B, N, D)`` change when a second copy of all ``N`` tokens is appended to
    the sequence (``2N`` tokens). The check measures the largest change of those
    ``N`` outputs relative to the largest output, picks the option and compares;
    the message adds, for contrast, the change when only the first half of the
    tokens is appended once more. It runs on a copy of ``mha`` (whose ``probs``
    stay as they were).
    """
    if tokens.ndim != 3:
        raise ValueError(
            f"tokens must have shape (B, N, D), got {format_shape(tokens.shape)}"
        )
    N = tokens.shape[1]
    layer = copy.deepcopy(mha).eval()
    with torch.no_grad():
        outputs = layer(tokens)  # (B, N, D)
        twice = layer(torch.cat([tokens, tokens], dim=1))[:, :N]  # (B, N, D)
        half = N // 2  # for contrast: only the first half of the tokens twice
        some_twice = layer(torch.cat([tokens, tokens[:, :half]], dim=1))[:, :N]
    scale = outputs.abs().max().item()
    change = (twice - outputs).abs().max().item() / scale
    change_half = (some_twice - outputs).abs().max().item() / scale
    judge_prediction(
        "duplicate_tokens_prediction",
        predict,
        DUPLICATE_TOKENS_OPTIONS,
        _duplicate_tokens_answer(change),
        measured=(
            f"with all {N} tokens twice ({2 * N} tokens), the outputs of the first "
            f"{N} moved by at most {change:.1g} of the largest output; with only "
            f"the first {half} tokens twice ({N + half} tokens), by up to "
            f"{change_half:.2f}"
        ),
        why=(
            "a key's copy gets the same score as the key itself, so the softmax's "
            "denominator counts every exponential twice: each weight halves, but "
            "every value is now there twice, and the weighted average is the same. "
            "Attention takes a weighted average, not "
            "a sum: it depends on the proportions of the tokens, not on their "
            "number. Duplicate only some of the tokens instead and their share of "
            "every average grows, which changes the outputs. The digit's blank patches "
            "are such duplicates: one key repeated, which weighs as much as all its "
            "copies together."
        ),
    )


# --- Exercise 6.5: open-ended: attention through a window --------------------------

_LOCAL_KEYS = ("grid", "radius", "allowed_fraction", "reach", "answer")
FRACTION_TOLERANCE = 5e-4  # a share rounded to three decimals still counts


def _window(grid: int, radius: int) -> torch.Tensor:
    """(N, N) boolean: query i may attend to key j when their patches are at most
    ``radius`` rows and ``radius`` columns apart on a ``grid x grid`` map."""
    rc = torch.cartesian_prod(torch.arange(grid), torch.arange(grid))  # (N, 2)
    return (rc[:, None] - rc[None]).abs().amax(dim=-1) <= radius


def _reach(window: torch.Tensor, layers: int) -> list[float]:
    """Fraction of (output, input) pairs linked through 1, 2, ... ``layers`` layers
    of attention restricted to ``window`` (which includes every token itself)."""
    linked, out = window.clone(), []
    step = window.double()
    for _ in range(layers):
        out.append(linked.double().mean().item())
        linked = (linked.double() @ step) > 0
    return out


def _fraction_value(value, what: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ExerciseError(
            f"{what} is a {type(value).__name__}; expected a fraction between 0 and 1."
        )
    if not (math.isfinite(value) and 0 < value <= 1):
        raise ExerciseError(
            f"{what} is {value!r}; expected a fraction in (0, 1] (0.25, not 25%)."
        )
    return float(value)


def check_local_attention_report(my_experiment: Callable) -> dict:
    """Chapter 06, open-ended: attention through a window.

    Calls ``my_experiment()`` and verifies the hand-in is complete and coherent:
    a dict with ``grid`` (patches per side, at least 2) and ``radius`` (at
    least 1), ``allowed_fraction`` equal to the share of the ``N x N`` pairs a
    window of that radius allows (|row offset| and |column offset| at most the
    radius; recomputed here), ``reach``, a list of at least two fractions: the
    share of (output, input) pairs linked after 1, 2, ... layers, each equal to
    the one the window's graph gives (recomputed; both within
    :data:`FRACTION_TOLERANCE`), and an ``answer`` of at least 20 words. Prints
    the table; the argument is graded by hand. Returns the hand-in.
    """
    report = hand_in(my_experiment, _LOCAL_KEYS)
    grid = whole_number(report["grid"], '"grid"', 2)
    radius = whole_number(report["radius"], '"radius"', 1)
    window = _window(grid, radius)
    N = grid * grid
    allowed = window.double().mean().item()
    got_allowed = _fraction_value(report["allowed_fraction"], '"allowed_fraction"')
    if abs(got_allowed - allowed) > FRACTION_TOLERANCE:
        raise ExerciseError(
            f'"allowed_fraction" is {got_allowed:.4f}; a window of radius {radius} '
            f"on a {grid} x {grid} grid allows {int(window.sum()):,} of the "
            f"{N * N:,} (query, key) pairs, {allowed:.4f}. Count the pairs over all "
            "N x N, a token with itself included (patches near the border have "
            "fewer neighbours)."
        )
    reach = report["reach"]
    if isinstance(reach, torch.Tensor):
        reach = reach.tolist()
    if not isinstance(reach, (list, tuple)) or len(reach) < 2:
        raise ExerciseError(
            '"reach" must be a list of at least two fractions: the share of '
            "(output, input) pairs linked after 1, 2, ... layers."
        )
    expected = _reach(window, len(reach))
    for layers, (got, want) in enumerate(zip(reach, expected), start=1):
        got = _fraction_value(got, f'"reach" after {layers} layer(s)')
        if abs(got - want) > FRACTION_TOLERANCE:
            hint = (
                " After one layer the reach is the window itself."
                if layers == 1
                else " An output depends on an input when some path of allowed "
                "steps links them, one step per layer; the residual connection "
                "keeps every token linked to itself."
            )
            raise ExerciseError(
                f'"reach" after {layers} layer(s) is {got:.4f}; through {layers} '
                f"layer(s) with a window of radius {radius} on a {grid} x {grid} "
                f"grid, {want:.4f} of the (output, input) pairs are linked.{hint}"
            )
    answer = argument(report)
    to_global = math.ceil((grid - 1) / radius)
    print(
        f"grid {grid} x {grid} ({N} tokens), window radius {radius}: "
        f"{allowed:.1%} of the pairs allowed; every pair linked after "
        f"{to_global} layer(s)"
    )
    print(f"{'layers':>6} {'pairs linked':>12}")
    for layers, fraction in enumerate(reach, start=1):
        print(f"{layers:>6} {float(fraction):>12.1%}")
    print(f"answer: {answer}")
    graded_by_hand("local_attention_report")
    return report
