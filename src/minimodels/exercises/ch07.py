"""Exercise checks of chapter 07 (The Vision Transformer)."""

from __future__ import annotations

import math
import numbers
from typing import Callable

import torch
from torch import nn

from ..recipes import RECIPES
from ..train import count_parameters, eval_mode
from ..vit import ViT
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
    "check_vit_forward",
    "check_block_parameters",
    "check_attention_received",
    "CORNER_TOKEN_OPTIONS",
    "check_corner_token_prediction",
    "check_vit_variant_report",
]


def _vit_logits(
    model,
    images: torch.Tensor,
    *,
    positions: bool = True,
    final_norm: bool = True,
    readout: str | None = None,
    pool_first: bool = False,
) -> torch.Tensor:
    """A ViT's logits from its parts; the flags build the classic wrong answers."""
    t = model.patch_embed(images)  # (B, N, D)
    if model.cls_token is not None:
        t = torch.cat([model.cls_token.expand(len(t), -1, -1), t], dim=1)
    if positions and model.pos_embedding is not None:
        t = t + model.pos_embedding
    for block in model.blocks:
        t = block(t)
    readout = readout or model.readout
    norm = model.norm if final_norm else torch.nn.Identity()
    if not pool_first:
        t = norm(t)
    if readout == "cls":
        pooled = t[:, 0]
    elif readout == "patches":  # the mean of the patch tokens, class token left out
        pooled = t[:, 1:].mean(dim=1)
    else:
        pooled = t.mean(dim=1)
    return model.head(norm(pooled) if pool_first else pooled)


def check_vit_forward(vit_forward: Callable) -> None:
    """Chapter 07, the Vision Transformer's forward pass.

    Verifies that ``vit_forward(model, images)`` computes the logits of a
    :class:`minimodels.vit.ViT` from its parts (``patch_embed``, ``cls_token``,
    ``pos_embedding``, ``blocks``, ``norm``, ``head``, ``readout``): against
    torchvision's ``VisionTransformer`` holding the same weights
    (:func:`minimodels.vit.to_torchvision`) for two class-token ViTs with learned
    positions, and against the package's tested ``ViT`` for a mean-readout ViT with
    sine-cosine positions and one without positions. The class token, positions and
    LayerNorm parameters are random, so leaving any of them out changes the logits.
    Forgetting the positions, reading the mean for a class-token model (or the class
    token for a mean model), skipping the final LayerNorm and pooling before it are
    named.
    """
    from ..train import seed_everything
    from ..vit import ViT, to_torchvision

    cases = [
        ("a class-token ViT, 7x7 patches", dict(patch_size=7, dim=32, depth=2)),
        ("a class-token ViT, 4x4 patches", dict(patch_size=4, dim=16, depth=1)),
        (
            "a mean-readout ViT with sine-cosine positions",
            dict(patch_size=7, dim=32, depth=2, readout="mean", pos_embedding="sincos"),
        ),
        (
            "a mean-readout ViT without positions",
            dict(patch_size=4, dim=16, depth=1, readout="mean", pos_embedding="none"),
        ),
    ]
    wrong = {
        "positions": (
            dict(positions=False),
            "the position embeddings were not added: add model.pos_embedding to "
            "the tokens (after the class token is in place).",
        ),
        "mean": (
            dict(readout="mean"),
            "this model reads its class token: take token 0 after the final "
            "LayerNorm, not the mean of the tokens.",
        ),
        "patches": (
            dict(readout="patches"),
            "this model reads its class token: take token 0 after the final "
            "LayerNorm, not the mean of the patch tokens.",
        ),
        "cls": (
            dict(readout="cls"),
            "this model has no class token (model.readout is 'mean'): average "
            "all the tokens after the final LayerNorm.",
        ),
        "final norm": (
            dict(final_norm=False),
            "the final LayerNorm (model.norm) is missing: apply it before the head.",
        ),
        "pool first": (
            dict(pool_first=True),
            "apply model.norm to every token first, then pool (norm, then mean).",
        ),
    }
    for what, args in cases:
        seed_everything(3)
        model = ViT(heads=2, mlp_dim=2 * args["dim"], **args).eval()
        with torch.no_grad():  # random class token, positions and norms: all matter
            for name, p in model.named_parameters():
                if "cls_token" in name or "pos_embedding" in name or "norm" in name:
                    p.copy_(torch.randn_like(p))
        images = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(4))
        with torch.no_grad():
            if model.readout == "cls":
                reference = "torchvision's VisionTransformer"
                expected = to_torchvision(model)(images)
            else:
                reference = "minimodels.vit.ViT"
                expected = model(images)
            got = call(vit_forward, model, images, name="vit_forward")
            if (
                isinstance(got, torch.Tensor)
                and got.shape == expected.shape
                and not torch.allclose(got, expected, atol=1e-4)
            ):
                for flags, hint in wrong.values():
                    if flags.get("readout") == model.readout:
                        continue
                    if model.readout == "mean" and flags.get("readout") == "patches":
                        continue
                    if model.pos_embedding is None and "positions" in flags:
                        continue
                    almost = _vit_logits(model, images, **flags)
                    if torch.allclose(got, almost, atol=1e-4):
                        raise ExerciseError(f"vit_forward on {what}: {hint}")
        compare(
            got,
            expected,
            name=f"vit_forward on {what} (expected: {reference})",
            atol=1e-4,
            hint="embed, add the class token, add positions, run the blocks, "
            "LayerNorm, read out, head.",
        )
    passed(
        "vit_forward",
        "matches torchvision's VisionTransformer (class token) and minimodels.vit.ViT "
        "(mean readout, sine-cosine or no positions).",
    )


