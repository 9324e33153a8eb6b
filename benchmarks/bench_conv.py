"""conv2d_unfold against torch.nn.functional.conv2d: time ratios.

Prints, for the convolution shapes SmallCNN meets on MNIST (batch 64) and two
larger ones, the time ratio ours / torch for the forward pass and for forward +
backward. The CNN recipe's accuracy and training time: ``bench_cnn.py``. Run
by hand: ``.venv/bin/python benchmarks/bench_conv.py``.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from minimodels.conv import conv2d_unfold
from minimodels.timing import describe_machine, ratio

# (B, C_in, C_out, H, K, stride, padding): SmallCNN's layers on MNIST,
# then two larger ones.
SHAPES = [
    (64, 1, 16, 28, 3, 1, 1),
    (64, 16, 16, 28, 3, 1, 1),
    (64, 16, 32, 14, 3, 1, 1),
    (64, 32, 32, 14, 3, 1, 1),
    (64, 32, 64, 7, 3, 1, 1),
    (64, 64, 64, 7, 3, 1, 1),
    (32, 3, 64, 32, 3, 1, 1),  # a CIFAR-10 stem
    (8, 64, 64, 56, 3, 1, 1),  # a ResNet-18 stage-1 layer at 224 px, batch 8
]


def conv_ratios(repeats: int) -> list[tuple]:
    rows = []
    for B, C, C_out, H, K, s, p in SHAPES:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(B, C, H, H, generator=g, requires_grad=True)
        w = torch.randn(C_out, C, K, K, generator=g, requires_grad=True)
        b = torch.randn(C_out, generator=g, requires_grad=True)
        with torch.no_grad():
            fwd = ratio(
                lambda: conv2d_unfold(x, w, b, s, p),
                lambda: F.conv2d(x, w, b, s, p),
                repeats,
            )
        upstream = torch.randn_like(F.conv2d(x, w, b, s, p))

        def train_step(conv):
            return lambda: torch.autograd.grad(conv(x, w, b, s, p), (x, w, b), upstream)

        both = ratio(train_step(conv2d_unfold), train_step(F.conv2d), repeats)
        rows.append(((B, C, C_out, H, K, s, p), fwd, both))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    print(describe_machine())
    print(
        "\nconv2d_unfold / F.conv2d time ratio (fastest of --repeats runs each, "
        "median of 3 rounds; < 1: ours faster)"
    )
    print(f"{'(B, C_in, C_out, H, K, stride, pad)':<38} {'forward':>8} {'fwd+bwd':>8}")
    rows = conv_ratios(args.repeats)
    for shape, fwd, both in rows:
        print(f"{str(shape):<38} {fwd:>7.2f}x {both:>7.2f}x")
    worst_fwd = max(r[1] for r in rows)
    worst_both = max(r[2] for r in rows)
    print(f"{'worst':<38} {worst_fwd:>7.2f}x {worst_both:>7.2f}x")


if __name__ == "__main__":
    main()
