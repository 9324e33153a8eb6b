"""SmallCNN with our kernels against the same network with torch's (kernels="torch").

Prints the time ratio ours / torch of one training step (forward, backward,
AdamW update) on a batch of 64 MNIST-size images, for the course's CNN recipe
(``minimodels.recipes.SMALL_CNN``) with each downsampling option. tests/test_cnn.py
shows the two compute the same function, so this ratio is what an experiment
saves by training with ``kernels="torch"``. Run by hand:
``.venv/bin/python benchmarks/bench_kernels.py``.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from minimodels.cnn import SmallCNN
from minimodels.recipes import SMALL_CNN
from minimodels.timing import best_seconds, describe_machine, ratio


def training_step(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step():
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    print(describe_machine())
    g = torch.Generator().manual_seed(0)
    x = torch.rand(args.batch_size, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (args.batch_size,), generator=g)
    print(
        f"\nSmallCNN {SMALL_CNN}, one training step on {args.batch_size} images "
        "(fastest of --repeats, median of 3 rounds)"
    )
    print(f"{'downsample':<10} {'ours ms':>8} {'torch ms':>9} {'ours/torch':>11}")
    for downsample in ("max", "blur"):
        steps = {}
        for kernels in ("ours", "torch"):
            torch.manual_seed(0)
            model = SmallCNN(
                **{**SMALL_CNN, "downsample": downsample}, kernels=kernels
            ).train()
            steps[kernels] = training_step(model, x, y)
        r = ratio(steps["ours"], steps["torch"], args.repeats)
        ms = {k: 1000 * best_seconds(s, args.repeats) for k, s in steps.items()}
        print(f"{downsample:<10} {ms['ours']:>8.1f} {ms['torch']:>9.1f} {r:>10.2f}x")


if __name__ == "__main__":
    main()
