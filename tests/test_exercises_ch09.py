import copy

import nbformat
import pytest
import torch
import torch.nn.functional as F
from einops import rearrange

from minimodels.cnn import SmallCNN
from minimodels.exercises import (
    PATCH_SHUFFLE_OPTIONS,
    ExerciseError,
    check_locally_connected,
    check_patch_shuffle_prediction,
    check_unshared_filters_report,
)
from minimodels.exercises.ch09 import _patch_shuffle_answer
from minimodels.locally_connected import LocallyConnected2d
from minimodels.train import seed_everything
from minimodels.vit import ViT


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: a second thread only adds synchronisation, which on a busy
    2-core machine costs seconds per test."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- Exercise 9.1 ---------------------------------------------------------------


def _size(images, K, S, P):
    return (images.shape[-1] + 2 * P - K) // S + 1


def right(images, weight, bias, K, S, P, *, order="rows", flatten="cuv"):
    """The forward pass; ``order`` and ``flatten`` make two of the classic mistakes."""
    n = _size(images, K, S, P)
    windows = F.unfold(images, K, padding=P, stride=S)  # (B, C*K*K, L)
    if flatten == "uvc":  # the window flattened with the channel last
        windows = rearrange(
            windows, "b (c u v) l -> b (u v c) l", u=K, v=K, c=images.shape[1]
        )
    out = torch.einsum("lok,bkl->bol", weight, windows)
    layout = "b o (h w) -> b o h w" if order == "rows" else "b o (w h) -> b o h w"
    out = rearrange(out, layout, h=n)
    return out if bias is None else out + bias


def shared(images, weight, bias, K, S, P):
    return right(images, weight[:1].expand_as(weight), bias, K, S, P)


def columns(images, weight, bias, K, S, P):
    n = _size(images, K, S, P)
    weight = rearrange(weight, "(j i) o k -> (i j) o k", i=n)
    return right(images, weight, bias, K, S, P)


def test_locally_connected_right_answer_passes(capsys):
    check_locally_connected(right)
    assert capsys.readouterr().out.startswith("\N{CHECK MARK} locally_connected")


@pytest.mark.parametrize(
    "answer, message",
    [
        (shared, "one filter bank for every position"),
        (
            lambda x, w, b, K, S, P: right(x, w, b, K, S, P, order="columns"),
            "your output is transposed",
        ),
        (columns, "windows paired with the wrong positions' filters"),
        (
            lambda x, w, b, K, S, P: right(x, w, b, K, S, P, flatten="uvc"),
            r"same filters.*flattened in another order",
        ),
        (lambda x, w, b, K, S, P: right(x, w, None, K, S, P), "the bias is missing"),
        (
            lambda x, w, b, K, S, P: right(
                x, w, None if b is None else b.transpose(-1, -2), K, S, P
            ),
            "the bias is added at the wrong positions",
        ),
        (
            lambda x, w, b, K, S, P: right(
                x, w, None if b is None else b[:, :1, :1], K, S, P
            ),
            "one bias per output channel is not enough",
        ),
        (
            lambda x, w, b, K, S, P: right(x, w, b, K, S, P)[..., 1:],
            r"returned shape \(2, 3, 6, 5\); expected \(2, 3, 6, 6\).*Hint: the output",
        ),
        (
            lambda x, w, b, K, S, P: right(x, w, b, K, 1, P),
            r"stride=2.*raised RuntimeError: einsum",
        ),
        (lambda x, w, b, K, S, P: None, "returned None"),
    ],
)
def test_locally_connected_names_each_classic_mistake(answer, message):
    with pytest.raises(ExerciseError, match=message):
        check_locally_connected(answer)


def test_locally_connected_first_case_is_a_convolution_and_state_is_kept():
    before = torch.random.get_rng_state()
    with pytest.raises(ExerciseError, match=r"same filters \(a convolution"):
        check_locally_connected(lambda x, w, b, K, S, P: right(x, w, b, K, S, P) + 1)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_locally_connected_stub_is_explained():
    def stub(images, weight, bias, kernel_size, stride, padding):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="locally_connected is not written yet"):
        check_locally_connected(stub)


# --- Exercise 9.2 ---------------------------------------------------------------


