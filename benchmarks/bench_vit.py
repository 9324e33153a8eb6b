"""The course's ViT recipe on MNIST-5k: test accuracy and training seconds.

Trains ``minimodels.recipes.vit_recipe`` (the model chapter 07 trains) once
per seed on the training and validation splits (the recipe is fixed) and prints
each run, then one summary line per variant: the mean test accuracy with its
95% t-interval over the seeds and the slowest run's training seconds. Target:
at least 95% test accuracy with at most 120 s of training on a 2-core CPU.
``--ablation`` also trains, at the full budget, the recipe without random
shifts and a plain run (constant learning rate, no warm-up, weight decay, label
smoothing or shifts). Run by hand:
``.venv/bin/python benchmarks/bench_vit.py [--seeds 0 1 2] [--ablation]``.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from minimodels.data import load_mnist5k
from minimodels.recipes import vit_recipe
from minimodels.stats import summary_line
from minimodels.timing import describe_machine
from minimodels.train import TrainConfig, count_parameters, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="also train without shifts, and a plain run",
    )
    args = parser.parse_args()
    print(describe_machine())
    split = load_mnist5k()
    train = split.train_and_val()  # the recipe is fixed: train + val, 4,000 images
    runs: dict[str, list[tuple[float, float]]] = {}  # variant -> (accuracy, seconds)
    for seed in args.seeds:
        # each variant below builds its own model
        _, config, augment = vit_recipe(seed=seed)
        variants = [("recipe", config, augment)]
        if args.ablation:
            variants += [
                ("recipe without shifts", config, None),
                (
                    "plain",
                    TrainConfig(
                        epochs=config.epochs,
                        batch_size=config.batch_size,
                        lr=1e-3,
                        seed=seed,
                    ),
                    None,
                ),
            ]
        for name, cfg, aug in variants:
            model, _, _ = vit_recipe(seed=seed)
            history = fit(
                model,
                train,
                split.test,
                replace(cfg, seed=seed),
                augment=aug,
                progress=False,
            )
            print(
                f"ViT {name} ({count_parameters(model):,} parameters), seed {seed}, "
                f"{cfg.epochs} epochs: test accuracy {history.test_acc[-1]:.4f}, "
                f"training {history.seconds:.1f} s",
                flush=True,
            )
            runs.setdefault(name, []).append((history.test_acc[-1], history.seconds))
    for name, results in runs.items():
        accuracies, seconds = zip(*results)
        print(summary_line(f"ViT {name}", accuracies, seconds))


if __name__ == "__main__":
    main()
