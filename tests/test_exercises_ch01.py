import pytest
import torch

from minimodels.exercises import (
    SHUFFLE_OPTIONS,
    ExerciseError,
    check_nearest_mean,
    check_nearest_mean_report,
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


# --- Exercise 1.4: open-ended, a better nearest mean -----------------------------

ANSWER = " ".join(["word"] * 25)


def _report_data():
    g = torch.Generator().manual_seed(5)
    means = torch.rand(10, 5, 6, generator=g)
    x_val = torch.rand(40, 1, 5, 6, generator=g)
    y_val = torch.arange(40) % 10
    euclidean = (
        (torch.cdist(x_val.flatten(1), means.flatten(1)).argmin(1) == y_val)
        .float()
        .mean()
        .item()
    )
    return means, x_val, y_val, euclidean


def _hand_in(euclidean, **changes):
    report = {
        "val_acc": {"euclidean": euclidean, "cosine": 0.5, "deskewed": 0.6},
        "chosen": "deskewed",
        "test_acc": 0.55,
        "answer": ANSWER,
    }
    return {**report, **changes}


def test_nearest_mean_report(capsys):
    means, x_val, y_val, euclidean = _report_data()
    report = _hand_in(euclidean)
    assert check_nearest_mean_report(lambda: report, means, x_val, y_val) is report
    out = capsys.readouterr().out
    assert "deskewed" in out and "chosen" in out and "measured once: 55.0%" in out
    assert "\N{CHECK MARK} my_experiment: complete; the argument is graded by hand" in (
        out
    )
    # an accuracy as a one-element tensor is a number too
    tensor_acc = _hand_in(euclidean, test_acc=torch.tensor(0.55))
    check_nearest_mean_report(lambda: tensor_acc, means, x_val, y_val)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"test_acc": None}, r"test_acc is None; expected a number"),
        ({"test_acc": 55.0}, r"test_acc is 55; expected a finite number from 0 to 1"),
        (
            {"val_acc": {"euclidean": 0.3, "cosine": 0.5}},
            r"'val_acc' is 2 rows; expected a dict of at least 3 rows",
        ),
        (
            {"val_acc": {"plain": 0.3, "cosine": 0.5, "deskewed": 0.6}},
            r"has no 'euclidean' row",
        ),
        (
            {"val_acc": {"euclidean": 0.99, "cosine": 0.5, "deskewed": 0.6}},
            r"measure every variant on the validation split",
        ),
        (
            {"val_acc": {"euclidean": 0.3, "cosine": float("nan"), "x": 0.6}},
            r"val_acc\['cosine'\] is nan; expected a finite number from 0 to 1",
        ),
        ({"chosen": "blurred"}, r"'chosen' is 'blurred'; expected the name of one"),
        ({"answer": "deskewing wins"}, r"'answer' has 2 words; expected at least 20"),
        ({"answer": None}, r"'answer' has 0 words"),
    ],
)
def test_nearest_mean_report_incomplete(changes, message):
    means, x_val, y_val, euclidean = _report_data()
    report = _hand_in(euclidean, **changes)
    with pytest.raises(ExerciseError, match=message):
        check_nearest_mean_report(lambda: report, means, x_val, y_val)


def test_nearest_mean_report_needs_a_dict_with_every_key():
    means, x_val, y_val, euclidean = _report_data()
    with pytest.raises(ExerciseError, match="returned NoneType; expected a dict"):
        check_nearest_mean_report(lambda: None, means, x_val, y_val)
    report = _hand_in(euclidean)
    del report["test_acc"]
    with pytest.raises(ExerciseError, match="hand-in has no 'test_acc'"):
        check_nearest_mean_report(lambda: report, means, x_val, y_val)

    def stub():
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="my_experiment is not written yet"):
        check_nearest_mean_report(stub, means, x_val, y_val)
