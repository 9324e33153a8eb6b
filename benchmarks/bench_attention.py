"""minimodels.attention against torch.nn.functional.scaled_dot_product_attention.

Prints, for the sequence lengths of common ViTs and one longer sequence, the
time ratio ours / torch for the forward pass and for forward + backward (the
gradients of q, k and v). Ours writes the (B, h, N, N) weights to memory and
reads them back; PyTorch's fused CPU kernel (FlashAttention-style) does not.
Run by hand: ``.venv/bin/python benchmarks/bench_attention.py``.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from minimodels.attention import attention
from minimodels.timing import describe_machine, ratio

# (B, h, N, d, what): heads of width 64 as in ViT-S and ViT-B, batches sized so that
# each call takes milliseconds.
SHAPES = [
    (16, 6, 50, 64, "ViT-S/32 at 224 px"),
    (4, 6, 197, 64, "ViT-S/16 at 224 px"),
    (1, 12, 577, 64, "ViT-B/16 at 384 px"),
    (1, 12, 1024, 64, "1,024 tokens, ViT-B heads"),
]


def attention_ratios(repeats: int) -> list[tuple]:
    rows = []
    for B, h, N, d, what in SHAPES:
        g = torch.Generator().manual_seed(0)
        q, k, v = (
            torch.randn(B, h, N, d, generator=g, requires_grad=True) for _ in range(3)
        )

        def ours():
            return attention(q, k, v)[0]

        def sdpa():
            return F.scaled_dot_product_attention(q, k, v)

        with torch.no_grad():
            fwd = ratio(ours, sdpa, repeats)
        upstream = torch.randn(B, h, N, d, generator=g)

        def train_step(fn):
            return lambda: torch.autograd.grad(fn(), (q, k, v), upstream)

        both = ratio(train_step(ours), train_step(sdpa), repeats)
        rows.append(((B, h, N, d), what, fwd, both))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    print(describe_machine())
    print(
        "\nattention / F.scaled_dot_product_attention time ratio (fastest of --repeats "
        "runs each, median of 3 rounds; < 1: ours faster)"
    )
    print(f"{'(B, h, N, d)':<20} {'':<27} {'forward':>8} {'fwd+bwd':>8}")
    rows = attention_ratios(args.repeats)
    for shape, what, fwd, both in rows:
        print(f"{str(shape):<20} {what:<27} {fwd:>7.2f}x {both:>7.2f}x")
    worst_fwd = max(r[2] for r in rows)
    worst_both = max(r[3] for r in rows)
    print(f"{'worst':<48} {worst_fwd:>7.2f}x {worst_both:>7.2f}x")


if __name__ == "__main__":
    main()
