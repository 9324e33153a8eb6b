"""Exercise checks of chapter 13 (Verdicts)."""

from __future__ import annotations

import functools
import math
import re
from decimal import Decimal
from numbers import Real
from typing import Any, Callable, Mapping, Sequence

from ..stats import t_quantile
from .core import ExerciseError, argument, call, hand_in, judge_prediction, passed

__all__ = [
    "STRICT_POINTS",
    "STRICT_THRESHOLD_OPTIONS",
    "check_strict_threshold_prediction",
    "check_seed_interval",
    "check_claim_numbers_report",
]

# -- Exercise 13.1: claim 1 under a stricter threshold -----------------------------

# A skeptic's threshold for claim 1's two tests (minimodels.verdicts.ABLATION_POINTS
# is 2 points, just beyond the +-1.1 points of the test set's 95% sampling interval).
# 20 points is a preference, not a statistical bar: the exercise asks which of claim
# 1's effects survive it.
STRICT_POINTS = 20.0

STRICT_THRESHOLD_OPTIONS = {
    "a": f"it still holds: both tested parts clear {STRICT_POINTS:g} points",
    "b": (
        f"partly wrong: the ViT's use of attention clears {STRICT_POINTS:g} points, "
        "the CNN's learned hierarchy does not"
    ),
    "c": (
        f"partly wrong: the CNN's learned hierarchy clears {STRICT_POINTS:g} points, "
        "the ViT's use of attention does not"
    ),
    "d": f"wrong: neither tested part clears {STRICT_POINTS:g} points",
}


def check_strict_threshold_prediction(predict: Callable, locality: Any) -> None:
    """Chapter 13, predict then run: claim 1 with a stricter threshold.

    ``predict()`` returns "a" to "d" of :data:`STRICT_THRESHOLD_OPTIONS`: which of
    claim 1's two tested parts (the ViT uses its attention; the CNN learns a
    hierarchy) still hold when ``minimodels.verdicts.ABLATION_POINTS`` is
    :data:`STRICT_POINTS` instead of its value. The check sets the threshold,
    recomputes ``verdicts.claim1(locality)`` from chapter 08's results (nothing is
    trained), puts the threshold back (also when it fails), picks the option the
    two tests give and compares.
    """
    from .. import verdicts

    before = verdicts.ABLATION_POINTS
    try:
        verdicts.ABLATION_POINTS = STRICT_POINTS
        strict = verdicts.claim1(locality)
    finally:
        verdicts.ABLATION_POINTS = before
    vit = strict.test("use self-attention")
    cnn = strict.test("learn hierarchical local features")
    answer = {
        (True, True): "a",
        (True, False): "b",
        (False, True): "c",
        (False, False): "d",
    }[(bool(vit.holds), bool(cnn.holds))]
    probe, null = locality.cnn_probe[-1], locality.untrained_cnn_probe[-1]

    def mark(test) -> str:
        return "holds" if test.holds else "fails"

    measured = (
        f"with ABLATION_POINTS = {STRICT_POINTS:g}, making block "
        f"{strict.measured['block']}'s attention uniform costs the ViT "
        f"{vit.measured:.1f} points ({mark(vit)}); the trained CNN's last stage "
        f"reads {probe:.1%} of the digits, its untrained twin's {null:.1%}: "
        f"{cnn.measured:.1f} points learned ({mark(cnn)}); claim 1 is "
        f"{strict.verdict}"
    )
    why = (
        "a test clears its threshold by the distance between the statistic and its "
        "null baseline, not by the statistic itself. The ViT's null is attention "
        "that learned nothing (uniform), and the trained model depends on its "
        f"learned attention by {vit.measured:.0f} points. The CNN's null is the same "
        "network untrained: random convolutions, averaged over positions, are "
        f"already features a linear probe reads {null:.0%} of the digits from, so "
        f"training adds {cnn.measured:.0f} points on top. A strong null makes a "
        "small effect; whether it counts is the threshold's choice, which is why "
        "each threshold of minimodels.verdicts comes with the reason for its value "
        f"(here {before:g} points: beyond the test set's own sampling error)"
    )
    judge_prediction(
        "strict_threshold_prediction",
        predict,
        STRICT_THRESHOLD_OPTIONS,
        answer,
        measured=measured,
        why=why,
    )


