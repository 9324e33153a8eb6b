import pytest
import torch

from minimodels.cnn import SmallCNN
from minimodels.exercises import (
    TRAIN_MODE_OPTIONS,
    ExerciseError,
    check_cnn_variant_report,
    check_confusion_matrix,
    check_conv_parameters,
    check_train_mode_prediction,
    judge_prediction,
)
from minimodels.recipes import RECIPES
from minimodels.train import count_parameters, seed_everything


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


def test_judge_prediction(capsys):
    options = {"a": "up", "b": "down"}
    judge_prediction("p", lambda: "a", options, "a", "went up", "because")
    assert "\N{CHECK MARK} p: (a), up. Measured: went up. Why: because" in (
        capsys.readouterr().out
    )
    judge_prediction("p", lambda: " (A) ", options, "a", "went up", "because")
    with pytest.raises(
        ExerciseError,
        match=r"You predicted \(b\), down. Measured: went up; so the answer is \(a\)",
    ):
        judge_prediction("p", lambda: "b", options, "a", "went up", "because")
    with pytest.raises(
        ExerciseError, match=r"p returned 'z'; expected one of 'a', 'b'"
    ):
        judge_prediction("p", lambda: "z", options, "a", "went up", "because")

    def stub():
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="p is not written yet"):
        judge_prediction("p", stub, options, "a", "went up", "because")


def test_train_mode_prediction_agrees_with_its_measurement(capsys):
    # Untrained, tiny: whatever the measurement picks, exactly one option passes,
    # and the model given to the check is left as it was.
    seed_everything(0)
    model = SmallCNN(widths=(4, 8), kernels="torch").eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    images = torch.rand(40, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    labels = model(images).argmax(1)  # eval mode is 100% right on these labels
    results = {}
    for option in TRAIN_MODE_OPTIONS:
        try:
            check_train_mode_prediction(lambda o=option: o, model, images, labels)
            results[option] = "passed"
        except ExerciseError as err:
            assert "Measured: 100.0% in evaluation mode" in str(err)
            results[option] = "failed"
    assert sorted(results.values()) == ["failed", "failed", "passed"], results
    assert not model.training
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


# --- Exercise 4.4: open-ended, one change to SmallCNN ----------------------------


def _variant_hand_in(**changes):
    recipe_params = count_parameters(SmallCNN(**RECIPES["cnn"].model))
    report = {
        "results": {
            "SmallCNN": {"params": recipe_params, "val_acc": 0.94, "seconds": 3.1},
            "no batch norm": {"params": 72442, "val_acc": 0.09, "seconds": 2.5},
        },
        "train_images": 2000,
        "epochs": 2,
        "answer": " ".join(["word"] * 25),
    }
    return {**report, **changes}


def _rows(**smallcnn):
    rows = _variant_hand_in()["results"]
    return {**rows, "SmallCNN": {**rows["SmallCNN"], **smallcnn}}


def test_cnn_variant_report(capsys):
    report = _variant_hand_in()
    assert check_cnn_variant_report(lambda: report) is report
    out = capsys.readouterr().out
    assert "no batch norm" in out and "72,442" in out and "94.0%" in out
    assert "budget: 2 epoch(s) on 2,000 training images" in out
    assert "\N{CHECK MARK} my_experiment: complete; the argument is graded by hand" in (
        out
    )


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            {"results": {"SmallCNN": _rows()["SmallCNN"]}},
            r"'results' is 1 rows; expected a dict of at least 2 rows",
        ),
        (
            {"results": {"a": _rows()["SmallCNN"], "b": _rows()["no batch norm"]}},
            r"has no 'SmallCNN' row",
        ),
        (
            {"results": _rows(params=16794)},
            r"\['params'\] is 16,794; the recipe's SmallCNN \(build\('cnn'\)\) has",
        ),
        (
            {"results": _rows(params=72666.0)},
            r"\['params'\] is 72666.0; expected a whole number",
        ),
        (
            {"results": _rows(val_acc=94.0)},
            r"is 94; expected a finite number from 0 to 1",
        ),
        (
            {"results": {**_rows(), "x": {"params": 5, "val_acc": 0.5}}},
            r"results\['x'\] is .*; expected a dict with the keys 'params', 'val_acc'",
        ),
        ({"train_images": 4000}, r"the training split has 3,500"),
        ({"epochs": 0}, r"epochs is 0; expected a whole number from 1 to 1000"),
        ({"epochs": "two"}, r"epochs is 'two'; expected a whole number"),
        ({"answer": "batch norm matters"}, r"'answer' has 3 words"),
    ],
)
def test_cnn_variant_report_incomplete(changes, message):
    report = _variant_hand_in(**changes)
    with pytest.raises(ExerciseError, match=message):
        check_cnn_variant_report(lambda: report)


def test_cnn_variant_report_stub():
    def stub():
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="my_experiment is not written yet"):
        check_cnn_variant_report(stub)
