"""Results of the evidence chapters built by hand, typed as minimodels.experiments
returns them: the tests of the verdicts and of chapter 13's exercises read the same
numbers (roughly the book's own)."""

from dataclasses import replace

from minimodels import experiments as E


def acc(mean: float) -> E.Interval:
    """A number measured on one seed (zero-width interval)."""
    return E.over_seeds([mean])


def diagonal(mean: float) -> E.DiagonalModel:
    return E.DiagonalModel(acc(mean), parameters=1000, seconds=1.0, curves=[[mean]])


def locality(**kw) -> E.Locality:
    r = E.Locality(
        cnn_rf=[("c", 3), ("c", 5), ("c", 10), ("c", 14), ("c", 24), ("c", 32)],
        cnn_probe=[0.74, 0.97, 0.99],
        untrained_cnn_probe=[0.64, 0.82, 0.91],
        vit_mad=[[3.0, 9.0], [8.0, 10.0]],
        untrained_mad=[[14.0, 14.1], [14.0, 14.2]],
        uniform_mad=14.4,
        image_size=28,
        patch_size=4,
        other_token_weight=[0.8, 0.9],
        untrained_other_token_weight=[0.97, 0.98],
        uniform_other_token_weight=48 / 49,
        ablation=E.AttentionAblation(
            0.97,
            {"uniform": [0.6, 0.9], "identity": [0.4, 0.8]},
            {"uniform": 0.3, "identity": 0.2},
        ),
        embed_vs_conv=1e-7,
        diagonal={
            "SmallCNN": diagonal(0.99),
            "ViT, 7 px patches": diagonal(0.93),
            "ViT, 14 px patches": diagonal(0.95),
            "no attention, 7 px patches": diagonal(0.51),
            "no attention, 14 px patches": diagonal(0.52),
        },
    )
    return replace(r, **kw)
