"""The course's CNN recipe on MNIST-5k: test accuracy and training seconds.

Trains ``minimodels.recipes.small_cnn_recipe`` (the model chapter 04 trains)
once per seed on the training and validation splits (the recipe is fixed),
prints each run, then one summary line: the mean test accuracy with its 95%
t-interval over the seeds and the slowest run's training seconds. Run by hand:
``.venv/bin/python benchmarks/bench_cnn.py [--seeds 0 1 2]``.
"""

from __future__ import annotations

import argparse

from minimodels.data import load_mnist5k
from minimodels.recipes import small_cnn_recipe
from minimodels.stats import summary_line
from minimodels.timing import describe_machine
from minimodels.train import count_parameters, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    print(describe_machine())
    split = load_mnist5k()
    train = split.train_and_val()  # the recipe is fixed: train + val, 4,000 images
    accuracies, seconds = [], []
    for seed in args.seeds:
        model, config = small_cnn_recipe(seed=seed)
        history = fit(model, train, split.test, config, progress=False)
        accuracies.append(history.test_acc[-1])
        seconds.append(history.seconds)
        print(
            f"SmallCNN recipe ({count_parameters(model):,} parameters), seed {seed}, "
            f"{config.epochs} epochs: test accuracy {accuracies[-1]:.4f}, "
            f"training {seconds[-1]:.1f} s",
            flush=True,
        )
    print(summary_line("CNN recipe", accuracies, seconds))


if __name__ == "__main__":
    main()
