"""ViT: a Vision Transformer built from our own pieces. Built in chapter 07.

The model of Dosovitskiy et al. (2021, sec. 3.1, eqs. 1-4), sized for 28 x 28
images:

1. :class:`~minimodels.patches.PatchEmbedding` cuts the image into ``P x P``
   patches and maps each linearly to a ``D``-dimensional token (eq. 1);
2. a learned class token is prepended (``readout="cls"``) and position
   embeddings are added: learned, fixed 2-D sine-cosine, or none;
3. ``depth`` pre-norm Transformer blocks (eqs. 2-3), each
   ``x + MHA(LN(x))`` then ``x + MLP(LN(x))`` with a GELU MLP;
4. a final LayerNorm and a linear head on the class token, or on the mean of
   the patch tokens (``readout="mean"``, as in Beyer et al. 2022) (eq. 4).

With ``readout="cls"`` and learned positions the parameters map one to one onto
``torchvision.models.VisionTransformer`` (tests/test_vit.py copies them across
and compares logits). ``features(x)`` returns the tokens after every block and
each block's attention weights, for plots.

Two options serve the later chapters:

* ``embedding=`` takes any module that turns ``(B, C, H, W)`` images into
  ``(B, N, D)`` tokens on the ``P x P`` grid in place of the linear patch
  embedding, for example the convolutional stem of :mod:`minimodels.hybrid`
  (Xiao et al. 2021), a hybrid of the two tracks (chapters 09 and 11). The
  ViT itself knows nothing of convolutions;
* ``forward(x, keep=...)`` drops patch tokens: only the patches whose indices
  ``keep`` lists go through the blocks. A ViT can simply not look at a patch,
  where a CNN has to be shown a black one; chapter 12 compares the two, after
  the patch-dropping experiments of Naseer et al. (2021).
"""

from __future__ import annotations

import torch
from torch import nn

from .attention import MultiHeadAttention
from .patches import PatchEmbedding, linear_to_conv_weight, sincos_position_embedding
from .shapes import check_images, format_shape

__all__ = ["ViT", "TransformerBlock", "to_torchvision"]

READOUTS = ("cls", "mean")
POSITIONS = ("learned", "sincos", "none")


class TransformerBlock(nn.Module):
    """Pre-norm Transformer encoder block on ``(B, N, D)`` tokens (ViT eqs. 2-3)."""

    def __init__(self, dim: int, heads: int, mlp_dim: int, dropout: float = 0.0):
        super().__init__()
        # eps=1e-6 as in ViT and torchvision's VisionTransformer.
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiHeadAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(mlp_dim, dim),
            nn.Dropout(dropout),
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout(
            self.attn(self.norm1(x))
        )  # every token mixes with every other
        return x + self.mlp(self.norm2(x))  # each token on its own