def check_block_parameters(block_parameters: Callable) -> None:
    """Chapter 07, parameters of one Transformer block.

    Verifies that ``block_parameters(dim, mlp_dim)`` returns the trainable
    parameters of :class:`minimodels.vit.TransformerBlock` (two LayerNorms,
    multi-head attention with biases, a two-layer MLP with biases) for five
    sizes, and that the answer does not depend on the number of heads or
    tokens (neither is an argument). The expected count is taken from the
    module itself, not from a formula.
    """
    from ..train import count_parameters
    from ..vit import TransformerBlock

    for dim, mlp_dim in [(64, 128), (16, 64), (8, 8), (192, 768), (768, 3072)]:
        expected = count_parameters(
            TransformerBlock(dim, heads=4 if dim % 4 == 0 else 1, mlp_dim=mlp_dim)
        )
        got = call(block_parameters, dim, mlp_dim, name="block_parameters")
        if got != expected:
            attn, mlp, norms = (
                4 * dim * dim + 4 * dim,
                2 * dim * mlp_dim + mlp_dim + dim,
                4 * dim,
            )
            parts = f"(attention {attn:,}, MLP {mlp:,}, two LayerNorms {norms:,})"
            hint = ""
            if got == attn + mlp:
                hint = (
                    " The two LayerNorms have parameters too: a scale and a shift "
                    "per feature."
                )
            elif got == expected - 4 * dim:
                hint = (
                    " Count the biases of the four attention projections "
                    "(query, key, value, output)."
                )
            raise ExerciseError(
                f"block_parameters(dim={dim}, mlp_dim={mlp_dim}) returned {got!r}; "
                f"expected {expected:,} {parts}.{hint}"
            )
    passed("block_parameters", "correct for five block sizes, up to ViT-B's (dim 768).")


