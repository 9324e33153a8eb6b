r"""The experiments of the evidence chapters (08-13), runnable outside the notebooks.

One module per chapter, named for what it measures, on one shared runner:

===================  ==============================================================
``runner``           data splits, training requests, the cache, worker processes
``results``          results as dataclasses; numbers over seeds; the cache
``budget``           the budget axis: has a model converged?
``locality``         chapter 08: receptive fields, attention distances, long range
``parameters``       chapter 09: accuracy against parameters and FLOPs
``translation``      chapter 10: accuracy and consistency under shifts
``data_efficiency``  chapter 11: accuracy against training-set size
``robustness``       chapter 12: noise, blur, occlusion; the final table
``warmup``           every model of the book, trained first (``make models``)
===================  ==============================================================

Every model is trained through :func:`runner.train`, which builds it from
``minimodels.recipes``, trains it on the training split while recording the
validation curve, tests it once, and caches weights and curves keyed by the
full request. So chapter 04's CNN and chapter 07's ViT are trained once per
build and reused by chapters 08-13, and chapter 13 re-reads every result.

From a terminal::

    python -c "from minimodels import experiments as E; \
    print(E.train('vit', seed=1).test_acc)"
"""

from .budget import (
    CREDIBLE_ACCURACY,
    HALF_SEEDS,
    Convergence,
    axis_requests,
    convergence,
)
from .data_efficiency import (
    HYBRID_SIZES,
    TRAIN_SIZES,
    VARIANTS,
    DataEfficiency,
    SizePoint,
    data_efficiency,
    data_efficiency_requests,
    data_multiplier,
    samples_for,
    size_to_reach,
)
from .locality import (
    ATTENTION_FREE,
    DIAGONAL_EPOCHS,
    DIAGONAL_MODELS,
    AttentionAblation,
    DiagonalModel,
    Locality,
    diagonal_requests,
    locality,
)
from .parameters import (
    CNN_WIDTHS,
    CONTROLS,
    PERMUTED,
    TARGETS,
    UNSHARED,
    VIT_DIMS,
    ParameterEfficiency,
    SizeRow,
    control_requests,
    flops_to_reach,
    parameter_efficiency,
    params_to_match,
    size_family_requests,
)
from .results import Interval, from_plain, over_seeds, to_plain
from .robustness import (
    BLUR_SIGMAS,
    NOISE_SIGMAS,
    OCCLUDED_FRACTIONS,
    OCCLUSION_PATCH,
    Cost,
    ModelRobustness,
    Robustness,
    above_chance,
    recipe_accuracy,
    robustness,
    robustness_requests,
)
from .runner import (
    DATASETS,
    SEEDS,
    Data,
    Trained,
    balanced_subset,
    dataset,
    is_cached,
    request,
    request_key,
    train,
    train_groups,
    train_many,
)
from .translation import (
    MATCHED_POINTS,
    SHIFT_DISTANCES,
    SHIFT_IMAGES,
    MatchedShifts,
    ShiftCurve,
    ShiftVariant,
    Translation,
    translation,
    translation_requests,
)
from .warmup import ANALYSES, all_requests, analyse, warm_up

# One flat namespace for the chapters (``E.train``, ``E.locality()``, ...): the
# functions named like their modules are imported after them, so the names mean
# the functions.
__all__ = [
    # runner
    "DATASETS",
    "SEEDS",
    "Data",
    "Trained",
    "dataset",
    "balanced_subset",
    "request",
    "train",
    "train_many",
    "train_groups",
    "is_cached",
    "request_key",
    # results
    "Interval",
    "over_seeds",
    "to_plain",
    "from_plain",
    # budget
    "HALF_SEEDS",
    "CREDIBLE_ACCURACY",
    "Convergence",
    "axis_requests",
    "convergence",
    # warmup
    "ANALYSES",
    "all_requests",
    "analyse",
    "warm_up",
    # chapter 08
    "DIAGONAL_EPOCHS",
    "DIAGONAL_MODELS",
    "ATTENTION_FREE",
    "AttentionAblation",
    "DiagonalModel",
    "Locality",
    "diagonal_requests",
    "locality",
    # chapter 09
    "CNN_WIDTHS",
    "VIT_DIMS",
    "SizeRow",
    "CONTROLS",
    "PERMUTED",
    "UNSHARED",
    "control_requests",
    "ParameterEfficiency",
    "size_family_requests",
    "parameter_efficiency",
    "params_to_match",
    "TARGETS",
    "flops_to_reach",
    # chapter 10
    "SHIFT_DISTANCES",
    "SHIFT_IMAGES",
    "ShiftCurve",
    "ShiftVariant",
    "MatchedShifts",
    "MATCHED_POINTS",
    "Translation",
    "translation_requests",
    "translation",
    # chapter 11
    "TRAIN_SIZES",
    "VARIANTS",
    "SizePoint",
    "DataEfficiency",
    "data_efficiency_requests",
    "data_efficiency",
    "HYBRID_SIZES",
    "samples_for",
    "size_to_reach",
    "data_multiplier",
    # chapter 12
    "NOISE_SIGMAS",
    "BLUR_SIGMAS",
    "OCCLUDED_FRACTIONS",
    "OCCLUSION_PATCH",
    "Cost",
    "ModelRobustness",
    "above_chance",
    "recipe_accuracy",
    "Robustness",
    "robustness_requests",
    "robustness",
]
