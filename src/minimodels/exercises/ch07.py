"""Exercise checks of chapter 07 (The Vision Transformer)."""

from __future__ import annotations

from typing import Callable

import torch

from .core import ExerciseError, call, compare, passed

__all__ = ["check_vit_forward", "check_block_parameters", "check_attention_received"]


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
