import pytest
import torch

from minimodels.exercises import (
    SHUFFLE_OPTIONS,
    ExerciseError,
    check_nearest_mean,
    check_shuffle_prediction,
)


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.rand(10, 28, 28, generator=g), torch.rand(30, 1, 28, 28, generator=g)


def nearest_mean(images, class_means):  # the notebook's solution
    return torch.cdist(images.flatten(1), class_means.flatten(1)).argmin(dim=1)


def test_nearest_mean(capsys):
    means, images = _data()
    predictions = check_nearest_mean(nearest_mean, means, images)
    assert "\N{CHECK MARK} nearest_mean" in capsys.readouterr().out
    assert torch.equal(predictions, nearest_mean(images, means))
    # the squared distance has the same nearest mean
    check_nearest_mean(
        lambda x, m: ((x[:, None, 0] - m) ** 2).sum(dim=(2, 3)).argmin(1), means, images
    )


@pytest.mark.parametrize(
    "answer, message",
    [
        (
            lambda x, m: torch.cdist(x.flatten(1), m.flatten(1)).argmax(1),
            r"picked the \*farthest\* mean",
        ),
        (  # a 28 x 28 hard-coded: right on MNIST, wrong size on the random images
            lambda x, m: torch.cdist(x.view(len(x), 784), m.view(10, 784)).argmin(1),
            r"nearest_mean raised RuntimeError",
        ),
        (  # distances along the wrong axis: one prediction per mean
            lambda x, m: torch.cdist(x.flatten(1), m.flatten(1)).argmin(0),
            r"returned shape \(10,\); expected \(30,\)",
        ),
        (  # the nearest *pixel row*, not the nearest image
            lambda x, m: torch.cdist(x[:, 0, 0], m[:, 0]).argmin(1),
            r"of 30 predictions differ from the index of the nearest mean",
        ),
    ],
)
def test_nearest_mean_wrong_answers(answer, message):
    with pytest.raises(ExerciseError, match=message):
        check_nearest_mean(answer, *_data())


@pytest.mark.parametrize(
    "shuffled_acc, answer",
    [(0.99, "a"), (0.975, "a"), (0.93, "b"), (0.85, "b"), (0.5, "c")],
)
def test_shuffle_prediction(shuffled_acc, answer, capsys):
    measure = lambda: shuffled_acc  # noqa: E731
    assert check_shuffle_prediction(lambda: answer, 0.98, measure) == shuffled_acc
    assert f"\N{CHECK MARK} shuffle_prediction: ({answer})" in capsys.readouterr().out
    for other in set(SHUFFLE_OPTIONS) - {answer}:
        with pytest.raises(ExerciseError, match=rf"so the answer is \({answer}\)"):
            check_shuffle_prediction(lambda o=other: o, 0.98, measure)


def test_shuffle_prediction_needs_an_answer():
    def stub():
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="shuffle_prediction is not written yet"):
        check_shuffle_prediction(stub, 0.98, lambda: 0.97)
    with pytest.raises(ExerciseError, match="expected one of 'a', 'b', 'c'"):
        check_shuffle_prediction(lambda: "maybe", 0.98, lambda: 0.97)
