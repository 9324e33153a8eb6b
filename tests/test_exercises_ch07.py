import pytest

from minimodels.exercises import (
    ExerciseError,
    check_attention_received,
    check_block_parameters,
)


def right(dim, mlp_dim):
    return (4 * dim * dim + 4 * dim) + (2 * dim * mlp_dim + mlp_dim + dim) + 4 * dim


def test_block_parameters(capsys):
    check_block_parameters(right)
    assert "\N{CHECK MARK} block_parameters" in capsys.readouterr().out
    with pytest.raises(
        ExerciseError,
        match=(
            r"block_parameters\(dim=64, mlp_dim=128\) returned 33216; expected 33,472 "
            r".*LayerNorms have parameters"
        ),
    ):
        check_block_parameters(lambda d, m: right(d, m) - 4 * d)
    with pytest.raises(
        ExerciseError,
        match=r"block_parameters\(dim=16, mlp_dim=64\) returned 33472; expected 3,280",
    ):
        check_block_parameters(lambda d, m: 33_472)  # hard-coded for the first size

    def stub(d, m):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="block_parameters is not written yet"):
        check_block_parameters(stub)


def test_attention_received(capsys):
    check_attention_received(lambda w: w.mean(dim=(1, 2)))
    assert "\N{CHECK MARK} attention_received" in capsys.readouterr().out
    with pytest.raises(
        ExerciseError,
        match=r"returned 1/N = 0.2000 for every token: you averaged over the keys",
    ):
        check_attention_received(lambda w: w.mean(dim=(1, 3)))
    with pytest.raises(ExerciseError, match="you summed over heads and queries"):
        check_attention_received(lambda w: w.sum(dim=(1, 2)))
    with pytest.raises(
        ExerciseError, match=r"returned shape \(2, 5, 5\); expected \(2, 5\)"
    ):
        check_attention_received(lambda w: w.mean(dim=1))
