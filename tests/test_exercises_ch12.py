import math

import nbformat
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from minimodels.cnn import SmallCNN
from minimodels.exercises import (
    INVERSION_OPTIONS,
    ExerciseError,
    check_corruption_report,
    check_inversion_prediction,
    check_occlusion,
)
from minimodels.train import seed_everything

# --- Exercise 12.1 ----------------------------------------------------------------


def make_occlude(
    rounding=lambda v: math.floor(v + 0.5),
    numbering="rows",
    channels=slice(None),
    fill=0.0,
    draw="generator",
    same_for_all=False,
    seed_used=None,
    occlude_kept=False,
    in_place=False,
):
    """A student's occlusion, written with loops, with one mistake switched on."""
    shared = torch.Generator().manual_seed(0)  # for draw="shared": never reseeded

    def occlude(images, fraction, patch_size, seed):
        B, C, H, W = images.shape
        P, gh, gw = patch_size, images.shape[2] // patch_size, W // patch_size
        N = gh * gw
        s = seed if seed_used is None else seed_used
        if draw == "generator":
            noise = torch.rand(B, N, generator=torch.Generator().manual_seed(s))
        elif draw == "global":
            torch.manual_seed(s)
            noise = torch.rand(B, N)
        else:
            noise = torch.rand(B, N, generator=shared)
        if same_for_all:
            noise = noise[:1].expand(B, N)
        order = noise.argsort(dim=1)
        k = rounding(fraction * N)
        out = images if in_place else images.clone()
        for b in range(B):
            chosen = order[b, k:] if occlude_kept else order[b, :k]
            for i in chosen.tolist():
                r, c = divmod(i, gw) if numbering == "rows" else reversed(divmod(i, gh))
                out[b, channels, r * P : (r + 1) * P, c * P : (c + 1) * P] = fill
        return out

    return occlude


def test_occlusion_right(capsys):
    check_occlusion(make_occlude())
    assert "\N{CHECK MARK} occlude: equal to minimodels.corruptions" in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize(
    "mistake, message",
    [
        (dict(rounding=round), r"Python's round\(24.5\) gives 24: it rounds halves"),
        (dict(numbering="columns"), "numbers the patches column by column"),
        (dict(channels=0), "occluded a patch in some channels and not in others"),
        (dict(fill=1.0), "an occluded pixel must become 0"),
        (dict(draw="global"), "changed torch's global random state"),
        (dict(draw="shared"), "is not reproducible: two calls with the same seed"),
        (dict(same_for_all=True), "occluded the same patches in every image"),
        (dict(seed_used=0), "ignores its seed"),
        (dict(occlude_kept=True), "fraction is the share occluded"),
        (dict(rounding=math.floor), "Round to the nearest number, halves up"),
        (dict(in_place=True), "changed the images it was given"),
    ],
)
def test_occlusion_names_each_classic_mistake(mistake, message):
    with pytest.raises(ExerciseError, match=message):
        check_occlusion(make_occlude(**mistake))


def test_occlusion_wrong_shape_partial_patches_other_draw_and_stub():
    with pytest.raises(ExerciseError, match=r"returned shape \(2, 28, 28\)"):
        check_occlusion(lambda x, f, p, s: x[:, 0].clone())

    def stripes(x, f, p, s):  # rows of pixels, not squares
        out = x.clone()
        out[:, :, ::2] = 0
        return out

    with pytest.raises(ExerciseError, match="do not make whole 7x7 patches"):
        check_occlusion(stripes)

    def other_draw(x, f, p, s):  # the right count of whole patches, other ones
        flipped = make_occlude()(x.flip(-1, -2), f, p, s + 1)
        return flipped.flip(-1, -2)

    with pytest.raises(ExerciseError, match="not those the package's draw picks"):
        check_occlusion(other_draw)

    def stub(x, f, p, s):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="occlude is not written yet"):
        check_occlusion(stub)


# --- Exercise 12.2 ----------------------------------------------------------------


def _tiny_cnn(seed=0):
    seed_everything(seed)
    return SmallCNN(widths=(4, 8), kernels="torch").eval()


def _linear(seed=0):
    seed_everything(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10)).eval()


class Symmetric(nn.Module):
    """A classifier that sees only |x - 0.5|: inverting the image changes nothing."""

    def __init__(self):
        super().__init__()
        self.net = _linear(1)

    def forward(self, x):
        return self.net((x - 0.5).abs())


def _digits(n=60):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def test_inversion_prediction_agrees_with_its_measurement():
    # Untrained and tiny, both "families" one model, scored on its own clean
    # predictions: whatever the measurement picks, exactly one option passes.
    model, images = _tiny_cnn(), _digits()
    with torch.no_grad():
        labels = model(images).argmax(1)
    results = {}
    for option in INVERSION_OPTIONS:
        try:
            check_inversion_prediction(
                lambda o=option: o, {"CNN": [model], "ViT": model}, images, labels
            )
            results[option] = "passed"
        except ExerciseError as err:
            assert "the CNN from 100.0% to" in str(err)
            results[option] = "failed"
    assert sorted(results.values()) == ["failed", "failed", "passed"], results


