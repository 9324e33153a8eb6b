"""Chapter 13's exercise checks, on hand-made results (nothing is trained or read
from the cache)."""

import math
from dataclasses import replace

import measured
import nbformat
import pytest
from measured import acc

from minimodels import experiments as E
from minimodels import verdicts as V
from minimodels.exercises import (
    STRICT_POINTS,
    STRICT_THRESHOLD_OPTIONS,
    ExerciseError,
    ch13,
    check_claim_numbers_report,
    check_seed_interval,
    check_strict_threshold_prediction,
)
from minimodels.stats import t_interval

CHAPTER = "13_verdicts"


def locality(uniform_block=0.6, probe_last=0.99, intact=0.97) -> E.Locality:
    """Chapter 08's results as the book measured them, roughly: block 2 made uniform
    costs 37 points, the CNN's last stage gains 8 over its untrained twin."""
    return measured.locality(
        cnn_rf=[("c", 3), ("c", 5), ("c", 10)],
        cnn_probe=[0.74, 0.97, probe_last],
        ablation=E.AttentionAblation(
            intact,
            {"uniform": [intact, uniform_block], "identity": [0.4, intact]},
            {"uniform": 0.3, "identity": 0.2},
        ),
    )


# -- 13.1 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, answer",
    [
        ({}, "b"),  # the book's case: 37 points of attention, 8 of training
        ({"uniform_block": 0.9}, "d"),  # 7 points, 8 points
    ],
)
def test_strict_threshold_prediction_follows_the_measurement(kw, answer, capsys):
    loc = locality(**kw)
    check_strict_threshold_prediction(lambda: answer, loc)
    out = capsys.readouterr().out
    assert out.startswith("\N{CHECK MARK} strict_threshold_prediction")
    assert f"ABLATION_POINTS = {STRICT_POINTS:g}" in out
    for wrong in set(STRICT_THRESHOLD_OPTIONS) - {answer}:
        with pytest.raises(ExerciseError, match=rf"so the answer is \({answer}\)"):
            check_strict_threshold_prediction(lambda w=wrong: w, loc)
    assert V.ABLATION_POINTS == 2.0  # put back, also after a wrong prediction


def test_strict_threshold_reaches_every_option():
    # a CNN that learned a lot (untrained 0.5 at the last stage) and a ViT whose
    # attention does not matter: c; both large: a
    weak_null = replace(locality(), untrained_cnn_probe=[0.3, 0.4, 0.5])
    check_strict_threshold_prediction(lambda: "a", weak_null)
    check_strict_threshold_prediction(
        lambda: "c", replace(weak_null, ablation=locality(uniform_block=0.9).ablation)
    )


def test_strict_threshold_stub_and_bad_answer_restore_the_threshold():
    def stub():
        raise NotImplementedError

    with pytest.raises(
        ExerciseError, match="strict_threshold_prediction is not written"
    ):
        check_strict_threshold_prediction(stub, locality())
    with pytest.raises(ExerciseError, match=r"returned 'e'; expected one of"):
        check_strict_threshold_prediction(lambda: "e", locality())
    assert V.ABLATION_POINTS == 2.0


def test_strict_threshold_is_put_back_when_the_verdict_fails():
    with pytest.raises(AttributeError):
        check_strict_threshold_prediction(lambda: "b", object())
    assert V.ABLATION_POINTS == 2.0


def test_chapter_lists_the_options_and_the_threshold_its_check_uses(root):
    path = root / "chapters" / f"{CHAPTER}.ipynb"
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    for key, option in STRICT_THRESHOLD_OPTIONS.items():
        assert f'- `"{key}"`: {option}' in text, option
    assert f"`ABLATION_POINTS = {STRICT_POINTS:g}`" in text


# -- 13.2 ----------------------------------------------------------------------------


def interval(values, quantile=lambda n: ch13._t(0.975, n - 1), ddof=1, se=True):
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - ddof))
    half = quantile(n) * sd / (math.sqrt(n) if se else 1)
    return mean, mean - half, mean + half


@pytest.fixture
def quick_quantile(monkeypatch):
    """minimodels.stats.t_interval with the check's cached quantile: the same
    numbers, each quantile integrated once for the whole file (each call of
    t_quantile takes a fraction of a second)."""
    import minimodels.stats

    monkeypatch.setattr(minimodels.stats, "t_quantile", ch13._t)


def test_reference_is_the_package_t_interval(quick_quantile):
    for xs in ch13.SEED_SAMPLES:
        assert ch13._reference(xs) == pytest.approx(t_interval(xs)[:3], abs=1e-12)
    assert ch13._t(0.975, 2) == pytest.approx(4.303, abs=1e-3)  # any t table
    sizes = sorted(len(xs) for xs in ch13.SEED_SAMPLES)
    assert sizes[0] == 2 and sizes[-1] == 10


