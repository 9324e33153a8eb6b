"""The course's ViT recipe on MNIST-5k: test accuracy and training seconds.

Trains ``build("vit")`` (``minimodels.recipes``; the model chapter 07 trains)
once per seed on the training split, prints each run, then one summary line
per arm: the mean test accuracy with its 95% t-interval over the seeds and the
slowest run's training seconds. Target: at least 97.5% mean test accuracy, each
run at most 120 s of training on a 2-core CPU. ``--ablation`` and ``--save``:
see ``recipe_runs.py``. Run by hand:
``.venv/bin/python benchmarks/bench_vit.py [--seeds 0 1 2] [--ablation] [--save]``.
"""

from recipe_runs import main

if __name__ == "__main__":
    main("vit", "ViT", __doc__)
