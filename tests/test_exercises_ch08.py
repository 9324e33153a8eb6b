import contextlib

import nbformat
import pytest
import torch

from minimodels.exercises import (
    LOCAL_ATTENTION_OPTIONS,
    ExerciseError,
    check_attention_distance,
    check_local_attention_prediction,
    check_painted_patch_report,
)
from minimodels.exercises.ch08 import _local_attention
from minimodels.train import seed_everything
from minimodels.vit import ViT

CHAPTER = "08_locality_and_long_range"


def tiny_vit(readout="mean"):
    seed_everything(0)
    return ViT(
        patch_size=7, dim=16, depth=2, heads=2, mlp_dim=32, readout=readout
    ).eval()


def images(n=12):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))


# --- Exercise 8.1 -----------------------------------------------------------------


def attention_distance(weights, patch_size, class_token=False):  # the notebook's
    if class_token:
        weights = weights[..., 1:, 1:]
        weights = weights / weights.sum(dim=-1, keepdim=True)
    grid = round(weights.shape[-1] ** 0.5)
    rows, cols = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    centres = torch.stack([rows.flatten(), cols.flatten()], dim=1) * patch_size
    distances = torch.cdist(centres.double(), centres.double())  # (N, N) pixels
    return (weights * distances.to(weights.dtype)).sum(dim=-1).mean(dim=(0, 2))


def test_attention_distance_right_answer_passes(capsys):
    check_attention_distance(attention_distance)
    assert "\N{CHECK MARK} attention_distance: matches" in capsys.readouterr().out
    for readout in ("mean", "cls"):  # on a real ViT's blocks, with a class token too
        check_attention_distance(attention_distance, tiny_vit(readout), images())
        out = capsys.readouterr().out
        assert "on the 2 blocks of the given ViT (block 1, per head:" in out


def _without_class_token(weights, patch_size, class_token=False):
    return attention_distance(weights, patch_size, False)


@pytest.mark.parametrize(
    "answer, message",
    [
        (
            lambda w, P, c=False: attention_distance(w, P, c) / P,
            r"patch_size=7, class_token=False\): these are distances in patches",
        ),
        (
            lambda w, P, c=False: (
                attention_distance(torch.ones_like(w), P, c) / (w.shape[-1] - c)
            ),
            "the attention weights are missing",
        ),
        (
            lambda w, P, c=False: attention_distance(w, P, c) / (w.shape[-1] - c),
            r"averaged over the keys \(a division by N = 16\)",
        ),
        (
            lambda w, P, c=False: attention_distance(w, P, c) * (w.shape[-1] - c),
            "summed over the queries too",
        ),
        (
            lambda w, P, c=False: attention_distance(w, P, c).mean(),
            r"returned shape \(\); expected \(3,\).*one value per head",
        ),
        (
            lambda w, P, c=False: attention_distance(w, P, c).expand(len(w), -1),
            r"returned shape \(2, 3\); expected \(3,\)",
        ),
    ],
    ids=["patches", "unweighted", "mean over keys", "sum over queries", "()", "(B, h)"],
)
def test_attention_distance_classic_mistakes(answer, message):
    with pytest.raises(ExerciseError, match=message):
        check_attention_distance(answer)


def city_block(weights, patch_size, class_token=False):
    if class_token:
        weights = weights[..., 1:, 1:]
        weights = weights / weights.sum(dim=-1, keepdim=True)
    grid = round(weights.shape[-1] ** 0.5)
    n = torch.arange(grid * grid)
    r, c = n // grid, n % grid
    d = ((r[:, None] - r).abs() + (c[:, None] - c).abs()) * patch_size
    return (weights * d).sum(dim=-1).mean(dim=(0, 2))


def not_rescaled(weights, patch_size, class_token=False):
    if class_token:
        weights = weights[..., 1:, 1:]
    return attention_distance(weights, patch_size, False)


def rescaled_over_queries(weights, patch_size, class_token=False):
    if class_token:
        weights = weights[..., 1:, 1:]
        weights = weights / weights.sum(dim=-2, keepdim=True)
    return attention_distance(weights, patch_size, False)


@pytest.mark.parametrize(
    "answer, message",
    [
        (city_block, "city-block"),
        (
            not_rescaled,
            r"class_token=True\): the class token was dropped but .* not rescaled",
        ),
        (rescaled_over_queries, r"rescaled over the queries \(dim -2\)"),
        (
            _without_class_token,
            r"raised RuntimeError.*Hint: with a class token there are T = N \+ 1",
        ),
    ],
)
def test_attention_distance_class_token_and_metric(answer, message):
    with pytest.raises(ExerciseError, match=message):
        check_attention_distance(answer)


def test_attention_distance_stub_and_real_model():
    def stub(weights, patch_size, class_token=False):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="attention_distance is not written yet"):
        check_attention_distance(stub)

    def only_random(weights, patch_size, class_token=False):
        if weights.shape[0] == 12:  # the model's batch: a wrong value
            return attention_distance(weights, patch_size, class_token) + 1
        return attention_distance(weights, patch_size, class_token)

    with pytest.raises(ExerciseError, match="on block 1 of the given ViT"):
        check_attention_distance(only_random, tiny_vit(), images())


# --- Exercise 8.2 (open-ended) ----------------------------------------------------


def my_experiment(model, images, patch=5, paint=1.0):  # the measurement, in short
    from minimodels.exercises.ch08 import _painted_changes

    rows = [
        (block, *changes)
        for block, changes in enumerate(
            _painted_changes(model, images, patch, paint), start=1
        )
    ]
    answer = " ".join(["word"] * 25)
    return {"patch": patch, "paint": paint, "rows": rows, "answer": answer}