def check_attention_received(attention_received: Callable) -> None:
    """Chapter 07, how much attention each token receives.

    Verifies that ``attention_received(weights)`` turns attention weights of
    shape ``(B, h, N, N)`` (rows: queries, columns: keys; each row sums to 1)
    into a ``(B, N)`` tensor: for each image, the attention each token gets as
    a *key*, averaged over heads and over all queries. Tried on three random
    weight tensors of different B, h and N; averaging over the wrong axis
    (which gives 1/N everywhere, since rows sum to 1) and summing instead of
    averaging are named.
    """
    g = torch.Generator().manual_seed(7)
    for B, h, N in [(2, 4, 5), (1, 3, 9), (3, 1, 50)]:
        weights = torch.rand(B, h, N, N, generator=g).softmax(dim=-1)
        expected = weights.mean(dim=(1, 2))
        what = f"attention_received on weights of shape ({B}, {h}, {N}, {N})"
        got = call(attention_received, weights.clone(), name="attention_received")
        if (
            isinstance(got, torch.Tensor)
            and got.shape == expected.shape
            and not torch.allclose(got, expected, atol=1e-6)
        ):
            if torch.allclose(got, torch.full_like(got, 1 / N), atol=1e-6):
                raise ExerciseError(
                    f"{what} returned 1/N = {1 / N:.4f} for every token: you averaged "
                    "over the keys (the last axis), where every row sums to 1. "
                    "Average over the heads and the queries (dims 1 and 2)."
                )
            if torch.allclose(got, weights.sum(dim=(1, 2)), atol=1e-5):
                raise ExerciseError(
                    f"{what}: you summed over heads and queries; take the mean "
                    "instead, so the values are shares."
                )
        compare(
            got,
            expected,
            name=what,
            hint="average weights over dims 1 (heads) and 2 (queries).",
        )
    passed("attention_received", "correct on three weight tensors of different shapes.")


# --- Exercise 7.4: predict, then run: read out one corner token --------------------

CORNER_TOKEN_OPTIONS = accuracy_drop_options("with the mean of all its tokens")


def check_corner_token_prediction(
    predict: Callable, model: nn.Module, images: torch.Tensor, labels: torch.Tensor
) -> None:
    """Chapter 07, predict then run: the head reads one corner token only.

    ``predict()`` returns "a", "b" or "c" of :data:`CORNER_TOKEN_OPTIONS`: how the
    accuracy of the trained ViT ``model`` (mean readout) on ``images`` changes
    when its head reads, instead of the mean of the final tokens, the final
    token of the top-left patch alone (after the final LayerNorm). The check
    measures both, picks the option the drop falls in and compares; the message
    adds how many of the digits have a blank top-left patch and the range of
    accuracies over every single token. ``model`` is left as it was.
    """
    if getattr(model, "readout", None) != "mean":
        raise ValueError("the check reads a ViT with readout='mean'")
    P = model.patch_size
    with torch.no_grad(), eval_mode(model):
        features = model.features(images)
        final = model.norm(features["tokens"][-1])  # (B, N, D)
        predictions = model.head(final).argmax(-1)  # (B, N): one per token
    correct = (predictions == labels[:, None]).float().mean(0)  # (N,)
    mean_acc = (features["logits"].argmax(1) == labels).float().mean().item()
    corner = correct[0].item()
    blank = (images[..., :P, :P].flatten(1).amax(1) <= 0).float().mean().item()
    answer, drop = accuracy_drop_answer(mean_acc, corner)
    judge_prediction(
        "corner_token_prediction",
        predict,
        CORNER_TOKEN_OPTIONS,
        answer,
        measured=(
            f"on {len(labels):,} test digits, {mean_acc:.1%} with the mean of the "
            f"tokens, {corner:.1%} with the top-left token alone ({drop}); that "
            f"patch is blank in {blank:.0%} of the digits. Each of the "
            f"{len(correct)} tokens alone gives between {correct.min().item():.1%} "
            f"and {correct.max().item():.1%}"
        ),
        why=(
            "a blank patch enters the first block as the same token for every "
            "digit (the embedding's bias plus its position), so whatever the corner "
            "token knows about the digit at the end came to it through attention. "
            "Every attention layer mixes every token with all the others (chapter "
            f"6), and after {len(model.blocks)} blocks each token has gathered what "
            "the head needs: the tokens end up so alike that the mean of them and "
            "any one of them give nearly the same prediction. The model was never "
            "trained to read the corner alone; mixing made it readable anyway."
        ),
    )


# --- Exercise 7.5: open-ended: a change to the ViT, measured cheaply ---------------

