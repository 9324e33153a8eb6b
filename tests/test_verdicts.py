"""minimodels.verdicts: every verdict follows the measurements (changing one changes
the verdict). The results are built by hand, typed as the experiments return them.
"""

from dataclasses import replace

import pytest
from measured import acc, diagonal, locality

from minimodels import experiments as E
from minimodels import verdicts as V
from minimodels.flops import ReferenceModel


def budget(converged: bool = True) -> E.Convergence:
    change = 0.0 if converged else 1.0
    return E.Convergence([80, 160], [0], 0.9, 0.9 + change / 100, change, converged)


def ablation(uniform_block=0.65, identity_all=0.2, intact=0.97):
    """The attention ablation: ``uniform_block`` is the worst single block made
    uniform, ``identity_all`` every block made identity (patches independent)."""
    return E.AttentionAblation(
        intact,
        {"uniform": [uniform_block, intact], "identity": [0.4, intact]},
        {"uniform": 0.3, "identity": identity_all},
    )


# Between each null baseline and the best model observed in the book's build: the
# attention ablation from 0 (attention ignored) to 32.5 points (block 2 made uniform),
# identity attention from 0 (patches independent) to 76.8 points, the long-range task
# from 50% (chance) to 98.7%.


def test_claim1_reaches_holds_and_wrong():
    v = V.claim1(locality())
    assert v.verdict == V.HOLDS and v.measured["uniform_attention_drop"] == (
        pytest.approx(37.0)
    )
    # the ViT barely uses its attention (1 point lost): partly wrong; and the CNN's
    # last stage no better than untrained (between the null 91% and the best 99%)
    unused = ablation(uniform_block=0.96)
    assert V.claim1(locality(ablation=unused)).verdict == V.PARTLY_WRONG
    flat = locality(ablation=unused, cnn_probe=[0.74, 0.9, 0.92])
    assert V.claim1(flat).verdict == V.WRONG
    # features that do not rise stage by stage are no hierarchy
    assert V.claim1(locality(cnn_probe=[0.9, 0.97, 0.96])).verdict == V.PARTLY_WRONG
    # facts never decide: the patch embedding being a convolution or not
    assert V.claim1(locality(embed_vs_conv=0.3)).verdict == V.HOLDS
    assert any("convolution" in f for f in v.facts)


WEAK = {  # neither ViT learns the long-range task
    **locality().diagonal,
    "ViT, 7 px patches": diagonal(0.6),
    "ViT, 14 px patches": diagonal(0.55),
}


def test_claim2_reaches_holds_partly_wrong_and_wrong():
    p = parameters()  # permuted pixels cost the CNN 17 points: it exploits locality
    v = V.claim2(locality(), p)  # long range holds, independent processing is wrong
    assert v.verdict == V.PARTLY_WRONG
    assert v.test("process patches independently").holds is False
    assert v.test("exploit locality").holds
    assert v.measured["permuted_drop_cnn"] == pytest.approx(17)
    assert v.measured["permuted_drop_vit"] == pytest.approx(17)
    # tokens processed independently (identity costs 1 point): every tested part
    # holds, with the caveat that a deep CNN solves the long-range task too
    independent = locality(ablation=ablation(identity_all=0.96))
    assert V.claim2(independent, p).verdict == V.CAVEATS
    shallow = {**independent.diagonal, "SmallCNN": diagonal(0.6)}
    assert V.claim2(replace(independent, diagonal=shallow), p).verdict == V.HOLDS
    # permuting the pixels costs the CNN 1 point (between the null 0 and 17): it
    # does not exploit locality
    flat = parameters(permuted=(0.96, 0.63))
    assert V.claim2(independent, flat).verdict == V.PARTLY_WRONG
    # neither ViT learns the long-range task, the ViT mixes patches, and the CNN
    # does not need locality
    assert V.claim2(locality(diagonal=WEAK), flat).verdict == V.WRONG
    # the better ViT counts only where its attention-free control stays near chance
    easy = {**locality().diagonal, "no attention, 14 px patches": diagonal(0.8)}
    v = V.claim2(locality(diagonal=easy), p)
    assert v.test("model long-range dependencies").measured == pytest.approx(0.93)
    both = {**easy, "no attention, 7 px patches": diagonal(0.7)}
    v = V.claim2(locality(diagonal=both), p)  # without attention the task is solved
    assert v.test("model long-range dependencies").holds is None
    # a permuted-pixel control that has not converged tests nothing
    v = V.claim2(locality(), parameters(moving=["CNN w8, permuted pixels"]))
    assert v.test("exploit locality").holds is None
    assert "not measured at our budget" in v.test("exploit locality").text
    # the CNN on the original digits still rising: its drop is a lower bound, which
    # decides once past the threshold, and not before
    v = V.claim2(locality(), parameters(moving=["CNN w8"]))
    assert (
        v.test("exploit locality").holds
        and "only widen" in v.test("exploit locality").text
    )
    v = V.claim2(locality(), parameters(moving=["CNN w8"], permuted=(0.96, 0.63)))
    assert v.test("exploit locality").holds is None


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