class ViT(nn.Module):
    """A Vision Transformer for small images; every argument is keyword-only.

    image_size: side of the (square) input images, divisible by patch_size.
    patch_size: side P of each patch; N = (image_size / P)^2 tokens.
    in_channels, num_classes: input channels and outputs.
    dim: token width D; depth: Transformer blocks; heads: h (divides D).
    mlp_dim: hidden width of each block's MLP (ViT uses 4 D).
    readout: what the head reads: "cls" (a learned class token, as ViT) or
        "mean" (the average of the patch tokens).
    pos_embedding: "learned" (ViT), "sincos" (fixed 2-D) or "none".
    dropout: dropout after attention and inside the MLP.
    embedding: the module that turns images into ``(B, N, D)`` tokens, one per
        ``P x P`` patch in row order; default the linear
        :class:`~minimodels.patches.PatchEmbedding` (ViT), or e.g. a
        :class:`~minimodels.hybrid.ConvStem` (the hybrid).
    """

    def __init__(
        self,
        *,
        image_size: int = 28,
        patch_size: int = 4,
        in_channels: int = 1,
        num_classes: int = 10,
        dim: int = 64,
        depth: int = 4,
        heads: int = 4,
        mlp_dim: int = 128,
        readout: str = "cls",
        pos_embedding: str = "learned",
        dropout: float = 0.0,
        embedding: nn.Module | None = None,
    ):
        super().__init__()
        if image_size % patch_size:
            raise ValueError(
                f"image_size {image_size} is not divisible by patch_size {patch_size}"
            )
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
        if pos_embedding not in POSITIONS:
            raise ValueError(
                f"pos_embedding must be one of {POSITIONS}, got {pos_embedding!r}"
            )
        self.image_size, self.patch_size, self.in_channels = (
            image_size,
            patch_size,
            in_channels,
        )
        self.num_classes, self.dim, self.depth, self.heads, self.mlp_dim = (
            num_classes,
            dim,
            depth,
            heads,
            mlp_dim,
        )
        self.readout, self.pos_kind = readout, pos_embedding
        grid = image_size // patch_size
        self.num_patches = grid * grid
        # Passed in, not switched on: the ViT needs only (B, N, D) tokens from it.
        self.patch_embed = (
            PatchEmbedding(patch_size, in_channels, dim)
            if embedding is None
            else embedding
        )
        self.cls_token = (
            nn.Parameter(torch.zeros(1, 1, dim)) if readout == "cls" else None
        )
        n_tokens = self.num_patches + (readout == "cls")
        if pos_embedding == "learned":
            # Small random init, as torchvision (std 0.02).
            self.pos_embedding = nn.Parameter(torch.randn(1, n_tokens, dim) * 0.02)
        elif pos_embedding == "sincos":
            table = sincos_position_embedding(grid, grid, dim)
            if readout == "cls":  # the class token has no position: a row of zeros
                table = torch.cat([torch.zeros(1, dim), table])
            self.register_buffer("pos_embedding", table.unsqueeze(0), persistent=False)
        else:
            self.pos_embedding = None
        self.blocks = nn.ModuleList(
            TransformerBlock(dim, heads, mlp_dim, dropout) for _ in range(depth)
        )
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)

    def _keep(self, t: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Tokens ``keep`` selects, ``(B, M (+1), D)``; the class token always stays."""
        B, N = t.shape[0], self.num_patches
        if (
            not isinstance(keep, torch.Tensor)
            or keep.dtype != torch.int64
            or keep.ndim != 2
            or keep.shape[0] != B
        ):
            got = (
                f"shape {tuple(keep.shape)}, dtype {keep.dtype}"
                if isinstance(keep, torch.Tensor)
                else type(keep).__name__
            )
            raise ValueError(
                "keep must be a (B, M) int64 tensor of patch indices "
                f"with B = {B}, got {got}"
            )
        if keep.numel() and (keep.min() < 0 or keep.max() >= N):
            raise ValueError(
                f"keep holds patch indices in [0, {N}), "
                f"got values from {keep.min().item()} to {keep.max().item()}"
            )
        first = 1 if self.cls_token is not None else 0
        rows = torch.arange(B, device=t.device).unsqueeze(1)  # (B, 1)
        kept = t[:, first:][rows, keep.to(t.device)]  # (B, M, D)
        return torch.cat([t[:, :first], kept], dim=1)

    def tokens(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Input tokens of the first block: ``(B, N (+1), D)``.

        With ``keep``, ``(B, M (+1), D)``: ``keep`` (optional, ``(B, M)`` int64) lists
        the patch tokens to keep, per image. They are selected *after* the position
        embedding is added, so each kept token still says where its patch was.
        """
        check_images(x, "ViT", channels=self.in_channels, size=self.image_size)
        t = self.patch_embed(x)  # (B, N, D)
        if t.shape[1:] != (self.num_patches, self.dim):
            raise ValueError(
                f"ViT: the embedding {type(self.patch_embed).__name__} "
                "must return tokens of shape "
                f"(B, {self.num_patches}, {self.dim}), "
                f"got shape {format_shape(t.shape)}"
            )
        if self.cls_token is not None:
            t = torch.cat([self.cls_token.expand(t.shape[0], -1, -1), t], dim=1)
        if self.pos_embedding is not None:
            t = t + self.pos_embedding
        if keep is not None:
            t = self._keep(t, keep)  # (B, M (+1), D)
        return t

    def _head(self, t: torch.Tensor) -> torch.Tensor:
        t = self.norm(t)
        pooled = t[:, 0] if self.readout == "cls" else t.mean(dim=1)  # (B, D)
        return self.head(pooled)

    def forward(
        self, x: torch.Tensor, keep: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits ``(B, classes)``.

        ``keep`` (optional, ``(B, M)``) drops the other patch tokens.
        """
        t = self.tokens(x, keep)
        for block in self.blocks:
            t = block(t)
        return self._head(t)  # (B, classes)

    def features(
        self, x: torch.Tensor, keep: torch.Tensor | None = None
    ) -> dict[str, object]:
        """``tokens``: list of (B, N(+1), D) after the embedding and each block;
        ``attention``: list of (B, h, N(+1), N(+1)) weights per block; ``logits``.
        With ``keep``, M kept tokens instead of N."""
        t = self.tokens(x, keep)
        tokens, weights = [t], []
        for block in self.blocks:
            t = block(t)
            tokens.append(t)
            weights.append(block.attn.probs)
        return {"tokens": tokens, "attention": weights, "logits": self._head(t)}


def to_torchvision(model: ViT):
    """A ``torchvision.models.VisionTransformer`` holding a copy of ``model``'s weights.

    Only for ``readout="cls"`` with learned positions and the linear patch
    embedding, the one configuration
    torchvision builds. Its logits equal ours (tests/test_vit.py; chapter 07):
    the evidence that our blocks are the standard ones.
    """
    from torchvision.models import VisionTransformer

    if not isinstance(model.patch_embed, PatchEmbedding):
        raise ValueError(
            f"torchvision's VisionTransformer embeds patches linearly; got embedding "
            f"{type(model.patch_embed).__name__} "
            "(a convolutional stem has no torchvision counterpart)"
        )
    if model.readout != "cls" or model.pos_kind != "learned":
        raise ValueError(
            f"torchvision's VisionTransformer has a class token and learned positions; "
            f"got readout={model.readout!r}, pos_embedding={model.pos_kind!r}"
        )
    tv = VisionTransformer(
        image_size=model.image_size,
        patch_size=model.patch_size,
        num_layers=model.depth,
        num_heads=model.heads,
        hidden_dim=model.dim,
        mlp_dim=model.mlp_dim,
        num_classes=model.num_classes,
    )
    P, C = model.patch_size, model.in_channels
    tv.conv_proj = nn.Conv2d(
        C, model.dim, kernel_size=P, stride=P
    )  # torchvision fixes C = 3
    with torch.no_grad():
        # The linear patch embedding is a convolution with kernel = stride = P
        # (chapter 05).
        tv.conv_proj.weight.copy_(
            linear_to_conv_weight(model.patch_embed.proj.weight, P, C)
        )
        tv.conv_proj.bias.copy_(model.patch_embed.proj.bias)
        tv.class_token.copy_(model.cls_token)
        tv.encoder.pos_embedding.copy_(model.pos_embedding)
        for ours, theirs in zip(model.blocks, tv.encoder.layers):
            theirs.ln_1.load_state_dict(ours.norm1.state_dict())
            theirs.ln_2.load_state_dict(ours.norm2.state_dict())
            theirs.self_attention.in_proj_weight.copy_(ours.attn.in_proj.weight)
            theirs.self_attention.in_proj_bias.copy_(ours.attn.in_proj.bias)
            theirs.self_attention.out_proj.load_state_dict(
                ours.attn.out_proj.state_dict()
            )
            theirs.mlp[0].load_state_dict(ours.mlp[0].state_dict())
            theirs.mlp[3].load_state_dict(ours.mlp[3].state_dict())
        tv.encoder.ln.load_state_dict(model.norm.state_dict())
        tv.heads.head.load_state_dict(model.head.state_dict())
    return tv.eval()