_VARIANT_KEYS = ("variant", "config", "parameters", "tokens", "step_ms")


def _recipe_vit(config: dict) -> nn.Module:
    """The recipe's ViT with ``config`` overriding its arguments; the global random
    state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        return ViT(**{**RECIPES["vit"].model, **config})


def check_vit_variant_report(my_experiment: Callable) -> dict:
    """Chapter 07, open-ended: a change to the ViT, measured cheaply.

    Calls ``my_experiment()`` and verifies the hand-in is complete and coherent:
    a dict with ``"rows"``, a list of at least two dicts, the first the recipe's
    ViT (``config`` empty), each with ``variant`` (a name), ``config`` (the
    arguments of ``ViT`` that differ from ``RECIPES["vit"].model``),
    ``parameters`` and ``tokens`` (the tokens each block sees) equal to those of
    that ViT (rebuilt and recounted here), and ``step_ms``, the measured time of
    one training step, a positive number; and an ``"answer"`` of at least 20
    words. Prints the table with each row relative to the recipe; the argument
    is graded by hand. Returns the hand-in.
    """
    report = hand_in(my_experiment, ("rows", "answer"))
    rows = report["rows"]
    if not isinstance(rows, (list, tuple)) or len(rows) < 2:
        raise ExerciseError(
            '"rows" must be a list of at least two rows: the recipe\'s ViT first, '
            "then your variant(s)."
        )
    for k, row in enumerate(rows):
        where = f"row {k}"
        if not isinstance(row, dict):
            raise ExerciseError(f"{where} is a {type(row).__name__}; expected a dict.")
        missing = [key for key in _VARIANT_KEYS if key not in row]
        if missing:
            raise ExerciseError(
                f"{where} has no {', '.join(map(repr, missing))}; each row needs "
                f"{', '.join(map(repr, _VARIANT_KEYS))}."
            )
        where = f"row {k} ({row['variant']!r})"
        config = row["config"]
        if not isinstance(config, dict):
            raise ExerciseError(
                f'{where}: "config" is a {type(config).__name__}; expected a dict '
                'of ViT arguments, such as {"patch_size": 4} ({} for the recipe).'
            )
        if k == 0 and config:
            raise ExerciseError(
                f"{where}: the first row must be the recipe's ViT, with "
                f'"config" {{}}; got {config!r}.'
            )
        try:
            model = _recipe_vit(config)
        except (TypeError, ValueError) as err:
            raise ExerciseError(
                f'{where}: ViT cannot be built with "config" {config!r}: {err}'
            ) from None
        expected = {
            "parameters": count_parameters(model),
            "tokens": model.num_patches + (model.cls_token is not None),
        }
        for key, value in expected.items():
            got = row[key]
            if got != value or isinstance(got, bool):
                raise ExerciseError(
                    f'{where}: "{key}" is {got!r}; the recipe\'s ViT with {config!r} '
                    f"has {value:,}."
                )
        step = row["step_ms"]
        if isinstance(step, torch.Tensor) and step.numel() == 1:
            step = step.item()
        if (
            isinstance(step, bool)
            or not isinstance(step, numbers.Real)
            or not (math.isfinite(step) and step > 0)
        ):
            raise ExerciseError(
                f'{where}: "step_ms" is {step!r}; expected the time of one training '
                "step in milliseconds, a positive number."
            )
    answer = argument(report)
    base = rows[0]
    print(
        f"{'variant':<22} {'tokens':>6} {'parameters':>10} {'x recipe':>8} "
        f"{'step (ms)':>9} {'x recipe':>8}"
    )
    for row in rows:
        print(
            f"{str(row['variant'])[:22]:<22} {row['tokens']:>6,} "
            f"{row['parameters']:>10,} {row['parameters'] / base['parameters']:>8.2f} "
            f"{float(row['step_ms']):>9.1f} "
            f"{float(row['step_ms']) / float(base['step_ms']):>8.2f}"
        )
    print(f"answer: {answer}")
    graded_by_hand("vit_variant_report")
    return report
