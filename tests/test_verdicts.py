"""minimodels.verdicts: every verdict follows the measurements (changing one changes
the verdict).
"""

import copy

import pytest

from minimodels import verdicts as V


def locality(**kw):
    r = {
        "cnn_rf": [("c", 3), ("c", 5), ("c", 10), ("c", 14), ("c", 24), ("c", 32)],
        "vit_mad": [[3.0, 9.0], [8.0, 10.0]],
        "image_size": 28,
        "patch_size": 4,
        "other_token_weight": [0.8, 0.9],
        "embed_vs_conv": 1e-7,
        "diagonal": {
            "local CNN": {"mean": 0.51},
            "SmallCNN": {"mean": 0.99},
            "ViT": {"mean": 0.95},
        },
    }
    r.update(kw)
    return r


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
    d = copy.deepcopy(independent)
    d["diagonal"]["SmallCNN"]["mean"] = 0.6
    assert V.claim2(d).verdict == V.HOLDS


CONVERGED = {"converged": True}


def parameters(vit_acc=(0.7, 0.8, 0.85), growth=4096):
    rows = [
        {"name": f"CNN {p}", "family": "CNN", "parameters": p, "mean": a}
        for p, a in [(5000, 0.93), (18000, 0.97)]
    ]
    rows += [
        {"name": f"ViT {p}", "family": "ViT", "parameters": p, "mean": a}
        for p, a in zip([6000, 20000, 70000], vit_acc)
    ]
    for r in rows:
        r["budget"] = dict(CONVERGED)
    refs = [
        {"name": "resnet50", "parameters": 25_557_032, "published_top1": 76.13},
        {"name": "vit_b_16", "parameters": 86_567_656, "published_top1": 81.07},
    ]
    return {
        "rows": rows,
        "vit_growth_28_to_56": growth,
        "position_growth_28_to_56": 4096,
        "references": refs,
    }


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


def translation(cnn=0.95, vit=0.80, recipe=(0.99, 0.95, 0.75)):
    d = [0, 1, 2, 3, 4]
    flat = lambda c: [{"mean": 1.0}] + [{"mean": c}] * 4  # noqa: E731
    plain = lambda c: [1.0] + [c] * 4  # noqa: E731
    names = ["CNN recipe", "ViT recipe", "ViT recipe without shifts"]
    return {
        "distances": d,
        "variants": {
            "CNN": {"consistency": flat(cnn)},
            "ViT": {"consistency": flat(vit)},
        },
        "full": {n: {"consistency": plain(c)} for n, c in zip(names, recipe)},
    }


def test_claim4_follows_consistency():
    v = V.claim4(translation())
    assert v.verdict == V.CAVEATS and v.measured["cnn"] == pytest.approx(0.95)
    assert v.measured["augmentation_recovered"] == pytest.approx(0.2 / 0.24)
    assert (
        V.claim4(translation(cnn=0.995, vit=0.8, recipe=(0.99, 0.8, 0.75))).verdict
        == V.HOLDS
    )
    assert V.claim4(translation(cnn=0.85, vit=0.84)).verdict == V.WRONG


def test_claim5_follows_published_and_measured_accuracy():
    rob = {
        "CNN recipe": {"table": {"test_acc": {"mean": 0.984}}},
        "ViT recipe": {"table": {"test_acc": {"mean": 0.954}}},
    }
    assert V.claim5(rob, parameters()).verdict == V.CAVEATS
    timed = copy.deepcopy(rob)
    (
        timed["CNN recipe"]["table"]["train_seconds"],
        timed["ViT recipe"]["table"]["train_seconds"],
    ) = 50.0, 90.0
    assert "in less training time" in " ".join(V.claim5(timed, parameters()).reasons)
    timed["CNN recipe"]["table"]["train_seconds"] = 120.0
    assert "more training time" in " ".join(V.claim5(timed, parameters()).reasons)
    close = copy.deepcopy(rob)
    close["ViT recipe"]["table"]["test_acc"]["mean"] = 0.98
    assert V.claim5(close, parameters()).verdict == V.HOLDS
    p = parameters()
    p["references"][1]["published_top1"] = 70.0
    assert V.claim5(rob, p).verdict == V.WRONG


def data(gap_small=20.0, gap_large=5.0, hybrid_small=0.85):
    curves = {
        "CNN": {250: {"mean": 0.9}, 4000: {"mean": 0.97}},
        "ViT": {
            250: {"mean": 0.9 - gap_small / 100},
            4000: {"mean": 0.97 - gap_large / 100},
        },
        "hybrid": {250: {"mean": hybrid_small}, 4000: {"mean": 0.95}},
    }
    for per_size in curves.values():
        for point in per_size.values():
            point["budget"] = dict(CONVERGED)
    return {"sizes": [250, 4000], "curves": curves}


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
    p["rows"][-1]["budget"]["converged"] = False
    v = V.claim3(p)
    assert v.verdict == V.NOT_MEASURED and any("ViT 70000" in r for r in v.reasons)
    d = data()
    d["curves"]["ViT"][250]["budget"]["converged"] = False
    v = V.claim6(d)
    assert v.verdict == V.NOT_MEASURED and any("ViT at 250" in r for r in v.reasons)
    d = data()
    d["curves"]["hybrid"][250]["budget"]["converged"] = False  # not what it rests on
    assert V.claim6(d).verdict == V.CAVEATS
    t = translation()
    t["variants"]["ViT"]["budget"] = {"converged": False}
    v = V.claim4(t)
    assert v.verdict == V.NOT_MEASURED and any("ViT" in r for r in v.reasons[1:])
    t["variants"]["ViT"]["budget"] = dict(CONVERGED)
    assert V.claim4(t).verdict == V.CAVEATS


def test_markdown_table_lists_every_verdict():
    text = V.markdown([V.claim1(locality()), V.claim2(locality())])
    assert (
        text.count("\n") == 3 and "**wrong**" in text and "holds with caveats" in text
    )
