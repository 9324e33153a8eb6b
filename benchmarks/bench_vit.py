"""The course's ViT recipe on MNIST-5k: test accuracy and training seconds.

Trains ``minimodels.recipes.vit_recipe`` (the model chapter 07 trains) once
per seed and prints each run. Target: at least 95% test accuracy with at most
120 s of training on a 2-core CPU. Run by hand:
``.venv/bin/python benchmarks/bench_vit.py [--seeds 0 1 2]``.
"""

from __future__ import annotations

import argparse
import platform

import torch

from minimodels.data import load_mnist5k
from minimodels.recipes import vit_recipe
from minimodels.train import count_parameters, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    split = load_mnist5k()
    for seed in args.seeds:
        model, config, augment = vit_recipe(seed=seed)
        history = fit(model, split.train, split.test, config, augment=augment, progress=False)
        print(
            f"ViT ({count_parameters(model):,} parameters), seed {seed}, {config.epochs} epochs: "
            f"test accuracy {history.test_acc[-1]:.4f}, training {history.seconds:.1f} s"
        )


if __name__ == "__main__":
    main()
