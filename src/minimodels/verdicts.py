"""Verdicts on the blog post's six claims, computed from measurements (chapters 08-13).

Each ``claimN`` function takes the results of the experiment that tests the
claim (``minimodels.experiments``) and returns a :class:`Verdict`: one of
"holds", "holds with caveats" or "wrong", the measured numbers it rests on, and
the reasons; or "not measured at our budget" where the models it rests on had
not converged (doubling their training budget still moved them by
``recipes.CONVERGED_POINTS`` or more: chapters 09-11). The thresholds are
module constants, stated in the chapters, so a reader can see, and change, what
would flip a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .experiments import (
    DataEfficiency,
    Locality,
    ParameterEfficiency,
    Robustness,
    Translation,
    params_to_match,
)
from .recipes import CONVERGED_POINTS

__all__ = [
    "HOLDS",
    "CAVEATS",
    "WRONG",
    "NOT_MEASURED",
    "Verdict",
    "CLAIMS",
    "claim1",
    "claim2",
    "claim3",
    "claim4",
    "claim5",
    "claim6",
    "markdown",
    "MIXING_THRESHOLD",
    "SOLVED",
    "CHANCE_MARGIN",
    "PARAMETER_RATIO",
    "CONSISTENCY_GAP",
    "COMPETITIVE_POINTS",
    "DATA_GAP_POINTS",
]

HOLDS, CAVEATS, WRONG = "holds", "holds with caveats", "wrong"
NOT_MEASURED = "not measured at our budget"

CLAIMS = {
    1: (
        "ViTs treat patches as tokens and use self-attention; "
        "CNNs learn hierarchical local features."
    ),
    2: (
        "Transformers model long-range dependencies but process patches "
        "independently; CNNs exploit locality."
    ),
    3: (
        "Transformers need many more parameters; "
        "CNNs are parameter-efficient through weight sharing."
    ),
    4: (
        "Transformers lack translation equivariance and small shifts change their "
        "predictions; CNNs are translation-equivariant and robust to shifts."
    ),
    5: (
        "ViTs are competitive at scale and good at global context; "
        "CNNs have the strong track record."
    ),
    6: "Transformers need much more data; CNNs do well on small data.",
}

# Claim 2: a token that keeps more than half of its attention for itself could be said
# to be processed "mostly independently"; below that, attention mixes patches.
MIXING_THRESHOLD = 0.5
# A task counts as solved above this test accuracy, and as not learned within this
# margin of chance.
SOLVED = 0.9
CHANCE_MARGIN = 0.05
# Claim 3: "many more parameters" means at least this factor at equal accuracy.
PARAMETER_RATIO = 2.0
# Claim 4: a family is "more robust to shifts" if its consistency at 1-3 px is higher
# by this much.
CONSISTENCY_GAP = 0.05
# Claim 5: "competitive" means within this many points of top-1 accuracy.
COMPETITIVE_POINTS = 2.0
# Claim 6: the CNN's lead must grow by at least this many points from the largest to
# the smallest set.
DATA_GAP_POINTS = 5.0


@dataclass
class Verdict:
    claim: int
    verdict: str
    measured: dict = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    @property
    def statement(self) -> str:
        return CLAIMS[self.claim]


def _not_converged(moving: list[str]) -> str:
    """The reason a verdict is withheld: the models it rests on that still move."""
    return (
        "not converged (doubling the budget still moves validation accuracy "
        f"by {CONVERGED_POINTS} points or more): {', '.join(moving)}"
    )


def _grade(holds: bool, caveats: list[str], converged: bool = True) -> str:
    if not converged:
        return NOT_MEASURED
    if not holds:
        return WRONG
    return CAVEATS if caveats else HOLDS


def claim1(locality: Locality) -> Verdict:
    """Architecture. Holds if the CNN's receptive field grows with depth and the ViT's
    first block already attends far; the caveat is that the patch embedding *is* a
    convolution."""
    rf = [size for _, size in locality.cnn_rf]
    hierarchical = (
        all(b > a for a, b in zip(rf, rf[1:])) and rf[0] < locality.image_size / 4
    )
    # the farthest-looking head of block 1, pixels
    first_block = max(locality.vit_mad[0])
    global_early = first_block > rf[0]
    caveats = []
    if locality.embed_vs_conv < 1e-4:
        caveats.append(
            "the ViT's patch embedding is exactly a convolution with "
            "kernel = stride = patch size"
        )
    reasons = [
        f"CNN receptive field grows layer by layer: {rf}",
        f"ViT block 1 already has a head attending {first_block:.1f} px away "
        f"on average (CNN layer 1 sees {rf[0]} px)",
    ]
    return Verdict(
        1,
        _grade(hierarchical and global_early, caveats),
        {
            "rf": rf,
            "first_block_distance": first_block,
            "embed_vs_conv": locality.embed_vs_conv,
        },
        reasons + caveats,
    )


def claim2(locality: Locality) -> Verdict:
    """Spatial information. Wrong if trained ViT tokens take most of their attention
    from other patches (they are not processed independently). Otherwise, caveats if a
    deep CNN also solves the long-range task (locality is a prior, not a limit)."""
    mixing = min(locality.other_token_weight)  # the least-mixing block
    local, deep, vit = (
        locality.diagonal[name].test_acc.mean
        for name in ("local CNN", "SmallCNN", "ViT")
    )
    independent = mixing < MIXING_THRESHOLD
    caveats = []
    if deep >= SOLVED:
        caveats.append(
            f"a CNN with pooling also relates distant shapes ({deep:.1%}); "
            f"only the shallow one ({local:.1%}) is stuck near chance"
        )
    if vit < SOLVED:
        caveats.append(
            f"at our budget the ViT learned the long-range task only partly ({vit:.1%})"
        )
    reasons = [
        f"in every block of the trained ViT a token takes at least {mixing:.0%} "
        "of its attention from other patches"
    ]
    return Verdict(
        2,
        _grade(independent, caveats),
        {
            "min_other_token_weight": mixing,
            "local_cnn": local,
            "small_cnn": deep,
            "vit": vit,
        },
        reasons + caveats,
    )


def claim3(parameters: ParameterEfficiency) -> Verdict:
    """Parameter efficiency. Holds if the ViT family needs PARAMETER_RATIO times the
    CNN family's parameters for the smallest CNN's accuracy; caveat: a ViT shares
    weights too (its count does not grow with the image, except the position table)."""
    rows = parameters.rows
    cnn_small = min((r for r in rows if r.family == "CNN"), key=lambda r: r.parameters)
    target = cnn_small.test_acc.mean
    needed = params_to_match(rows, "ViT", target)
    largest_vit = max(r.parameters for r in rows if r.family == "ViT")
    ratio = (needed if needed is not None else largest_vit) / cnn_small.parameters
    more = ratio >= PARAMETER_RATIO
    caveats = []
    if parameters.vit_growth_28_to_56 == parameters.position_growth_28_to_56:
        caveats.append(
            "a ViT shares its weights across tokens as a CNN shares them across "
            "positions: doubling the image side only adds position embeddings"
        )
    refs = {r.name: r for r in parameters.references}
    if "vit_b_16" in refs and "resnet50" in refs:
        vit, rn = refs["vit_b_16"], refs["resnet50"]
        caveats.append(
            "at ImageNet scale torchvision's ViT-B/16 "
            f"({vit.parameters / 1e6:.0f}M) scores {vit.published_top1:.1f}% "
            f"vs ResNet-50's ({rn.parameters / 1e6:.0f}M) {rn.published_top1:.1f}%"
        )
    reasons = [
        f"the ViT family needs {'more than ' if needed is None else ''}"
        f"{ratio:.1f}x the parameters of the smallest CNN to reach its {target:.1%}"
    ]
    moving = [r.name for r in rows if not r.budget.converged]
    if moving:
        reasons.append(_not_converged(moving))
    return Verdict(
        3,
        _grade(more, caveats, converged=not moving),
        {"ratio": ratio, "reached": needed is not None, "target": target},
        reasons + caveats,
    )


def claim4(translation: Translation) -> Verdict:
    """Translation. Holds if the plain CNN is more shift-consistent than the plain ViT
    at 1-3 px (same size and budget, three seeds) by CONSISTENCY_GAP. Caveats: the CNN
    is not invariant either, and shift augmentation recovers at least half of the
    ViT's gap (the same models trained with shifts)."""
    small = [i for i, dist in enumerate(translation.distances) if 1 <= dist <= 3]
    v = translation.variants

    def consistency(values: list[float]) -> float:  # mean over the 1-3 px distances
        return sum(values[i] for i in small) / len(small)

    def seed_means(name: str) -> list[float]:
        # variants hold the mean and 95% interval over seeds per distance
        return [point.mean for point in v[name].consistency]

    cnn, vit = consistency(seed_means("CNN")), consistency(seed_means("ViT"))
    holds = cnn - vit >= CONSISTENCY_GAP
    caveats = []
    if cnn < 0.99:
        caveats.append(
            f"the CNN is not shift-invariant either: {cnn:.1%} of its predictions "
            "survive 1-3 px shifts (striding and pooling break equivariance)"
        )
    # what shift augmentation recovers, on the same experiment-size models (3 seeds)
    cnn_aug = consistency(seed_means("CNN + shifts"))
    vit_aug = consistency(seed_means("ViT + shifts"))
    recovered = (vit_aug - vit) / (cnn_aug - vit) if cnn_aug > vit else 1.0
    if recovered >= 0.5:
        caveats.append(
            f"training with shifts lifts the ViT from {vit:.1%} to {vit_aug:.1%} "
            f"(the CNN with shifts: {cnn_aug:.1%}): the gap is largely learned, "
            "not built in"
        )
    reasons = [f"consistency under 1-3 px shifts: CNN {cnn:.1%}, ViT {vit:.1%}"]
    moving = [
        name
        for name in ("CNN", "ViT")
        if v[name].budget is not None and not v[name].budget.converged
    ]
    if moving:
        reasons.append(_not_converged(moving))
    return Verdict(
        4,
        _grade(holds, caveats, converged=not moving),
        {
            "cnn": cnn,
            "vit": vit,
            "cnn_shifts": cnn_aug,
            "vit_shifts": vit_aug,
            "augmentation_recovered": recovered,
        },
        reasons + caveats,
    )


