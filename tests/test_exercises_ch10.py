import functools

import nbformat
import pytest
import torch
import torch.nn.functional as F

from minimodels.cnn import SmallCNN
from minimodels.exercises import (
    WHOLE_PATCH_OPTIONS,
    ExerciseError,
    ch10,
    check_shift_experiment_report,
    check_shift_scores,
    check_whole_patch_prediction,
)
from minimodels.shifts import shift
from minimodels.train import predict, seed_everything
from minimodels.vit import ViT

# --- Exercise 10.1 ------------------------------------------------------------------


def _vit(pos_embedding):
    seed_everything(0)
    net = ViT(
        patch_size=7,
        dim=8,
        depth=1,
        heads=1,
        mlp_dim=8,
        readout="mean",
        pos_embedding=pos_embedding,
    ).eval()
    if pos_embedding == "learned":
        with torch.no_grad():
            torch.nn.init.normal_(net.pos_embedding, std=0.5)  # as after training
    return net


@functools.lru_cache(maxsize=1)
def _digits():
    return torch.rand(20, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def test_whole_patch_prediction_without_positions_is_a(capsys):
    # No position embedding: a circular whole-patch shift only reorders the tokens,
    # which mean pooling ignores, so every prediction is kept: option "a".
    model, images = _vit("none"), _digits()
    check_whole_patch_prediction(lambda: "a", model, images)
    out = capsys.readouterr().out
    assert "\N{CHECK MARK} whole_patch_prediction: (a)" in out
    assert "Measured: on 20 test digits" in out
    assert "by 7 pixels (one patch) 100.0%" in out


def test_whole_patch_prediction_exactly_one_option_passes(monkeypatch):
    # Learned positions: whatever the measurement picks, exactly one option passes
    # (measured once; the three judgements reuse it).
    model, images = _vit("learned"), _digits()
    measured = ch10.whole_patch_answer(model, images)
    assert measured[0] in WHOLE_PATCH_OPTIONS and 0 <= min(measured[1:]) <= 1
    monkeypatch.setattr(ch10, "whole_patch_answer", lambda m, x: measured)
    results = {}
    for option in WHOLE_PATCH_OPTIONS:
        try:
            check_whole_patch_prediction(lambda o=option: o, model, images)
            results[option] = "passed"
        except ExerciseError as err:
            assert f"You predicted ({option})" in str(err)
            assert f"so the answer is ({measured[0]})" in str(err)
            assert "Measured: on 20 test digits" in str(err)
            results[option] = "failed"
    assert [k for k, v in results.items() if v == "passed"] == [measured[0]]

    def stub():
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="whole_patch_prediction is not written"):
        check_whole_patch_prediction(stub, model, images)
    with pytest.raises(ExerciseError, match="returned 'd'; expected one of"):
        check_whole_patch_prediction(lambda: "d", model, images)


def test_chapter_lists_the_options_its_check_uses(root):
    path = root / "chapters" / "10_translation.ipynb"
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    for key, option in WHOLE_PATCH_OPTIONS.items():
        assert f'- `"{key}"`: {option}' in text, option


# --- Exercise 10.2 ------------------------------------------------------------------


def _scores(
    moves_of=lambda d: [(d, 0), (-d, 0), (0, d), (0, -d)],
    mode="zeros",
    order=(0, 1),
    scale=1.0,
):
    """A shift_scores built from the package's shift, with one thing changed."""

    def shift_scores(model, images, labels, d):
        moves = moves_of(d)
        before = predict(model, images).argmax(1)
        acc = cons = 0.0
        for dy, dx in moves:
            after = predict(model, shift(images, dy, dx, mode)).argmax(1)
            acc += (after == labels).float().mean().item() / len(moves)
            cons += (after == before).float().mean().item() / len(moves)
        pair = (acc, cons)
        return scale * pair[order[0]], scale * pair[order[1]]

    return shift_scores


def _padded_slices(model, images, labels, d):  # the notebook's solution
    H, W = images.shape[-2:]
    padded = F.pad(images, (d, d, d, d))
    before = predict(model, images).argmax(1)
    acc = cons = 0.0
    for dy, dx in [(d, 0), (-d, 0), (0, d), (0, -d)]:
        after = predict(model, padded[..., d - dy : d - dy + H, d - dx : d - dx + W])
        acc += (after.argmax(1) == labels).float().mean().item() / 4
        cons += (after.argmax(1) == before).float().mean().item() / 4
    return torch.tensor(acc), cons  # a 0-d tensor is fine too


def _digit_case():
    images = _digits()
    return _vit("learned"), images, torch.arange(len(images)) % 10


def test_shift_scores_passes_the_solution(capsys):
    got = check_shift_scores(_padded_slices, *_digit_case())
    assert all(0 <= v <= 1 for v in got)
    out = capsys.readouterr().out
    assert "\N{CHECK MARK} shift_scores: agrees with minimodels.shifts" in out
    assert "on the 20 test digits: shifted by 2 pixels, accuracy" in out