def parameters(
    vit_acc=(0.7, 0.8, 0.85),
    growth=4096,
    permuted=(0.80, 0.63),
    unshared=0.92,
    moving=(),
) -> E.ParameterEfficiency:
    """Chapter 09's sweep (CNN w2 and w8, ViT D16, D32, D64) and its controls:
    ``permuted``, the CNN w8's and the ViT D32's accuracy on pixel-permuted digits;
    ``unshared``, the CNN w2's without weight sharing; ``moving``: names of models
    not converged."""
    cnns = [("CNN w2", 5000, 0.93), ("CNN w8", 18000, 0.97)]
    vits = [(f"ViT D{d}", p) for d, p in [(16, 6000), (32, 20000), (64, 70000)]]
    rows = [size_row(*c) for c in cnns]
    rows += [size_row(name, p, a) for (name, p), a in zip(vits, vit_acc)]
    controls = {
        "CNN w8, permuted pixels": size_row("CNN w8p", 18000, permuted[0]),
        "ViT D32, permuted pixels": size_row("ViT D32p", 20000, permuted[1]),
        "CNN w2, no weight sharing": size_row("CNN w2u", 127_000, unshared),
    }
    controls = {n: replace(r, name=n) for n, r in controls.items()}
    rows, controls = (
        [replace(r, budget=budget(r.name not in moving)) for r in rows],
        {n: replace(r, budget=budget(n not in moving)) for n, r in controls.items()},
    )
    return E.ParameterEfficiency(
        rows=rows,
        controls=controls,
        budgets=[80, 160],
        vit_growth_28_to_56=growth,
        position_growth_28_to_56=4096,
        references=list(REFERENCES),
    )


def test_claim3_reaches_holds_partly_wrong_and_wrong():
    v = V.claim3(parameters())
    assert (
        v.verdict == V.HOLDS
        and not v.measured["reached"]
        and v.measured["ratio"] == pytest.approx(14)
    )
    # without sharing, 127,000 parameters reach 92%: the smallest shared CNN (5,000)
    # already does, 25x fewer
    assert v.measured["sharing_ratio"] == pytest.approx(25.4)
    assert v.literature and v.facts  # shown, not graded
    assert (
        V.claim3(parameters(vit_acc=(0.95, 0.96, 0.97))).verdict == V.PARTLY_WRONG
    )  # the smallest ViT already matches the smallest CNN (1.2x)
    v = V.claim3(parameters(vit_acc=(0.7, 0.94, 0.97)))
    assert v.measured["reached"] and v.measured["ratio"] >= V.PARAMETER_RATIO
    # unshared weights beat every CNN of the sweep: sharing is not what makes the
    # CNN efficient, and with a ViT that matches the CNN the claim is wrong
    assert V.claim3(parameters(unshared=0.99)).verdict == V.PARTLY_WRONG
    both = parameters(vit_acc=(0.95, 0.96, 0.97), unshared=0.99)
    assert V.claim3(both).verdict == V.WRONG
    # between the null (1x) and 25x: the shared CNNs need 18,000 parameters for 97%
    v = V.claim3(parameters(unshared=0.97))
    assert v.test("are parameter-efficient through weight sharing").holds
    # measured caveat: permuting the pixels takes the CNN's 17-point lead over the
    # ViT of its size down to 0
    v = V.claim3(parameters(permuted=(0.80, 0.80)))
    assert v.verdict == V.CAVEATS and "locality prior" in v.caveats[0]
    # ... a shrink of 1 point (less than ABLATION_POINTS) is no caveat
    assert V.claim3(parameters(permuted=(0.80, 0.64))).verdict == V.HOLDS
    # the weight-sharing fact does not decide either
    assert V.claim3(parameters(growth=5000)).verdict == V.HOLDS


