import nbformat
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from minimodels.exercises import (
    FIT_OPTIONS,
    ExerciseError,
    check_augmentation_worth_report,
    check_balanced_indices,
    check_small_data_fit_prediction,
)
from minimodels.exercises.ch11 import _fit_answer
from minimodels.experiments import size_to_reach
from minimodels.experiments.data_efficiency import SizePoint
from minimodels.stats import Interval

# --- Exercise 11.1 --------------------------------------------------------------


def balanced(labels, n, seed, shift=0):
    classes = int(labels.max()) + 1
    g = torch.Generator().manual_seed(seed + shift)
    order = torch.randperm(len(labels), generator=g)
    per_class = [order[labels[order] == c][: n // classes] for c in range(classes)]
    return torch.stack(per_class, dim=1).reshape(-1)


def test_balanced_indices_right_answers_pass(capsys):
    check_balanced_indices(balanced)
    # the package's own seeding (1234 + seed) is accepted too
    check_balanced_indices(lambda y, n, s: balanced(y, n, s, shift=1234))
    assert capsys.readouterr().out.count("\N{CHECK MARK} balanced_indices") == 2


def _global(labels, n, seed):  # torch's global generator
    classes = int(labels.max()) + 1
    order = torch.randperm(len(labels))
    per_class = [order[labels[order] == c][: n // classes] for c in range(classes)]
    return torch.stack(per_class, dim=1).reshape(-1)


def _ten_classes(labels, n, seed):  # a hard-coded 10
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    per_class = [order[labels[order] == c][: n // 10] for c in range(10)]
    return torch.stack([p for p in per_class if len(p)], dim=1).reshape(-1)


def _per_class(labels, n, seed):  # n read as images per class
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    classes = int(labels.max()) + 1
    return torch.stack(
        [order[labels[order] == c][:n] for c in range(classes)], dim=1
    ).reshape(-1)


def _sorted_within_class(labels, n, seed):
    classes = int(labels.max()) + 1
    by_class = balanced(labels, n, seed).view(-1, classes)
    return by_class.sort(dim=0).values.reshape(-1)


def _per_class_permutations(labels, n, seed):  # balanced, seeded, nested: not ours
    g = torch.Generator().manual_seed(seed)
    classes = int(labels.max()) + 1
    per_class = []
    for c in range(classes):
        idx = torch.nonzero(labels == c).flatten()
        per_class.append(idx[torch.randperm(len(idx), generator=g)][: n // classes])
    return torch.stack(per_class, dim=1).reshape(-1)


@pytest.mark.parametrize(
    "answer, message",
    [
        (
            lambda y, n, s: torch.arange(n),
            r"same 250 images for seed 0 and seed 1.*first n indices \(`\[:n\]`\): "
            "balanced here only because MNIST-5k's split is stored class-interleaved",
        ),
        (
            lambda y, n, s: torch.arange(n) if s == 1 else balanced(y, n, s),
            r"on the same labels sorted by class.*returned the first 500 indices "
            r"\(`\[:n\]`\), whose class counts are \[350, 150, 0",
        ),
        (
            lambda y, n, s: torch.randint(
                0, len(y), (n,), generator=torch.Generator().manual_seed(s)
            ),
            r"repeats \d+ indices: each image may be drawn once. Drawing with "
            r"replacement \(torch.randint",
        ),
        (
            lambda y, n, s: torch.randperm(
                len(y), generator=torch.Generator().manual_seed(s)
            )[:n],
            "has class counts .*; expected 25 of each. A random subset of n images "
            "is balanced only on average",
        ),
        (_global, "draws from torch's global random generator"),
        (_ten_classes, r"There are 2 classes here \(labels.max\(\) \+ 1\), not 10"),
        (_per_class, r"n is the size of the whole subset \(25 per class\)"),
        (
            lambda y, n, s: balanced(y, n, 100 * s + n),
            r"of the 120 images for seed 0 are not among its 250 images. Within a "
            "seed the subsets must be nested",
        ),
        (
            lambda y, n, s: balanced(y, n, s).view(-1, int(y.max()) + 1).T.flatten(),
            r"balanced as a whole but not in order: .* Interleave the classes",
        ),
        (_sorted_within_class, "the right images in another order"),
        (
            _per_class_permutations,
            "draws other images than minimodels.experiments.balanced_subset",
        ),
        (lambda y, n, s: None, r"returned None; expected a \(250,\) tensor"),
        (lambda y, n, s: balanced(y, n, s).tolist(), "returned a list"),
        (lambda y, n, s: y == 0, "returned a boolean mask"),
        (lambda y, n, s: balanced(y, n, s).float(), "expected integer indices"),
        (lambda y, n, s: balanced(y, n, s) + len(y), "out of range for 3500 labels"),
    ],
)
def test_balanced_indices_names_each_mistake(answer, message):
    with pytest.raises(ExerciseError, match=message):
        check_balanced_indices(answer)


def test_balanced_indices_stub_and_global_state():
    def stub(labels, n, seed):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="balanced_indices is not written yet"):
        check_balanced_indices(stub)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_balanced_indices(balanced)
    assert torch.equal(torch.rand(3), expected), "the check moved torch's generator"


# --- Exercise 11.2 --------------------------------------------------------------


def _labelled(model, images, right):
    """Labels that ``model`` gets right on the first ``right`` images only."""
    with torch.no_grad():
        guess = model.eval()(images).argmax(1)
    labels = (guess + 1) % 10
    labels[:right] = guess[:right]
    return labels


def _fit_case(train_right, test_right=10):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    g = torch.Generator().manual_seed(0)
    x_train, x_test = torch.rand(100, 1, 8, 8, generator=g), torch.rand(100, 1, 8, 8)
    train = TensorDataset(x_train, _labelled(model, x_train, train_right))
    test = TensorDataset(x_test, _labelled(model, x_test, test_right))
    return model, train, test


@pytest.mark.parametrize(
    "train_right, answer", [(100, "a"), (95, "a"), (94, "b"), (16, "b"), (15, "c")]
)
def test_small_data_fit_prediction_picks_the_measured_option(
    capsys, train_right, answer
):
    model, train, test = _fit_case(train_right)  # 10% right on the test images
    check_small_data_fit_prediction(lambda: answer, model, model, train, test)
    out = capsys.readouterr().out
    assert out.startswith(f"\N{CHECK MARK} small_data_fit_prediction: ({answer})")
    assert (
        f"the ViT gets {train_right / 100:.1%} of its 100 training images right" in out
    )
    for wrong in set(FIT_OPTIONS) - {answer}:
        with pytest.raises(
            ExerciseError,
            match=rf"You predicted \({wrong}\).*the answer is \({answer}\)",
        ):
            check_small_data_fit_prediction(lambda: wrong, model, model, train, test)


def test_small_data_fit_prediction_reads_the_prediction_first():
    def stub():
        raise NotImplementedError

    def measured(*args):
        raise AssertionError("measured before the prediction was read")

    with pytest.raises(ExerciseError, match="small_data_fit_prediction is not written"):
        check_small_data_fit_prediction(stub, measured, measured, None, None)
    model, train, test = _fit_case(100)
    with pytest.raises(ExerciseError, match=r"returned 'd'; expected one of 'a'"):
        check_small_data_fit_prediction(lambda: "d", model, model, train, test)


def test_fit_answer_thresholds():
    assert _fit_answer(0.95, 0.2) == "a"
    assert _fit_answer(0.949, 0.2) == "b"
    assert _fit_answer(0.70, 0.66) == "c"
    assert _fit_answer(0.70, 0.80) == "c"  # fewer than on the test digits


def test_chapter_lists_the_fit_options(root):
    path = root / "chapters" / "11_data_efficiency.ipynb"
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    for key, option in FIT_OPTIONS.items():
        assert f'- `"{key}"`: {option}' in text, option


# --- Exercise 11.3 --------------------------------------------------------------


def _curve(accuracies):
    def point(acc):
        return SizePoint(Interval(acc, acc, acc, (acc,)), Interval(0, 0, 0, (0,)), 1, 1)

    return {n: point(acc) for n, acc in accuracies.items()}


CURVES = {
    "ViT": _curve({250: 0.64, 500: 0.73, 1000: 0.83, 2000: 0.89, 3500: 0.92}),
    "ViT + shifts": _curve({250: 0.71, 500: 0.81, 1000: 0.91, 2000: 0.95, 3500: 0.96}),
}
ANSWER = "Shifts are worth a factor in images that " + "grows " * 20


def _linear(curve, t):
    pts = sorted((n, p.test_acc.mean) for n, p in curve.items())
    for (n0, a0), (n1, a1) in zip(pts, pts[1:]):
        if a0 < t <= a1:
            return n0 + (t - a0) / (a1 - a0) * (n1 - n0)


def _row(t):
    a, b = (size_to_reach(CURVES[k], t) for k in ("ViT", "ViT + shifts"))
    linear = _linear(CURVES["ViT"], t) / _linear(CURVES["ViT + shifts"], t)
    return [t, a, b, a / b, linear]


def _report(targets=(0.75, 0.8, 0.85, 0.9), **changes):
    return {"rows": [_row(t) for t in targets], "answer": ANSWER, **changes}


def test_augmentation_worth_report_complete(capsys):
    check_augmentation_worth_report(lambda curves: _report(), CURVES)
    out = capsys.readouterr().out
    assert "ratio (log)" in out and "Shifts are worth" in out
    assert (
        "\N{CHECK MARK} augmentation_worth_report: complete (4 targets" in out
        and "graded by hand" in out
    )


def _with_row(i, column, value):
    report = _report()
    report["rows"][i][column] = value
    return report


@pytest.mark.parametrize(
    "report, message",
    [
        ({"rows": []}, r"hand-in has no 'answer': expected the keys"),
        ([1, 2], "returned list; expected a dict"),
        (_report(targets=(0.75, 0.8)), "has 2 rows; expected a list of at least 3"),
        (_report(answer="Shifts help."), "'answer' has 2 words; expected at least 20"),
        (_report(rows=[[t, 1, 1, 1, 1] for t in (75, 80, 85)]), "as fractions"),
        (
            _report(rows=[[t, 1, 1, 1, 1] for t in (0.7, 0.8, 0.9)]),
            r"target 70.0% is outside the range both curves measure \(71.0% to 92.0%\)",
        ),
        (_report(targets=(0.8, 0.8, 0.9)), "repeats a target"),
        (
            _with_row(0, 1, _linear(CURVES["ViT"], 0.75)),
            "log-linear interpolation",
        ),
        (_with_row(2, 3, 2.5), r"ratio \(log\) is 2.5"),
        (_with_row(1, 4, _row(0.8)[3]), r"ratio \(linear\) is 1.74"),
        (_with_row(1, 2, None), r"with shifts is None; expected a number"),
        (_with_row(1, 2, -3), r"expected a positive number"),
        (_report(rows=[[0.8, 1, 2]] * 3), r"expected 5 numbers"),
    ],
)
def test_augmentation_worth_report_names_what_is_missing(report, message):
    with pytest.raises(ExerciseError, match=message):
        check_augmentation_worth_report(lambda curves: report, CURVES)


def test_augmentation_worth_report_stub():
    def stub(curves):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="my_experiment is not written yet"):
        check_augmentation_worth_report(stub, CURVES)