def changed(**edits):
    def experiment(model, images):
        report = my_experiment(model, images)
        for key, value in edits.items():
            if value is None:
                report.pop(key)
            elif callable(value):
                report[key] = value(report[key])
            else:
                report[key] = value
        return report

    return experiment


def test_painted_patch_report_complete(capsys):
    model = tiny_vit()
    report = check_painted_patch_report(my_experiment, model, images())
    out = capsys.readouterr().out
    assert "painted patch 5 (row 1, column 1) with 1" in out
    assert "\N{CHECK MARK} my_experiment: complete; the argument is graded by hand" in (
        out
    )
    assert [row[0] for row in report["rows"]] == [1, 2]
    own, near, far = report["rows"][0][1:]
    assert own > near > 0 and far > 0  # after one block, every token has moved
    # A class-token ViT and a corner patch: the measurement skips the class token.
    corner = check_painted_patch_report(
        lambda m, x: my_experiment(m, x, patch=0), tiny_vit("cls"), images()
    )
    assert corner["rows"][0][1] > 0
    # numbers left as one-element tensors are accepted
    as_tensors = changed(rows=lambda r: [tuple(map(torch.tensor, row)) for row in r])
    check_painted_patch_report(as_tensors, model, images())


@pytest.mark.parametrize(
    "experiment, message",
    [
        (changed(answer=None), r"hand-in has no 'answer': expected the keys"),
        (
            changed(rows=None, patch=None),
            r"hand-in has no 'patch', 'rows': expected the keys",
        ),
        (changed(answer="It mixes."), r"'answer' has 2 words"),
        (changed(patch=16), r"'patch' is 16; expected .* from 0 to 15"),
        (changed(paint="white"), r"'paint' is 'white'"),
        (changed(rows=lambda r: r[:1]), "at least two blocks"),
        (changed(rows=lambda r: [(0, *r[0][1:]), r[1]]), "a row's block is 0"),
        (changed(rows=lambda r: [r[0], r[0]]), "block 1 has two rows"),
        (changed(rows=lambda r: [r[0][:3], r[1]]), r"\(block, own, near, far\) tuple"),
        (
            changed(rows=lambda r: [(1, -0.5, *r[0][2:]), r[1]]),
            "block 1: 'own' is -0.5",
        ),
        (
            changed(rows=lambda r: [(1, 2 * r[0][1], *r[0][2:]), r[1]]),
            r"block 1, 'own': your table says .*; the check measures",
        ),
        (
            changed(paint=0.0),
            r"block 1, 'own': .* for patch 5 painted 0 on the same images",
        ),
        (lambda m, x: [1, 2], "returned list; expected a dict"),
    ],
)
def test_painted_patch_report_incomplete(experiment, message):
    with pytest.raises(ExerciseError, match=message):
        check_painted_patch_report(experiment, tiny_vit(), images())


def test_painted_patch_report_stub():
    def stub(model, images):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="my_experiment is not written yet"):
        check_painted_patch_report(stub, tiny_vit(), images())


# --- Exercise 8.3 (predict, then run) ---------------------------------------------


def test_local_attention_masks_far_patches_and_is_removed():
    model = tiny_vit()
    x = images(4)
    with torch.no_grad():
        before = model(x)
        with _local_attention(model):
            local = model(x)
            probs = model.blocks[0].attn.probs  # (B, h, 16, 16)
        after = model(x)
    assert torch.equal(before, after) and not torch.allclose(before, local)
    # patch 0 (a corner) may attend to 0, 1, 4 and 5 only; patch 5 to its 3 x 3
    allowed0 = {0, 1, 4, 5}
    assert set(probs[:, :, 0].sum(dim=(0, 1)).nonzero().flatten().tolist()) == (
        allowed0
    )
    assert (probs[:, :, 5] > 0).sum(-1).eq(9).all()
    with contextlib.suppress(RuntimeError), _local_attention(model):
        raise RuntimeError
    assert all(not b.attn._forward_pre_hooks for b in model.blocks)


def test_local_attention_prediction_agrees_with_its_measurement(capsys):
    model = tiny_vit()
    x = images(40)
    labels = model(x).argmax(1)  # 100% right with full attention
    results = {}
    for option in LOCAL_ATTENTION_OPTIONS:
        try:
            check_local_attention_prediction(lambda o=option: o, model, x, labels)
            results[option] = "passed"
            assert "Measured: 100.0% with full attention" in capsys.readouterr().out
        except ExerciseError as err:
            assert "Measured: 100.0% with full attention" in str(err)
            assert "3 x 3 neighbourhood in every block" in str(err)
            results[option] = "failed"
    assert sorted(results.values()) == ["failed", "failed", "passed"], results
    assert all(not b.attn._forward_pre_hooks for b in model.blocks)

    def stub():
        raise NotImplementedError

    with pytest.raises(
        ExerciseError, match="local_attention_prediction is not written yet"
    ):
        check_local_attention_prediction(stub, model, x, labels)
    with pytest.raises(ExerciseError, match="returned 'd'; expected one of"):
        check_local_attention_prediction(lambda: "d", model, x, labels)


def test_predict_then_run_chapter_lists_the_options_its_check_uses(root):
    path = root / "chapters" / f"{CHAPTER}.ipynb"
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    for key, option in LOCAL_ATTENTION_OPTIONS.items():
        assert f'- `"{key}"`: {option}' in text, option