def translation(
    cnn=0.99, vit=0.80, shifts=(0.995, 0.95), matched=(0.93, 0.73), moving=()
) -> E.Translation:
    """Consistency at 0-4 px of the plain models and of both trained with shifts;
    ``matched``: the CNN's and the ViT's at matched clean accuracy (None: no pair);
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
    pair = None
    if matched is not None:
        pair = E.MatchedShifts(
            models={"CNN": "CNN w2 at 80 images seen", "ViT": "ViT D64 at 160"},
            test_acc={"CNN": acc(0.93), "ViT": acc(0.934)},
            shift={
                f: [acc(1.0)] + [acc(c)] * 4 for f, c in zip(("CNN", "ViT"), matched)
            },
            noise={f: [acc(1.0)] + [acc(0.5)] * 4 for f in ("CNN", "ViT")},
        )
    return E.Translation(
        distances=[0, 1, 2, 3, 4], full={}, variants=variants, matched=pair
    )


def test_claim4_reaches_holds_partly_wrong_and_wrong():
    # the book's build: 27.4% vs 7.0% flips at matched accuracy, CNN 1.3%
    v = V.claim4(translation())
    assert v.verdict == V.CAVEATS and v.measured["cnn_flips"] == pytest.approx(0.01)
    assert v.measured["augmentation_recovered"] == pytest.approx(0.15 / 0.195)
    assert V.claim4(translation(shifts=(0.995, 0.8))).verdict == V.HOLDS
    # at matched accuracy the ViT flips no more than the CNN: the ViT half is wrong
    assert V.claim4(translation(matched=(0.93, 0.92))).verdict == V.PARTLY_WRONG
    # ... and the CNN flips 10%: wrong
    assert V.claim4(translation(cnn=0.9, matched=(0.9, 0.9))).verdict == V.WRONG
    # without a matched pair the ViT half is not tested; the CNN half still decides
    v = V.claim4(translation(matched=None))
    assert v.test("change their predictions under small shifts").holds is None
    assert v.verdict == V.CAVEATS


def recipes_acc(cnn=0.99, vit=0.976) -> dict[str, E.Interval]:
    return {
        "CNN recipe": E.over_seeds([cnn] * 3),
        "ViT recipe": E.over_seeds([vit] * 3),
    }


def test_claim5_reaches_holds_and_wrong():
    v = V.claim5(locality(), recipes_acc(), REFERENCES)
    assert v.verdict == V.HOLDS and v.measured["recipe_gap"] == pytest.approx(1.4)
    assert any("ImageNet" in x for x in v.literature)
    # the ViT recipe 5 points behind, and the long-range task not learned
    assert (
        V.claim5(locality(diagonal=WEAK), recipes_acc(vit=0.94), REFERENCES).verdict
        == V.WRONG
    )
    assert (
        V.claim5(locality(), recipes_acc(vit=0.94), REFERENCES).verdict
        == V.PARTLY_WRONG
    )
    # published numbers are reported, never graded
    worse_vit = replace(REFERENCES[1], published_top1=70.0)
    assert (
        V.claim5(locality(), recipes_acc(), [REFERENCES[0], worse_vit]).verdict
        == V.HOLDS
    )


def data(gap_small=20.0, gap_large=5.0, hybrid_small=0.85, cnn_small=0.9, moving=()):
    """Learning curves at 250 and 4,000 images; ``moving``: (name, size) pairs not
    converged on the budget axis."""
    means = {
        "CNN": {250: cnn_small, 4000: 0.97},
        "ViT": {250: cnn_small - gap_small / 100, 4000: 0.97 - gap_large / 100},
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


def test_claim6_reaches_holds_and_wrong():
    v = V.claim6(data())
    assert v.verdict == V.CAVEATS and v.measured["hybrid_recovered"] == pytest.approx(
        0.75
    )
    assert v.measured["multiplier"] > 10  # the ViT reaches 90% only near 4,000
    assert V.claim6(data(gap_large=0.0, hybrid_small=0.71)).verdict == V.HOLDS
    # the ViT within a point on every size: it needs about as much data
    assert V.claim6(data(gap_small=1.0, gap_large=0.0)).verdict == V.PARTLY_WRONG
    # ... and the CNN keeps only 66% of its skill on 250 images
    low = data(gap_small=1.0, gap_large=0.0, cnn_small=0.7)
    assert V.claim6(low).verdict == V.WRONG


def test_unconverged_models_withhold_the_verdict():
    """A verdict that rests on a model still moving when its budget doubles is
    "not measured at our budget", whatever the measurements say."""
    v = V.claim3(parameters(moving=["ViT D64"]))
    assert v.verdict == V.NOT_MEASURED and any("ViT D64" in r for r in v.reasons)
    v = V.claim3(parameters(moving=["CNN w2, no weight sharing"]))
    assert v.verdict == V.NOT_MEASURED
    v = V.claim6(data(moving=[("ViT", 250)]))
    assert v.verdict == V.NOT_MEASURED and any("ViT at 250" in r for r in v.reasons)
    # the hybrid is not what the verdict rests on
    assert V.claim6(data(moving=[("hybrid", 250)])).verdict == V.CAVEATS
    v = V.claim4(translation(moving=["ViT"]))
    assert v.verdict == V.NOT_MEASURED and any("ViT" in r for r in v.reasons[1:])
    assert V.claim4(translation()).verdict == V.CAVEATS


def robustness() -> E.Robustness:
    def model(mean: float) -> E.ModelRobustness:
        cost = E.Cost(acc(mean), 1000, 10_000, 5000.0, 40.0)
        return E.ModelRobustness([acc(mean)], [acc(mean)], [acc(mean)], None, cost)

    models = {"CNN": model(0.98), "ViT": model(0.92)}
    return E.Robustness(noise=[0.0], blur=[0.0], occlusion=[0.0], models=models)


def test_results_survive_the_cache_round_trip():
    """What the cache stores (plain containers) rebuilds the same typed result."""
    results = (locality(), parameters(), translation(), robustness(), data())
    for result in (*results, translation(matched=None)):
        plain = E.to_plain(result)
        assert type(plain) is dict
        assert E.from_plain(type(result), plain) == result


def test_grades_follow_the_tested_parts_only():
    def part(holds):
        return V.Test("ViT", "x", holds, "")

    assert V.grade([part(True), part(None)], []) == V.HOLDS
    assert V.grade([part(True)], ["a caveat"]) == V.CAVEATS
    assert V.grade([part(True), part(False)], ["a caveat"]) == V.PARTLY_WRONG
    assert V.grade([part(False), part(None)], []) == V.WRONG
    assert V.grade([part(None)], []) == V.NOT_MEASURED  # nothing tested
    assert V.grade([part(True)], [], moving=["ViT"]) == V.NOT_MEASURED
    assert {V.HOLDS, V.CAVEATS, V.PARTLY_WRONG, V.WRONG, V.NOT_MEASURED} == set(
        V.GRADES
    )


@pytest.mark.parametrize(
    "constant, value, verdict, expected",
    [
        ("ABLATION_POINTS", 40.0, lambda: V.claim1(locality()), V.WRONG),
        (
            "SOLVED",
            0.99,
            lambda: V.claim2(
                locality(ablation=ablation(identity_all=0.96)), parameters()
            ),
            V.PARTLY_WRONG,
        ),
        ("PARAMETER_RATIO", 30.0, lambda: V.claim3(parameters()), V.WRONG),
        ("SHIFT_FLIPS", 0.25, lambda: V.claim4(translation()), V.PARTLY_WRONG),
        (
            "COMPETITIVE_POINTS",
            1.0,
            lambda: V.claim5(locality(), recipes_acc(), REFERENCES),
            V.PARTLY_WRONG,
        ),
        ("SMALL_DATA_KEPT", 0.95, lambda: V.claim6(data()), V.PARTLY_WRONG),
    ],
)
def test_a_threshold_flips_its_verdict(monkeypatch, constant, value, verdict, expected):
    """An instructor who changes a threshold gets a different verdict, not an error
    (the notebooks assert measurements, never grades)."""
    before = verdict().verdict
    monkeypatch.setattr(V, constant, value)
    assert verdict().verdict == expected != before


def test_markdown_table_lists_every_verdict():
    vs = [V.claim1(locality()), V.claim2(locality(), parameters())]
    vs.append(V.claim3(parameters()))
    text = V.markdown(vs)
    assert text.count("\n") == 4 and "**partly wrong**" in text
    assert "**holds**" in text and "fact: " in text and "published: " in text
    assert "not tested" not in text  # every part has its test
    unconverged = parameters(moving=["CNN w8, permuted pixels"])
    assert "not tested" in V.markdown([V.claim2(locality(), unconverged)])
