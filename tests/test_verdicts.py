"""minimodels.verdicts: every verdict follows the measurements (changing one changes
the verdict). The results are built by hand, typed as the experiments return them.
"""

from dataclasses import replace

import pytest

from minimodels import experiments as E
from minimodels import verdicts as V
from minimodels.flops import ReferenceModel


def acc(mean: float) -> E.Interval:
    """A number measured on one seed (zero-width interval)."""
    return E.over_seeds([mean])


def budget(converged: bool = True) -> E.Convergence:
    change = 0.0 if converged else 1.0
    return E.Convergence([80, 160], [0], 0.9, 0.9 + change / 100, change, converged)


def diagonal(mean: float) -> E.DiagonalModel:
    return E.DiagonalModel(acc(mean), parameters=1000, seconds=1.0, curves=[[mean]])


def locality(**kw) -> E.Locality:
    r = E.Locality(
        cnn_rf=[("c", 3), ("c", 5), ("c", 10), ("c", 14), ("c", 24), ("c", 32)],
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
            "local CNN": diagonal(0.51),
            "SmallCNN": diagonal(0.99),
            "ViT": diagonal(0.95),
        },
    )
    return replace(r, **kw)


def test_claim1_flips_with_the_measurements():
    assert V.claim1(locality()).verdict == V.CAVEATS
    assert V.claim1(locality(embed_vs_conv=0.3)).verdict == V.HOLDS
    assert (
        V.claim1(locality(vit_mad=[[1.0, 2.0]])).verdict == V.WRONG
    )  # no head looks beyond the CNN's first layer
    assert (
        V.claim1(locality(cnn_rf=[("c", 3), ("c", 3)])).verdict == V.WRONG
    )  # no growth


def test_claim2_is_wrong_when_tokens_mix():
    assert V.claim2(locality()).verdict == V.WRONG
    independent = locality(other_token_weight=[0.1, 0.2])
    assert (
        V.claim2(independent).verdict == V.CAVEATS
    )  # the deep CNN also solves the long-range task
    shallow = {**independent.diagonal, "SmallCNN": diagonal(0.6)}
    assert V.claim2(replace(independent, diagonal=shallow)).verdict == V.HOLDS


def size_row(name: str, parameters: int, mean: float) -> E.SizeRow:
    return E.SizeRow(
        name=name,
        family=name.split()[0],
        parameters=parameters,
        flops=10 * parameters,
        images_seen=160,
        test_acc=acc(mean),
        val_acc=acc(mean),
        curves=[[mean]],
        curve_images=[160],
        flops_to_reach=[None] * len(E.TARGETS),
        budget=budget(),
        half_test_acc=acc(mean),
    )


REFERENCES = [
    ReferenceModel("resnet50", 25_557_032, 8.2, 76.13, 4.09),
    ReferenceModel("vit_b_16", 86_567_656, 35.1, 81.07, 17.56),
]


def parameters(vit_acc=(0.7, 0.8, 0.85), growth=4096) -> E.ParameterEfficiency:
    rows = [size_row(f"CNN {p}", p, a) for p, a in [(5000, 0.93), (18000, 0.97)]]
    rows += [size_row(f"ViT {p}", p, a) for p, a in zip([6000, 20000, 70000], vit_acc)]
    return E.ParameterEfficiency(
        rows=rows,
        budgets=[80, 160],
        vit_growth_28_to_56=growth,
        position_growth_28_to_56=4096,
        references=list(REFERENCES),
    )


def test_claim3_follows_the_parameter_ratio():
    v = V.claim3(parameters())
    assert (
        v.verdict == V.CAVEATS
        and not v.measured["reached"]
        and v.measured["ratio"] == pytest.approx(14)
    )
    assert (
        V.claim3(parameters(vit_acc=(0.95, 0.96, 0.97))).verdict == V.WRONG
    )  # the smallest ViT already matches
    v = V.claim3(parameters(vit_acc=(0.7, 0.94, 0.97)))
    assert v.measured["reached"] and v.measured["ratio"] >= V.PARAMETER_RATIO


def translation(cnn=0.95, vit=0.80, shifts=(0.99, 0.95), moving=()) -> E.Translation:
    """Consistency at 0-4 px of the plain models, and of both trained with shifts;
    the plain ones checked on the budget axis (``moving``: not converged)."""
    names = ["CNN", "ViT", "CNN + shifts", "ViT + shifts"]
    variants = {
        n: E.ShiftVariant(
            test_acc=acc(0.9),
            accuracy=[acc(0.9)] * 5,
            consistency=[acc(1.0)] + [acc(c)] * 4,
            budget=budget(n not in moving) if n in ("CNN", "ViT") else None,
        )
        for n, c in zip(names, (cnn, vit, *shifts))
    }
    return E.Translation(distances=[0, 1, 2, 3, 4], full={}, variants=variants)


