import pytest
import torch

from minimodels.exercises import (
    ExerciseError,
    check_confusion_matrix,
    check_conv_parameters,
)


def test_conv_parameters(capsys):
    check_conv_parameters(lambda i, o, k, b: o * i * k * k + (o if b else 0))
    assert "\N{CHECK MARK} conv_parameters" in capsys.readouterr().out
    with pytest.raises(
        ExerciseError,
        match=(
            r"conv_parameters\(in_channels=16, out_channels=32, kernel_size=3, "
            r"bias=True\) returned 4608; expected 4640. Did you forget the bias"
        ),
    ):
        check_conv_parameters(lambda i, o, k, b: o * i * k * k)
    with pytest.raises(ExerciseError, match="Every output channel has its own kernel"):
        check_conv_parameters(lambda i, o, k, b: i * k * k + (o if b else 0))

    def stub(i, o, k, b):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="conv_parameters is not written yet"):
        check_conv_parameters(stub)


def _confusion(pred, true):
    m = torch.zeros(10, 10, dtype=torch.long)
    for t, p in zip(true.tolist(), pred.tolist()):
        m[t, p] += 1
    return m


def test_confusion_matrix():
    pred, true = torch.randint(0, 10, (200,)), torch.randint(0, 10, (200,))
    out = check_confusion_matrix(_confusion, pred, true)
    assert out.sum() == 200
    with pytest.raises(
        ExerciseError, match="is transposed: rows must be the true class"
    ):
        check_confusion_matrix(lambda p, t: _confusion(p, t).T, pred, true)
    with pytest.raises(
        ExerciseError, match=r"returned shape \(9, 9\); expected \(10, 10\)"
    ):
        check_confusion_matrix(lambda p, t: torch.zeros(9, 9), pred, true)
    with pytest.raises(ExerciseError, match="wrong values"):
        check_confusion_matrix(lambda p, t: torch.eye(10), pred, true)
