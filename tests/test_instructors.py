"""The instructor guide (instructors.md) stays in step with the notebooks and the
package.
"""

import re
from pathlib import Path

import pytest
import torch
import torchvision
from torchvision import transforms

import minimodels.data
import minimodels.train
from minimodels.authoring.course import list_exercises

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "instructors.md"


def guide_rows():
    """(chapter, heading, check, minutes) for every exercise row of the guide's
    tables."""
    rows, chapter = [], None
    for line in GUIDE.read_text().splitlines():
        if m := re.match(r"#+\s+\{doc\}`chapters/(\w+)`", line):
            chapter = m.group(1)
        elif line.startswith("|") and re.search(r"\bExercise \d", line):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows.append((chapter, cells[0], cells[1].strip("`"), cells[2]))
    return rows


def test_guide_lists_exactly_the_exercises_and_checks_of_the_notebooks():
    in_notebooks = [
        (ex.chapter, ex.heading, ex.check) for ex in list_exercises(ROOT / "chapters")
    ]
    in_guide = [row[:3] for row in guide_rows()]
    missing = [ex for ex in in_notebooks if ex not in in_guide]
    extra = [row for row in in_guide if row not in in_notebooks]
    assert not missing, (
        "exercises missing from instructors.md "
        f"(add a row under their chapter): {missing}"
    )
    assert not extra, (
        f"rows of instructors.md that match no exercise in the notebooks: {extra}"
    )
    assert in_guide == in_notebooks, (
        "instructors.md lists the exercises in another order than the notebooks"
    )


def test_guide_gives_minutes_for_every_exercise():
    for chapter, heading, _, minutes in guide_rows():
        assert minutes.isdigit() and 0 < int(minutes) <= 120, (
            f"{heading}: minutes {minutes!r}"
        )


def test_guide_checks_exist_and_make_student_exists():
    import minimodels.exercises

    for _, heading, check, _ in guide_rows():
        assert callable(getattr(minimodels.exercises, check, None)), (
            f"{heading}: no {check} in minimodels.exercises"
        )
    assert re.search(r"^student:", (ROOT / "Makefile").read_text(), re.MULTILINE), (
        "the guide documents `make student`"
    )


def full_scale_code() -> str:
    text = GUIDE.read_text().split("## Full scale", 1)[1]
    (code,) = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    return code


@pytest.mark.parametrize(
    "name, image_size, channels",
    [("cifar10", 32, 3), ("mnist", 28, 1), ("fashion_mnist", 28, 1)],
)
def test_full_scale_code_runs_on_fake_data(monkeypatch, name, image_size, channels):
    """The guide's GPU recipe, with random images instead of the download and no
    training."""
    assert name in minimodels.data.TORCHVISION_DATASETS

    def fake_load(dataset_name, *, train=True, **kwargs):
        assert dataset_name in minimodels.data.TORCHVISION_DATASETS, dataset_name
        return torchvision.datasets.FakeData(
            size=12,
            image_size=(channels, image_size, image_size),
            num_classes=10,
            transform=transforms.ToTensor(),
        )

    fitted = []

    def fake_fit(model, train, val=None, config=None, *, augment=None, **kwargs):
        images, labels = train
        assert (
            images.shape == (12, channels, image_size, image_size)
            and labels.dtype == torch.int64
        )
        batch = augment(images[:2]) if augment is not None else images[:2]
        assert model(batch).shape == (2, 10)
        fitted.append(type(model).__name__)
        return minimodels.train.History(val_acc=[0.1])

    monkeypatch.setattr(minimodels.data, "load_torchvision", fake_load)
    monkeypatch.setattr(minimodels.train, "fit", fake_fit)
    code = full_scale_code()
    line = re.compile(r"^name, image_size, channels = .*$", re.MULTILINE)
    assert line.search(code), (
        "the guide's code no longer sets name, image_size, channels in one line"
    )
    exec(
        line.sub(
            f"name, image_size, channels = {name!r}, {image_size}, {channels}", code
        ),
        {},
    )
    assert fitted == ["SmallCNN", "ViT"]