def test_seed_interval_passes_the_right_answer_and_the_package(quick_quantile, capsys):
    tuned = {"CNN recipe": E.over_seeds([0.99, 0.989, 0.989])}
    check_seed_interval(interval, tuned)
    out = capsys.readouterr().out
    assert out.startswith("\N{CHECK MARK} seed_interval") and "CNN recipe 98.9%" in out
    check_seed_interval(t_interval)  # the package's Interval, four fields


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda xs: interval(xs, quantile=lambda n: 1.96), "1.96 of the normal"),
        (lambda xs: interval(xs, ddof=0), "standard deviation that divides by n"),
        (lambda xs: interval(xs, se=False), "instead of the standard error"),
        (
            lambda xs: interval(xs, quantile=lambda n: ch13._t(0.95, n - 1)),
            "the 0.95 quantile: that leaves 5% above",
        ),
        (
            lambda xs: interval(xs, quantile=lambda n: ch13._t(0.975, n)),
            "n degrees of freedom",
        ),
        (lambda xs: (max(xs), *interval(xs)[1:]), "the mean is 0.99; expected 0.98"),
        (
            lambda xs: (interval(xs)[0], *interval(xs)[:0:-1]),
            "low and high are swapped",
        ),
        (lambda xs: (interval(xs)[0], 0.5, 0.6), "centred on the mean"),
        (lambda xs: interval(xs)[1:], r"returned \(.*\); expected a tuple"),
        (lambda xs: None, "returned None; expected \\(mean, low, high\\)"),
        (lambda xs: (*interval(xs), 0), "returned 4 values; expected three"),
        (lambda xs: (0.98, "low", 1), "returned 'low' as the low; expected a number"),
    ],
)
def test_seed_interval_names_each_mistake(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        check_seed_interval(wrong)


def test_seed_interval_stub():
    def stub(values):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="seed_interval is not written yet"):
        check_seed_interval(stub)


# -- 13.3 ----------------------------------------------------------------------------


def claim5() -> V.Verdict:
    recipes = {"CNN recipe": acc(0.9893), "ViT recipe": acc(0.9773)}
    return V.claim5(locality(), recipes, [])


SENTENCE = (
    "On a few thousand digits a tuned ViT reaches 97.7% and a tuned CNN 98.9%: the "
    "ViT trails by 1.2 points, within the 2 points we call competitive."
)
ANSWER = " ".join(["The gap is smaller than the threshold but not by much."] * 3)


def report(**kw):
    good = {
        "claim": 5,
        "numbers": {
            "ViT": 0.9773,  # as the verdict has it
            "CNN": 98.9,  # in percent, rounded as printed
            "gap": 1.2,
            "threshold": 2,
        },
        "sentence": SENTENCE,
        "answer": ANSWER,
    }
    return lambda: {**good, **kw}


def test_claim_numbers_report_passes_a_complete_hand_in(capsys):
    check_claim_numbers_report(report(), [claim5()])
    out = capsys.readouterr().out
    assert "claim 5 (holds)" in out and "from measured['ours_vit']" in out
    assert "from measured['ours_cnn'] x 100" in out
    assert out.rstrip().endswith("the argument is graded by hand.")
    assert "\N{CHECK MARK} my_experiment: complete" in out


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"claim": 7}, r"'claim' is 7; expected the number of one of the claims, 5"),
        ({"claim": True}, "'claim' is True"),
        ({"numbers": {"gap": 1.2}}, "at least two numbers"),
        ({"numbers": {"gap": 1.2, "x": "1"}}, r"'numbers'\['x'\] is '1'"),
        ({"numbers": {"gap": 1.2, "x": math.nan}}, r"'numbers'\['x'\] is nan"),
        (
            {"numbers": {"gap": 1.2, "made up": 3.7}},
            r"'numbers'\['made up'\] = 3.7 is none of claim 5's measurements",
        ),
        (
            {"numbers": {"gap": 1.2, "ViT": 97.8}},  # 97.73 is not 97.8
            r"'numbers'\['ViT'\] = 97.8 is none",
        ),
        (
            {"numbers": {"gap": 1.2, "long range": 0.95}},  # true, but not said
            r"the sentence does not state 'numbers'\['long range'\] = 0.95",
        ),
        ({"sentence": "Competitive."}, "'sentence' has 1 words; write at least 10"),
        ({"answer": "Yes."}, "'answer' has 1 words; expected at least 20"),
        ({"answer": None}, "'answer' has 0 words; expected at least 20"),
    ],
)
def test_claim_numbers_report_names_what_is_missing(kw, message):
    with pytest.raises(ExerciseError, match=message):
        check_claim_numbers_report(report(**kw), [claim5()])


def test_claim_numbers_report_missing_keys_and_stub():
    with pytest.raises(ExerciseError, match="has no 'sentence', 'answer'"):
        check_claim_numbers_report(lambda: {"claim": 5, "numbers": {}}, [claim5()])
    with pytest.raises(ExerciseError, match="returned list; expected a dict"):
        check_claim_numbers_report(lambda: [], [claim5()])

    def stub():
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="my_experiment is not written yet"):
        check_claim_numbers_report(stub, [claim5()])


def test_numbers_are_read_at_their_rounding():
    assert ch13._numbers_in("1,280 parameters, 97.3% and -1.3 points; 56x") == [
        1280.0,
        97.3,
        -1.3,
        56.0,
    ]
    assert ch13._agrees(97.3, 97.333) and not ch13._agrees(97.30, 97.36)
    assert ch13._agrees(56, 56.2) and not ch13._agrees(56.0 + 0.1, 56.2)
    assert ch13._stated(0.9773, "reaches 97.7%") and ch13._stated(0.9773, "98%")
    assert not ch13._stated(0.9773, "97.9%") and not ch13._stated(0.9773, "0.97")