def claim5(robustness: Robustness, parameters: ParameterEfficiency) -> Verdict:
    """Performance. Holds if at ImageNet scale torchvision's ViT-B/16 is within
    COMPETITIVE_POINTS of its best ResNet; caveat where, at our scale, the CNN is ahead
    by more than that."""
    refs = {r.name: r for r in parameters.references}
    vit_top1 = refs["vit_b_16"].published_top1
    best_cnn = max(
        r.published_top1 for name, r in refs.items() if name.startswith("resnet")
    )
    competitive = vit_top1 >= best_cnn - COMPETITIVE_POINTS
    cnn_table = robustness.models["CNN recipe"].table
    vit_table = robustness.models["ViT recipe"].table
    ours_cnn, ours_vit = cnn_table.test_acc.mean, vit_table.test_acc.mean
    caveats = []
    gap = 100 * (ours_cnn - ours_vit)
    if gap > COMPETITIVE_POINTS:
        seconds = [cnn_table.train_seconds, vit_table.train_seconds]
        cost = ""
        if None not in seconds:
            cost = (
                ", in less training time"
                if seconds[0] < seconds[1]
                else ", though with more training time"
            )
        caveats.append(
            f"on MNIST-5k the CNN recipe leads the ViT recipe by {gap:.1f} points{cost}"
        )
    reasons = [
        f"published ImageNet top-1: ViT-B/16 {vit_top1:.1f}%, "
        f"best ResNet here {best_cnn:.1f}%"
    ]
    return Verdict(
        5,
        _grade(competitive, caveats),
        {
            "vit_top1": vit_top1,
            "best_cnn_top1": best_cnn,
            "ours_cnn": ours_cnn,
            "ours_vit": ours_vit,
        },
        reasons + caveats,
    )