def test_inversion_prediction_on_a_model_blind_to_inversion(capsys):
    model, images = Symmetric(), _digits()
    with torch.no_grad():
        labels = model(images).argmax(1)
    models = {"CNN": [model, model], "ViT": [model]}
    check_inversion_prediction(lambda: "a", models, images, labels)
    out = capsys.readouterr().out
    assert "\N{CHECK MARK} inversion_prediction: (a)" in out
    assert "it keeps 100% of its accuracy above chance" in out
    with pytest.raises(ExerciseError, match=r"You predicted \(c\).*answer is \(a\)"):
        check_inversion_prediction(lambda: "c", models, images, labels)

    def stub():
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="inversion_prediction is not written"):
        check_inversion_prediction(stub, models, images, labels)


def test_chapter_lists_the_inversion_options(root):
    path = root / "chapters" / "12_robustness_and_performance.ipynb"
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    for key, option in INVERSION_OPTIONS.items():
        assert f'- `"{key}"`: {option}' in text, option


# --- Exercise 12.3 ----------------------------------------------------------------


def thicker(images, strength):
    for _ in range(int(strength)):
        images = F.max_pool2d(images, 3, stride=1, padding=1)
    return images


def _accuracy(models, images, labels):
    with torch.no_grad():
        return sum(
            (m(images).argmax(1) == labels).float().mean().item() for m in models
        ) / len(models)


def make_experiment(corrupt=thicker, strengths=(0, 1, 2), change=None):
    def my_experiment(models, images, labels):
        report = {
            "corruption": "thicker strokes, as with a wider pen",
            "corrupt": corrupt,
            "strengths": list(strengths),
            "answer": " ".join(["word"] * 25),
        }
        for name in ("CNN", "ViT"):
            report[name] = [
                _accuracy(models[name], corrupt(images, s), labels) for s in strengths
            ]
        if change:
            change(report)
        return report

    return my_experiment


@pytest.fixture(scope="module")
def setting():
    cnn, vit = _linear(0), _linear(1)
    images = _digits(40)
    with torch.no_grad():
        labels = cnn(images).argmax(1)
    return {"CNN": [cnn], "ViT": [vit, vit]}, images, labels


def test_corruption_report_complete(setting, capsys):
    models, images, labels = setting
    report = check_corruption_report(make_experiment(), models, images, labels)
    out = capsys.readouterr().out
    assert report["strengths"] == [0, 1, 2]
    assert "corruption: thicker strokes" in out
    assert "strength    CNN    ViT CNN kept ViT kept" in out
    assert "\N{CHECK MARK} corruption_report: complete; the argument is graded" in out


def _noisy_unseeded(images, strength):
    return (images + strength * torch.randn(images.shape)).clamp(0, 1)


@pytest.mark.parametrize(
    "experiment, message",
    [
        (
            make_experiment(change=lambda r: r.pop("answer")),
            r"my_experiment's hand-in has no 'answer': expected the keys",
        ),
        (
            make_experiment(change=lambda r: r.update(answer="too short")),
            "'answer' has 2 words; expected at least 20",
        ),
        (
            make_experiment(change=lambda r: r.update(corruption=3)),
            '"corruption" must say in words',
        ),
        (
            make_experiment(change=lambda r: r.update(corrupt="max filter")),
            '"corrupt" is a str; expected your function',
        ),
        (make_experiment(strengths=(1, 2, 3)), "expected at least three, the first 0"),
        (make_experiment(strengths=(0, 2)), "expected at least three, the first 0"),
        (make_experiment(strengths=(0, 2, 1)), "expected them increasing"),
        (
            make_experiment(change=lambda r: r.update(ViT=r["ViT"][:2])),
            '"ViT" has 2 accuracies; expected one per strength, 3',
        ),
        (
            make_experiment(change=lambda r: r.update(CNN=[98, 90, 80])),
            r'"CNN"\[0\] is 98; expected a finite number from 0 to 1',
        ),
        (
            make_experiment(change=lambda r: r.update(CNN=[1.0, 0.9, 0.05])),
            r'"CNN" gives 5.0% at strength 2, but the CNN models given classify',
        ),
        (
            make_experiment(corrupt=lambda x, s: x + 0.5 * s),
            r"images must stay in \[0, 1\] \(clip them\)",
        ),
        (
            make_experiment(corrupt=lambda x, s: 1 - x if s == 0 else x),
            r"corrupt\(images, 0\) must return the clean images",
        ),
        (
            make_experiment(corrupt=lambda x, s: x),
            "returns the images unchanged",
        ),
        (
            make_experiment(corrupt=_noisy_unseeded, strengths=(0, 0.2, 0.4)),
            "corrupt gave different images in two calls",
        ),
    ],
)
def test_corruption_report_incomplete(setting, experiment, message):
    with pytest.raises(ExerciseError, match=message):
        check_corruption_report(experiment, *setting)


def test_corruption_report_not_a_dict_and_stub(setting):
    with pytest.raises(ExerciseError, match="returned list; expected a dict"):
        check_corruption_report(lambda m, x, y: [], *setting)

    def stub(models, images, labels):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="my_experiment is not written yet"):
        check_corruption_report(stub, *setting)