@pytest.mark.parametrize(
    "answer, message",
    [
        (_scores(mode="circular"), r"wrap around \(torch.roll\)"),
        (
            _scores(moves_of=lambda d: [(0, d)]),
            r"one direction only, \(dy, dx\) = "
            r"\(0, 1\)",
        ),
        (
            _scores(moves_of=lambda d: [(d, d), (-d, -d), (d, -d), (-d, d)]),
            "come from diagonal shifts",
        ),
        (_scores(order=(1, 0)), "are in the wrong order"),
        (_scores(order=(0, 0)), "are both the accuracy"),
        (_scores(order=(1, 1)), "are both the consistency"),
        (_scores(scale=100.0), "are percentages"),
        (
            # right when something moves; at d = 0, x[..., :-d] would be empty
            lambda m, x, y, d: _scores()(m, x, y, d) if d else (0.0, 0.0),
            r"shift_scores\(d=0\) on a linear classifier .* should be the clean "
            r"accuracy and 1",
        ),
        (
            lambda m, x, y, d: (0.5, 0.5),
            r"returned \(accuracy, consistency\) = "
            r"\(0.5000, 0.5000\); expected",
        ),
        (lambda m, x, y, d: 0.5, "returned 0.5; expected a pair of floats"),
    ],
)
def test_shift_scores_names_each_classic_mistake(answer, message):
    with pytest.raises(ExerciseError, match=message):
        check_shift_scores(answer, *_digit_case())


def test_shift_scores_catches_a_mistake_only_the_digits_show():
    # Right on the check's own classifier, wrong on the given model: the message
    # names the digits.
    toy_ok = _scores()

    def only_small(model, images, labels, d):
        return toy_ok(model, images, labels, d) if images.shape[-1] == 12 else (0, 0)

    with pytest.raises(ExerciseError, match=r"shift_scores\(d=2\) on the 20 test"):
        check_shift_scores(only_small, *_digit_case())


def test_shift_scores_stub():
    def stub(model, images, labels, d):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="shift_scores is not written yet"):
        check_shift_scores(stub, *_digit_case())


# --- Exercise 10.3 ------------------------------------------------------------------

ANSWER = " ".join(["the circular shift by four pixels is exact for this model"] * 3)


@functools.lru_cache(maxsize=1)
def _models():
    seed_everything(0)
    return {
        "CNN": SmallCNN(widths=(2, 4), kernels="torch").eval(),
        "ViT": _vit("none"),
    }


@functools.lru_cache(maxsize=1)
def _table():
    """(model, dy, dx, mode) -> consistency on _digits(), measured once."""
    images, table = _digits(), {}
    for name, model in _models().items():
        before = predict(model, images).argmax(1)
        for mode in ("zeros", "circular"):
            for dy, dx in ((0, 0), (0, 4), (0, 7), (7, 7)):
                after = predict(model, shift(images, dy, dx, mode)).argmax(1)
                table[name, dy, dx, mode] = (after == before).float().mean().item()
    return table


def _experiment(
    moves=((0, 4), (0, 7), (7, 7)),
    modes=("zeros", "circular"),
    answer=ANSWER,
    names=("CNN", "ViT"),
    fudge=0.0,
):
    def my_experiment(models, images):
        rows = [
            (name, dy, dx, mode, max(0.0, _table()[name, dy, dx, mode] - fudge))
            for name in names
            for mode in modes
            for dy, dx in moves
        ]
        return {"rows": rows, "answer": answer}

    return my_experiment


def test_shift_experiment_report_complete(capsys):
    models, images = _models(), _digits()
    out = check_shift_experiment_report(_experiment(), models, images)
    assert len(out["rows"]) == 12
    printed = capsys.readouterr().out
    assert "ViT, circular  (0,4)" in printed and "(7,7) 100.0%" in printed
    assert "answer: the circular shift" in printed
    assert (
        "\N{CHECK MARK} shift_experiment_report: complete (12 rows; row ('CNN', 0, 4, "
        "'zeros') recomputed" in printed
    )
    assert "graded by hand" in printed


@pytest.mark.parametrize(
    "experiment, message",
    [
        (lambda m, x: [1, 2], "returned list; expected a dict"),
        (lambda m, x: {"rows": []}, r"hand-in has no 'answer': expected the keys"),
        (_experiment(moves=((0, 4),)), '"rows" needs at least 6 rows, got 4'),
        (_experiment(modes=("zeros",)), "the rows must cover both modes"),
        (_experiment(names=["CNN"]), "the rows cover one model"),
        (_experiment(moves=((0, 0), (0, 0), (0, 0))), "every row is the unshifted"),
        (
            _experiment(answer="shifts matter"),
            "'answer' has 2 words; expected at least 20",
        ),
        (
            _experiment(fudge=0.2),
            r"the row \('CNN', 0, 4, 'zeros'\) says .* but the "
            r"share of the 20 images",
        ),
        (
            lambda m, x: {"rows": [("MLP", 0, 1, "zeros", 0.5)] * 6, "answer": ANSWER},
            "row 0 names the model 'MLP'",
        ),
        (
            lambda m, x: {
                "rows": [("CNN", 0, 1.5, "zeros", 0.5)] * 6,
                "answer": ANSWER,
            },
            "row 0: dy and dx must be whole pixels",
        ),
        (
            lambda m, x: {
                "rows": [("CNN", 0, 1, "reflect", 0.5)] * 6,
                "answer": ANSWER,
            },
            "row 0: mode 'reflect' is not one of",
        ),
        (
            lambda m, x: {"rows": [("CNN", 0, 1, "zeros", 97)] * 6, "answer": ANSWER},
            "row 0: the consistency 97 is not a share",
        ),
        (
            lambda m, x: {"rows": [("CNN", 0, 1)] * 6, "answer": ANSWER},
            r"row 0 is \('CNN', 0, 1\); expected \(model, dy, dx, mode, consistency\)",
        ),
    ],
)
def test_shift_experiment_report_names_what_is_missing(experiment, message):
    with pytest.raises(ExerciseError, match=message):
        check_shift_experiment_report(experiment, _models(), _digits())


def test_shift_experiment_report_stub():
    def stub(models, images):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="my_experiment is not written yet"):
        check_shift_experiment_report(stub, _models(), _digits())
