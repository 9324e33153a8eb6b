"""minimodels.stats: t quantiles against the printed tables, intervals, errors."""

import math

import pytest

from minimodels.stats import binomial_se, summary_line, t_interval, t_quantile


@pytest.mark.parametrize(
    "df, expected",  # two-sided 95%: the 0.975 quantile, as in any t table
    [(1, 12.706), (2, 4.303), (3, 3.182), (5, 2.571), (10, 2.228), (30, 2.042)],
)
def test_t_quantile_matches_the_table(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-3)


def test_t_quantile_approaches_the_normal():
    assert t_quantile(0.975, 10_000) == pytest.approx(1.960, abs=1e-3)
    with pytest.raises(ValueError, match="probability must be in"):
        t_quantile(0.3, 2)


def test_t_interval():
    ci = t_interval([0.97, 0.98, 0.99])
    half = 4.303 * 0.01 / math.sqrt(3)  # sd 0.01, three runs
    assert ci.mean == pytest.approx(0.98)
    assert (ci.low, ci.high) == pytest.approx((0.98 - half, 0.98 + half), abs=1e-5)
    assert ci.values == (0.97, 0.98, 0.99)
    single = t_interval([0.5])
    assert single.low == single.mean == single.high == 0.5
    with pytest.raises(ValueError, match="at least one value"):
        t_interval([])
    assert t_interval([0.97, 0.99]).text() == "98.0% (85.3%-110.7%)"
    assert single.text(".2f") == "0.50 (1 seed)"


def test_binomial_se_and_summary_line():
    assert binomial_se(0.97, 1000) == pytest.approx(0.0054, abs=1e-4)
    line = summary_line("ViT recipe", [0.97, 0.98, 0.99], [90.0, 95.1, 93.2])
    assert line == (
        "ViT recipe: mean test accuracy 0.980 over 3 seeds "
        "(95% interval 0.955-1.005), slowest run 95.1 s"
    )
