"""What bench_cnn.py and bench_vit.py share: train a recipe per seed, print a
summary line per arm, optionally store the runs.

The recipes were chosen on validation runs (training split only); frozen, they
train on the training and validation splits (4,000 images, ``Recipe.train_split``)
and are tested once, at the end. ``--ablation`` adds two arms at the recipe's
full budget, trained the same way: the recipe without shifts, and a plain run
(constant learning rate 1e-3, no warm-up, decay, weight decay, label smoothing
or shifts). ``--save`` writes every run to
``src/minimodels/results/<recipe>_ablation.json``, which chapter 07 quotes
(``minimodels.recipes.stored_ablation``) instead of training nine models itself.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from minimodels.experiments import dataset
from minimodels.recipes import RECIPES, build, results_path
from minimodels.stats import summary_line
from minimodels.timing import describe_machine
from minimodels.train import TrainConfig, count_parameters, evaluate, fit


def main(recipe: str, label: str, doc: str) -> None:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--ablation", action="store_true", help="also without shifts, and plain"
    )
    parser.add_argument(
        "--save", action="store_true", help=f"store the runs in {results_path(recipe)}"
    )
    args = parser.parse_args()
    machine = describe_machine()
    print(machine)
    merge = RECIPES[recipe].merges_val
    data = dataset("mnist5k", merge_val=merge)
    runs: dict[str, dict[str, list[float]]] = {}
    for seed in args.seeds:
        config = build(recipe, seed=seed).config
        arms = [("recipe", config, None)]
        if args.ablation:
            plain = TrainConfig(
                epochs=config.epochs, batch_size=config.batch_size, lr=1e-3, seed=seed
            )
            arms += [("recipe without shifts", config, 0), ("plain", plain, 0)]
        for arm, cfg, shift in arms:
            model, _, augment = build(recipe, seed=seed, max_shift=shift)
            history = fit(
                model,
                data.train,
                data.val,  # None for a frozen recipe: nothing is chosen here
                replace(cfg, seed=seed),
                augment=augment,
                progress=False,
            )
            test_acc = evaluate(model, data.test)[1]
            print(
                f"{label} {arm} ({count_parameters(model):,} parameters), seed {seed}, "
                f"{cfg.epochs} epochs on {len(data.train):,} images: "
                f"test accuracy {test_acc:.4f}, training {history.seconds:.1f} s",
                flush=True,
            )
            run = runs.setdefault(arm, {"test_acc": [], "seconds": []})
            run["test_acc"].append(round(test_acc, 4))  # k / 1,000 test images
            run["seconds"].append(round(history.seconds, 1))
    for arm, run in runs.items():
        print(summary_line(f"{label} {arm}", run["test_acc"], run["seconds"]))
    if args.save:
        path = results_path(recipe)
        path.parent.mkdir(parents=True, exist_ok=True)
        stored = {
            "recipe": recipe,
            "epochs": RECIPES[recipe].training.epochs,
            "train_images": len(data.train),
            "seeds": args.seeds,
            "machine": machine,
            "command": f"benchmarks/bench_{recipe}.py --seeds "
            + " ".join(map(str, args.seeds))
            + (" --ablation" if args.ablation else "")
            + " --save",
            "arms": runs,
        }
        Path(path).write_text(json.dumps(stored, indent=1) + "\n")
        print(f"stored in {path}")