def test_claim4_follows_consistency():
    v = V.claim4(translation())
    assert v.verdict == V.CAVEATS and v.measured["cnn"] == pytest.approx(0.95)
    assert v.measured["augmentation_recovered"] == pytest.approx(0.15 / 0.19)
    assert (
        V.claim4(translation(cnn=0.995, vit=0.8, shifts=(0.99, 0.8))).verdict == V.HOLDS
    )
    assert V.claim4(translation(cnn=0.85, vit=0.84)).verdict == V.WRONG


def robustness(cnn=0.984, vit=0.954, seconds=(None, None)) -> E.Robustness:
    def model(mean: float, train_seconds: float | None) -> E.ModelRobustness:
        cost = E.Cost(acc(mean), 1000, 10_000, 5000.0, train_seconds)
        return E.ModelRobustness([acc(mean)], [acc(mean)], [acc(mean)], None, cost)

    models = {
        "CNN recipe": model(cnn, seconds[0]),
        "ViT recipe": model(vit, seconds[1]),
    }
    return E.Robustness(noise=[0.0], blur=[0.0], occlusion=[0.0], models=models)


def test_claim5_follows_published_and_measured_accuracy():
    assert V.claim5(robustness(), parameters()).verdict == V.CAVEATS
    timed = robustness(seconds=(50.0, 90.0))
    assert "in less training time" in " ".join(V.claim5(timed, parameters()).reasons)
    timed = robustness(seconds=(120.0, 90.0))
    assert "more training time" in " ".join(V.claim5(timed, parameters()).reasons)
    assert V.claim5(robustness(vit=0.98), parameters()).verdict == V.HOLDS
    p = parameters()
    worse_vit = replace(REFERENCES[1], published_top1=70.0)
    p = replace(p, references=[REFERENCES[0], worse_vit])
    assert V.claim5(robustness(), p).verdict == V.WRONG


def data(gap_small=20.0, gap_large=5.0, hybrid_small=0.85, moving=()):
    """Learning curves at 250 and 4,000 images; ``moving``: (name, size) pairs not
    converged on the budget axis."""
    means = {
        "CNN": {250: 0.9, 4000: 0.97},
        "ViT": {250: 0.9 - gap_small / 100, 4000: 0.97 - gap_large / 100},
        "hybrid": {250: hybrid_small, 4000: 0.95},
    }
    curves = {
        name: {
            n: E.SizePoint(
                test_acc=acc(m),
                val_acc=acc(m),
                parameters=1000,
                images_seen=160,
                budget=budget((name, n) not in moving),
            )
            for n, m in per_size.items()
        }
        for name, per_size in means.items()
    }
    return E.DataEfficiency(sizes=[250, 4000], curves=curves)


def test_claim6_follows_the_gap():
    v = V.claim6(data())
    assert v.verdict == V.CAVEATS and v.measured["hybrid_recovered"] == pytest.approx(
        0.75
    )
    assert V.claim6(data(gap_large=0.0, hybrid_small=0.71)).verdict == V.HOLDS
    assert V.claim6(data(gap_small=3.0, gap_large=2.0)).verdict == V.WRONG


def test_unconverged_models_withhold_the_verdict():
    """A verdict that rests on a model still moving when its budget doubles is
    "not measured at our budget", whatever the measurements say."""
    p = parameters()
    p = replace(p, rows=[*p.rows[:-1], replace(p.rows[-1], budget=budget(False))])
    v = V.claim3(p)
    assert v.verdict == V.NOT_MEASURED and any("ViT 70000" in r for r in v.reasons)
    v = V.claim6(data(moving=[("ViT", 250)]))
    assert v.verdict == V.NOT_MEASURED and any("ViT at 250" in r for r in v.reasons)
    # the hybrid is not what the verdict rests on
    assert V.claim6(data(moving=[("hybrid", 250)])).verdict == V.CAVEATS
    v = V.claim4(translation(moving=["ViT"]))
    assert v.verdict == V.NOT_MEASURED and any("ViT" in r for r in v.reasons[1:])
    assert V.claim4(translation()).verdict == V.CAVEATS


def test_results_survive_the_cache_round_trip():
    """What the cache stores (plain containers) rebuilds the same typed result."""
    for result in (locality(), parameters(), translation(), robustness(), data()):
        plain = E.to_plain(result)
        assert type(plain) is dict
        assert E.from_plain(type(result), plain) == result


def test_markdown_table_lists_every_verdict():
    text = V.markdown([V.claim1(locality()), V.claim2(locality())])
    assert (
        text.count("\n") == 3 and "**wrong**" in text and "holds with caveats" in text
    )
