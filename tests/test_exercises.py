import nbformat
import pytest
import torch

from minimodels.exercises import (
    SHUFFLE_OPTIONS,
    TRAIN_MODE_OPTIONS,
    TRUNK_SHIFT_OPTIONS,
    ExerciseError,
    check_mean_images,
    compare,
)


def _images():
    g = torch.Generator().manual_seed(0)
    return torch.rand(50, 1, 28, 28, generator=g), torch.arange(50) % 10


def good(images, labels):
    return torch.stack([images[labels == k, 0].mean(0) for k in range(10)])


def test_correct_answer_passes(capsys):
    out = check_mean_images(good, *_images())
    assert out.shape == (10, 28, 28)
    assert capsys.readouterr().out.startswith("\N{CHECK MARK} mean_images")


@pytest.mark.parametrize(
    "answer, message",
    [
        (
            lambda x, y: None,
            "returned None; expected a tensor. Did you forget `return`?",
        ),
        (lambda x, y: [1, 2], "returned a list; expected a torch.Tensor"),
        (
            lambda x, y: good(x, y).flatten(1),
            r"returned shape \(10, 35\); expected \(10, 5, 7\)",
        ),
        (
            lambda x, y: good(x, y) + (torch.arange(10) == 3).view(10, 1, 1) * 0.5,
            r"wrong values: at index \(3, \d, \d\) expected",
        ),
        (lambda x, y: x[:10, 0] * 0 + x.mean(), "wrong values"),
        (
            lambda x, y: torch.zeros(10, 28, 28),
            r"returned shape \(10, 28, 28\); expected \(10, 5, 7\)",
        ),  # hard-coded size
    ],
)
def test_wrong_answers_say_what_was_expected_and_got(answer, message):
    with pytest.raises(ExerciseError, match=message):
        check_mean_images(answer, *_images())


def test_stub_and_crash_are_explained():
    def stub(images, labels):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="mean_images is not written yet"):
        check_mean_images(stub, *_images())
    with pytest.raises(
        ExerciseError, match="mean_images raised ZeroDivisionError: division by zero"
    ):
        check_mean_images(lambda x, y: 1 / 0, *_images())


def test_compare_reports_largest_error_location():
    expected = torch.zeros(2, 3)
    got = expected.clone()
    got[1, 2] = 0.25
    with pytest.raises(
        ExerciseError,
        match=r"at index \(1, 2\) expected 0, got 0.25 \(largest error 0.25",
    ):
        compare(got, expected, name="f")
    compare(expected + 1e-7, expected, name="f")  # within tolerance: no error


@pytest.mark.parametrize(
    "chapter, options",
    [
        ("01_images_as_tensors", SHUFFLE_OPTIONS),
        ("03_pooling_and_receptive_fields", TRUNK_SHIFT_OPTIONS),
        ("04_a_cnn_from_scratch", TRAIN_MODE_OPTIONS),
    ],
)
def test_predict_then_run_chapter_lists_the_options_its_check_uses(
    root, chapter, options
):
    path = root / "chapters" / f"{chapter}.ipynb"
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    for key, option in options.items():
        assert f'- `"{key}"`: {option}' in text, option
