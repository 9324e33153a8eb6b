import pytest

from minimodels.timing import best_seconds, median_seconds, ratio


def test_median_and_ratio_are_positive_and_ordered():
    def slow():
        return sum(range(20000))

    def fast():
        return None

    assert 0 <= best_seconds(fast, repeats=3) <= median_seconds(fast, repeats=3) + 1e-3
    assert ratio(slow, fast, repeats=3, rounds=1) > 1
    with pytest.raises(ValueError, match="repeats must be at least 1, got 0"):
        median_seconds(fast, repeats=0)