# -- Exercise 13.2: the t-interval over seeds --------------------------------------

# Samples of 2 to 10 runs (accuracies): the sizes the book uses most (2 and 3), two
# more, and one without spread (its interval has zero width). Few: each quantile
# costs a student's t_quantile call a fraction of a second.
SEED_SAMPLES: tuple[tuple[float, ...], ...] = (
    (0.97, 0.99),
    (0.973, 0.979, 0.980),
    (0.95, 0.95, 0.95),
    (0.62, 0.71, 0.55, 0.68, 0.66),
    (0.1, 0.3, 0.2, 0.4, 0.25, 0.35, 0.15, 0.3, 0.2, 0.25),
)
Z_95 = 1.959964  # the normal distribution's 0.975 quantile


@functools.lru_cache(maxsize=None)
def _t(probability: float, df: int) -> float:
    """``minimodels.stats.t_quantile``, once per argument: each call integrates the
    density numerically (a fraction of a second)."""
    return t_quantile(probability, df)


def _reference(xs: Sequence[float]) -> tuple[float, float, float]:
    """``minimodels.stats.t_interval(xs)`` at 95%, as (mean, low, high), with the
    cached quantile (tests/test_exercises_ch13.py checks the two agree)."""
    n = len(xs)
    mean = sum(xs) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = _t(0.975, n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def _interval_mistakes(xs: Sequence[float]) -> dict[str, float]:
    """The half-widths the classic mistakes give on ``xs``, each with its hint."""
    n = len(xs)
    mean = sum(xs) / n
    squares = sum((x - mean) ** 2 for x in xs)
    sd, sd_n = math.sqrt(squares / (n - 1)), math.sqrt(squares / n)
    t = _t(0.975, n - 1)
    return {
        "the 1.96 of the normal distribution instead of Student's t: with n runs "
        "the standard deviation is itself estimated from them, and the t quantile "
        f"with n - 1 degrees of freedom accounts for it ({t:.2f} for n = {n})": Z_95
        * sd
        / math.sqrt(n),
        "a standard deviation that divides by n: the sample standard deviation "
        "divides by n - 1 (torch.std's default; numpy's std divides by n unless "
        "ddof=1, statistics.pstdev always does)": t * sd_n / math.sqrt(n),
        "the standard deviation of the runs instead of the standard error of their "
        "mean: divide it by the square root of n": t * sd,
        "the 0.95 quantile: that leaves 5% above, a 90% two-sided interval; a 95% "
        "interval leaves 2.5% in each tail (the 0.975 quantile)": _t(0.95, n - 1)
        * sd
        / math.sqrt(n),
        "n degrees of freedom: estimating the mean uses one, so Student's t has "
        "n - 1": _t(0.975, n) * sd / math.sqrt(n),
    }


def _as_triple(got: Any, name: str) -> tuple[float, float, float]:
    if got is None:
        raise ExerciseError(
            f"{name} returned None; expected (mean, low, high). Did you forget "
            "`return`?"
        )
    try:
        items = list(got)
    except TypeError:
        items = None
    if items is None or len(items) < 3:
        raise ExerciseError(
            f"{name} returned {got!r}; expected a tuple (mean, low, high)."
        )
    values = items[:3]
    if len(items) > 3 and not hasattr(got, "_fields"):  # an Interval has 4 fields
        raise ExerciseError(
            f"{name} returned {len(items)} values; expected three: (mean, low, high)."
        )
    out = []
    for what, v in zip(("mean", "low", "high"), values):
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            raise ExerciseError(
                f"{name} returned {v!r} as the {what}; expected a number."
            ) from None
    return out[0], out[1], out[2]


def check_seed_interval(
    seed_interval: Callable, recipes: Mapping[str, Any] | None = None
) -> None:
    """Chapter 13, the interval over seeds.

    Verifies that ``seed_interval(values)`` returns ``(mean, low, high)``: the mean
    of the runs' values and its two-sided 95% Student's t-interval, as
    ``minimodels.stats.t_interval`` computes it, on five samples of 2 to 10 values
    (one without spread) and, when ``recipes`` (name -> Interval, as
    ``experiments.recipe_accuracy()`` returns) is given, on their seeds' values.
    The normal quantile 1.96 instead of t, a standard deviation that divides by n,
    the standard deviation instead of the standard error, the one-sided 0.95
    quantile and n degrees of freedom are each named.
    """
    name = "seed_interval"

    def listed(xs: Sequence[float]) -> str:
        return "[" + ", ".join(f"{x:.4g}" for x in xs) + "]"

    samples = [(f"the runs {listed(xs)}", xs) for xs in SEED_SAMPLES]
    for label, interval in (recipes or {}).items():
        samples.append(
            (f"the {label}'s seeds {listed(interval.values)}", interval.values)
        )
    for what, xs in samples:
        got = call(seed_interval, list(xs), name=name)
        mean, low, high = _as_triple(got, name)
        ref_mean, ref_low, ref_high = _reference(xs)
        # float32 arithmetic, or a t quantile from a three-decimal table, is fine;
        # every classic mistake below changes the half-width by 1.5% or more
        tol = 1e-6 + 1e-3 * abs(ref_high - ref_mean)
        if abs(mean - ref_mean) > 1e-6:
            raise ExerciseError(
                f"{name} on {what}: the mean is {mean:.6g}; expected {ref_mean:.6g}."
            )
        if abs(low - ref_low) <= tol and abs(high - ref_high) <= tol:
            continue
        if abs(low - ref_high) <= tol and abs(high - ref_low) <= tol:
            raise ExerciseError(
                f"{name} on {what}: low and high are swapped ({low:.6g} > {high:.6g})."
            )
        half_got, half = (high - low) / 2, ref_high - ref_mean
        hint = ""
        for mistake, wrong_half in _interval_mistakes(xs).items():
            if abs(half_got - wrong_half) <= tol and abs(wrong_half - half) > tol:
                hint = f" It looks like {mistake}."
                break
        if not hint and not math.isclose((low + high) / 2, mean, abs_tol=tol):
            hint = " The interval should be centred on the mean: mean - h, mean + h."
        raise ExerciseError(
            f"{name} on {what} returned the interval {low:.6g} to {high:.6g} "
            f"(half-width {half_got:.4g}); expected {ref_low:.6g} to {ref_high:.6g} "
            f"(half-width {half:.4g}).{hint}"
        )
    shown = "; ".join(
        f"{label} {interval.text()}" for label, interval in (recipes or {}).items()
    )
    passed(
        name,
        f"matches minimodels.stats.t_interval on {len(SEED_SAMPLES)} samples of "
        f"2 to 10 runs" + (f" and on the recipes' seeds: {shown}." if shown else "."),
    )


# -- Exercise 13.3: one claim with its numbers -------------------------------------

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?")
REPORT_KEYS = ("claim", "numbers", "sentence", "answer")
MIN_SENTENCE_WORDS = 10


def _numbers_in(text: str) -> list[float]:
    """The numbers written in ``text`` ("1,280" is one number)."""
    return [float(m.replace(",", "")) for m in _NUMBER.findall(text)]


def _decimals(x: float) -> int:
    """How many decimals ``x`` is written with (its shortest repr)."""
    exponent = Decimal(repr(float(x))).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _agrees(written: float, value: float) -> bool:
    """``written`` is ``value`` rounded to the decimals it is written with."""
    tol = 0.5 * 10 ** -_decimals(written) + 1e-6 * max(1.0, abs(value))
    return abs(written - value) <= tol


def _sources(verdict: Any) -> list[tuple[str, float]]:
    """Every number of a verdict, with where it is: the tests' statistics, nulls and
    thresholds, its ``measured`` dict, and the numbers written in its sentences."""
    out: list[tuple[str, float]] = []

    def add(where: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                add(f"{where}[{k!r}]", v)
        elif isinstance(value, Real) and not isinstance(value, bool):
            if math.isfinite(value):
                out.append((where, float(value)))

    for t in verdict.tests:
        for field in ("measured", "null", "threshold"):
            add(f'test "{t.says}".{field}', getattr(t, field))
    add("measured", verdict.measured)
    for t in verdict.tests:
        for x in _numbers_in(t.text):
            add(f'test "{t.says}".text', x)
    for kind in ("caveats", "facts", "literature"):
        for sentence in getattr(verdict, kind):
            for x in _numbers_in(sentence):
                add(kind, x)
    return out


def _found(x: float, sources: list[tuple[str, float]]) -> str | None:
    """Where ``x`` is among ``sources``, as a fraction, in percent or points."""
    for where, value in sources:
        for scale, unit in ((1, ""), (100, " x 100"), (0.01, " / 100")):
            if _agrees(x, value * scale):
                return where + unit
    return None


def _stated(x: float, sentence: str) -> bool:
    """Whether ``sentence`` writes ``x`` (or ``x`` in percent), at its own rounding."""
    return any(
        _agrees(written, x) or _agrees(written, 100 * x)
        for written in _numbers_in(sentence)
    )


def check_claim_numbers_report(
    my_experiment: Callable, verdicts: Sequence[Any]
) -> None:
    """Chapter 13, open-ended: one claim of the post with its numbers.

    Verifies that ``my_experiment()`` returns a dict with "claim" (1 to 6),
    "numbers" (at least two names -> finite numbers), "sentence" (at least
    MIN_SENTENCE_WORDS words) and "answer" (at least MIN_ANSWER_WORDS words); that
    every number is one of the claim's measurements in ``verdicts`` (its tests'
    statistics, nulls and thresholds, its ``measured`` dict, or a number its
    sentences print), as a fraction, in percent or points, within the rounding it
    is written with; and that the sentence states each of them. Prints the hand-in;
    the argument is graded by hand.
    """
    name = "my_experiment"
    report = hand_in(my_experiment, REPORT_KEYS, name=name)
    claim = report["claim"]
    by_claim = {v.claim: v for v in verdicts}
    if isinstance(claim, bool) or claim not in by_claim:
        raise ExerciseError(
            f"'claim' is {claim!r}; expected the number of one of the claims, "
            f"{', '.join(map(str, sorted(by_claim)))}."
        )
    numbers = report["numbers"]
    if not isinstance(numbers, Mapping) or len(numbers) < 2:
        raise ExerciseError(
            "'numbers' must be a dict of at least two numbers your sentence cites "
            f"(name -> number); got {numbers!r}."
        )
    for key, x in numbers.items():
        if not isinstance(x, Real) or isinstance(x, bool) or not math.isfinite(x):
            raise ExerciseError(f"'numbers'[{key!r}] is {x!r}; expected a number.")
    sentence = report["sentence"]
    if not isinstance(sentence, str):
        raise ExerciseError(
            f"'sentence' is a {type(sentence).__name__}; expected a string."
        )
    words = len(sentence.split())
    if words < MIN_SENTENCE_WORDS:
        raise ExerciseError(
            f"'sentence' has {words} words; write at least {MIN_SENTENCE_WORDS}: "
            "the claim as the post should state it, with its numbers."
        )
    argument(report, name)
    verdict = by_claim[claim]
    sources = _sources(verdict)
    rows = []
    for key, x in numbers.items():
        where = _found(float(x), sources)
        if where is None:
            raise ExerciseError(
                f"'numbers'[{key!r}] = {x!r} is none of claim {claim}'s measurements "
                f"(within the rounding it is written with). They are its tests' "
                "statistics, nulls and thresholds (verdict.tests[i].measured, .null, "
                ".threshold), verdict.measured, and the numbers its sentences print; "
                f"claim {claim}'s tests print: "
                + " | ".join(t.text for t in verdict.tests)
            )
        if not _stated(float(x), report["sentence"]):
            raise ExerciseError(
                f"the sentence does not state 'numbers'[{key!r}] = {x!r} (as written, "
                "in percent or rounded): every number you list backs the sentence, "
                "so the sentence says it."
            )
        rows.append((key, float(x), where))
    width = max(len(k) for k, _, _ in rows)
    print(f"claim {claim} ({verdict.verdict}): {verdict.statement}")
    for key, x, where in rows:
        print(f"  {key:<{width}}  {x:>10.4g}  from {where}")
    print(f"  sentence: {report['sentence']}")
    print(f"  answer: {report['answer']}")
    passed(
        name,
        f"complete: {len(rows)} numbers, each one of claim {claim}'s measurements and "
        "stated in the sentence; the argument is graded by hand.",
    )