def _unshared():
    seed_everything(0)
    model = SmallCNN(
        widths=(2, 4), convs_per_stage=2, weight_sharing=False, image_size=8
    ).eval()
    seed_everything(1)
    init = SmallCNN(
        widths=(2, 4), convs_per_stage=2, weight_sharing=False, image_size=8
    ).eval()
    images = torch.rand(20, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        labels = model(images).argmax(1)  # 100% right on these labels
    return model, init, images, labels


def experiment(model, init, images, labels):
    rows = []
    for layer, layer0 in zip(
        (m for m in model.modules() if isinstance(m, LocallyConnected2d)),
        (m for m in init.modules() if isinstance(m, LocallyConnected2d)),
    ):
        rows.append(
            {
                "positions": layer.output_size**2,
                "parameters": layer.weight.numel(),
                "shared_parameters": layer.weight[0].numel(),
                "similarity": 0.1,
                "similarity_at_init": 0.05,
                "accuracy_shared": 0.2,
            }
        )
    with torch.no_grad():
        accuracy = (model(images).argmax(1) == labels).float().mean().item()
    model.head.weight.data.zero_()  # the check hands out copies: harmless
    return {
        "measure": "cosine similarity of each position's filters to their mean",
        "layers": rows,
        "accuracy": accuracy,
        "answer": " ".join(["word"] * 25),
    }


def test_unshared_filters_report_complete_passes(capsys):
    model, init, images, labels = _unshared()
    before = copy.deepcopy(model.state_dict())
    report = check_unshared_filters_report(experiment, model, init, images, labels)
    out = capsys.readouterr().out
    assert (
        "\N{CHECK MARK} unshared_filters_report: complete; the argument is graded"
        in (out)
    )
    assert "accuracy shared" in out and len(report["layers"]) == 4
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def _broken(change):
    def run(model, init, images, labels):
        report = experiment(model, init, images, labels)
        change(report)
        return report

    return run


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda r: r.pop("answer"),
            "my_experiment's hand-in has no 'answer': expected the keys",
        ),
        (
            lambda r: r.update(answer="too short"),
            "'answer' has 2 words; expected at least 20",
        ),
        (lambda r: r.update(measure=""), '"measure" must say'),
        (lambda r: r["layers"].pop(), '"layers" must be a list of 4 rows'),
        (
            lambda r: r["layers"][1].pop("similarity"),
            "layer 2's row has no 'similarity'",
        ),
        (
            lambda r: r["layers"][0].update(parameters=18),
            r'layer 1: "parameters" is 18; the layer has 1,152',
        ),
        (
            lambda r: r["layers"][2].update(shared_parameters=36),
            r'layer 3: "shared_parameters" is 36; the layer has 72 ',
        ),
        (
            lambda r: r["layers"][0].update(positions=8),
            r'layer 1: "positions" is 8; the layer has 64',
        ),
        (
            lambda r: r["layers"][3].update(similarity=3.0),
            r'layer 4: "similarity" is 3; expected a finite number from -1 to 1',
        ),
        (
            lambda r: r["layers"][0].update(accuracy_shared=96.0),
            r'"accuracy_shared" is 96; expected a finite number from 0 to 1',
        ),
        (lambda r: r.update(accuracy=0.5), r'"accuracy" is 50.0%, but the model'),
        (
            lambda r: r.update(accuracy="high"),
            "\"accuracy\" is 'high'; expected a number",
        ),
    ],
)
def test_unshared_filters_report_names_what_is_missing(change, message):
    with pytest.raises(ExerciseError, match=message):
        check_unshared_filters_report(_broken(change), *_unshared())


def test_unshared_filters_report_stub_and_wrong_type():
    def stub(model, init, images, labels):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="my_experiment is not written yet"):
        check_unshared_filters_report(stub, *_unshared())
    with pytest.raises(ExerciseError, match="returned list; expected a dict"):
        check_unshared_filters_report(lambda *a: [], *_unshared())


# --- Exercise 9.3 ---------------------------------------------------------------


def test_patch_shuffle_prediction_measures_and_leaves_the_model(capsys):
    seed_everything(0)
    model = ViT(patch_size=7, dim=16, depth=1, heads=2, mlp_dim=32, readout="mean")
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    images = torch.rand(30, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        labels = model(images).argmax(1)
    check_patch_shuffle_prediction(lambda: "a", model, images, labels)
    out = capsys.readouterr().out
    assert "\N{CHECK MARK} patch_shuffle_prediction: (a)" in out
    assert "the same prediction for 30 of 30 digits" in out
    for wrong in ("b", "c"):
        with pytest.raises(ExerciseError, match=rf"You predicted \({wrong}\).*\(a\)"):
            check_patch_shuffle_prediction(lambda w=wrong: w, model, images, labels)
    with pytest.raises(ExerciseError, match="patch_shuffle_prediction is not written"):
        check_patch_shuffle_prediction(
            lambda: (_ for _ in ()).throw(NotImplementedError), model, images, labels
        )
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_patch_shuffle_prediction_works_with_three_channels(capsys):
    # the columns of the embedding are (pixel row, pixel column, channel): the
    # channels of a pixel move together
    seed_everything(0)
    model = ViT(patch_size=4, in_channels=3, image_size=16, dim=16, depth=1, heads=2)
    images = torch.rand(10, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        labels = model.eval()(images).argmax(1)
    check_patch_shuffle_prediction(lambda: "a", model, images, labels)
    assert "for 10 of 10 digits" in capsys.readouterr().out


@pytest.mark.parametrize(
    "same, before, after, answer",
    [
        (1.0, 0.97, 0.97, "a"),
        (0.99, 0.97, 0.95, "a"),
        (0.90, 0.97, 0.93, "b"),
        (0.50, 0.97, 0.98, "b"),
        (0.20, 0.97, 0.16, "c"),
    ],
)
def test_patch_shuffle_answer_thresholds(same, before, after, answer):
    assert _patch_shuffle_answer(same, before, after) == answer


def test_chapter_lists_the_options_its_check_uses(root):
    path = root / "chapters" / "09_parameter_efficiency.ipynb"
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    for key, option in PATCH_SHUFFLE_OPTIONS.items():
        assert f'- `"{key}"`: {option}' in text, option