def claim6(data: DataEfficiency) -> Verdict:
    """Data efficiency. Holds if the CNN's lead over the ViT (same size, same budget,
    no augmentation: the data alone) grows by DATA_GAP_POINTS from the largest to the
    smallest training set; caveat if the hybrid (a convolutional stem) recovers at
    least half of the gap at the smallest size, or if the CNN still leads clearly on
    the largest set."""
    c, sizes = data.curves, data.sizes
    lo, hi = sizes[0], sizes[-1]

    def points(name, n):
        return 100 * c[name][n].test_acc.mean

    gap_lo = points("CNN", lo) - points("ViT", lo)
    gap_hi = points("CNN", hi) - points("ViT", hi)
    holds = gap_lo - gap_hi >= DATA_GAP_POINTS and gap_lo > 0
    caveats = []
    recovered = (
        (points("hybrid", lo) - points("ViT", lo)) / gap_lo if gap_lo > 0 else 0.0
    )
    if recovered >= 0.5:
        caveats.append(
            f"a convolutional stem recovers {recovered:.0%} of the gap at {lo} "
            "images: the ViT lacks a locality prior, which data, augmentation or "
            "convolution can supply"
        )
    if gap_hi > DATA_GAP_POINTS:
        caveats.append(
            f"at {hi} images the CNN still leads by {gap_hi:.1f} points at our budget"
        )
    reasons = [
        f"CNN lead over ViT (no augmentation): {gap_lo:.1f} points at {lo} images, "
        f"{gap_hi:.1f} at {hi}"
    ]
    moving = [
        f"{name} at {n}"
        for name in ("CNN", "ViT")
        for n in (lo, hi)
        if not c[name][n].budget.converged
    ]
    if moving:
        reasons.append(_not_converged(moving))
    return Verdict(
        6,
        _grade(holds, caveats, converged=not moving),
        {"gap_small": gap_lo, "gap_large": gap_hi, "hybrid_recovered": recovered},
        reasons + caveats,
    )


def markdown(verdicts: list[Verdict]) -> str:
    """A Markdown table of verdicts: the claim, the verdict, and what it rests on."""
    rows = ["| claim | verdict | measured |", "|---|---|---|"]
    for v in verdicts:
        rows.append(
            f"| {v.claim}. {v.statement} | **{v.verdict}** | {'; '.join(v.reasons)} |"
        )
    return "\n".join(rows)
