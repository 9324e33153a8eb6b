import nbformat
import pytest
import torch

from minimodels.exercises import (
    CORNER_TOKEN_OPTIONS,
    ExerciseError,
    check_attention_received,
    check_block_parameters,
    check_corner_token_prediction,
    check_vit_forward,
    check_vit_variant_report,
)
from minimodels.exercises.ch07 import _vit_logits
from minimodels.recipes import RECIPES
from minimodels.train import count_parameters, seed_everything
from minimodels.vit import ViT


def right(dim, mlp_dim):
    return (4 * dim * dim + 4 * dim) + (2 * dim * mlp_dim + mlp_dim + dim) + 4 * dim


def test_block_parameters(capsys):
    check_block_parameters(right)
    assert "\N{CHECK MARK} block_parameters" in capsys.readouterr().out
    with pytest.raises(
        ExerciseError,
        match=(
            r"block_parameters\(dim=64, mlp_dim=128\) returned 33216; expected 33,472 "
            r".*LayerNorms have parameters"
        ),
    ):
        check_block_parameters(lambda d, m: right(d, m) - 4 * d)
    with pytest.raises(
        ExerciseError,
        match=r"block_parameters\(dim=16, mlp_dim=64\) returned 33472; expected 3,280",
    ):
        check_block_parameters(lambda d, m: 33_472)  # hard-coded for the first size

    def stub(d, m):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="block_parameters is not written yet"):
        check_block_parameters(stub)


def test_attention_received(capsys):
    check_attention_received(lambda w: w.mean(dim=(1, 2)))
    assert "\N{CHECK MARK} attention_received" in capsys.readouterr().out
    with pytest.raises(
        ExerciseError,
        match=r"returned 1/N = 0.2000 for every token: you averaged over the keys",
    ):
        check_attention_received(lambda w: w.mean(dim=(1, 3)))
    with pytest.raises(ExerciseError, match="you summed over heads and queries"):
        check_attention_received(lambda w: w.sum(dim=(1, 2)))
    with pytest.raises(
        ExerciseError, match=r"returned shape \(2, 5, 5\); expected \(2, 5\)"
    ):
        check_attention_received(lambda w: w.mean(dim=1))


def vit_forward(model, images):  # the notebook's solution
    tokens = model.patch_embed(images)
    if model.cls_token is not None:
        tokens = torch.cat([model.cls_token.expand(len(images), -1, -1), tokens], 1)
    if model.pos_embedding is not None:
        tokens = tokens + model.pos_embedding
    for block in model.blocks:
        tokens = block(tokens)
    tokens = model.norm(tokens)
    pooled = tokens[:, 0] if model.readout == "cls" else tokens.mean(dim=1)
    return model.head(pooled)


def variant(**flags):
    return lambda model, images: _vit_logits(model, images, **flags)


def test_vit_forward(capsys):
    check_vit_forward(vit_forward)
    assert "\N{CHECK MARK} vit_forward" in capsys.readouterr().out
    check_vit_forward(variant())  # the check's own reference passes
    assert "\N{CHECK MARK} vit_forward" in capsys.readouterr().out
    for flags, message in [
        (dict(positions=False), "position embeddings were not added"),
        (dict(readout="mean"), "not the mean of the tokens"),
        (dict(readout="patches"), "not the mean of the patch tokens"),
        (dict(final_norm=False), "final LayerNorm .* is missing"),
        (dict(pool_first=True), "norm, then mean"),
    ]:
        with pytest.raises(ExerciseError, match=message):
            check_vit_forward(variant(**flags))


def test_vit_forward_mean_readout_errors():
    def class_token_always(model, images):  # right for cls models, wrong for mean ones
        if model.readout == "cls":
            return vit_forward(model, images)
        return _vit_logits(model, images, readout="cls")

    with pytest.raises(ExerciseError, match="has no class token"):
        check_vit_forward(class_token_always)

    def pool_first_for_mean(model, images):
        if model.readout == "cls":
            return vit_forward(model, images)
        return _vit_logits(model, images, pool_first=True)

    with pytest.raises(ExerciseError, match="norm, then mean"):
        check_vit_forward(pool_first_for_mean)


def test_vit_forward_shape_stub_and_crash():
    with pytest.raises(
        ExerciseError, match=r"returned shape \(3, 32\); expected \(3, 10\)"
    ):
        check_vit_forward(lambda m, x: m.norm(m.patch_embed(x)).mean(1))

    def stub(model, images):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="vit_forward is not written yet"):
        check_vit_forward(stub)

    def positions_before_class_token(model, images):
        return model.patch_embed(images) + model.pos_embedding  # (N, D) + (N + 1, D)

    with pytest.raises(ExerciseError, match="vit_forward raised RuntimeError"):
        check_vit_forward(positions_before_class_token)


def stub(*args):
    raise NotImplementedError


# the corner token (predict, then run) -------------------------------------------


def _tiny_vit(readout="mean"):
    seed_everything(0)
    return ViT(
        image_size=8, patch_size=4, dim=8, depth=1, heads=2, mlp_dim=16, readout=readout
    )


def test_corner_token_prediction_agrees_with_its_measurement():
    # Untrained and tiny: whatever the measurement picks, exactly one option passes,
    # and the model is left as it was (here: in training mode).
    model = _tiny_vit()
    images = torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    images[..., :4, :4] = 0  # a blank corner patch
    with torch.no_grad():
        labels = model.eval()(images).argmax(1)  # the mean readout is 100% right
    model.train()
    results = {}
    for option in CORNER_TOKEN_OPTIONS:
        try:
            check_corner_token_prediction(lambda o=option: o, model, images, labels)
            results[option] = "passed"
        except ExerciseError as err:
            assert "Measured: on 40 test digits, 100.0% with the mean" in str(err)
            assert "that patch is blank in 100% of the digits" in str(err)
            results[option] = "failed"
    assert sorted(results.values()) == ["failed", "failed", "passed"], results
    assert model.training


def test_corner_token_prediction_explains_a_missing_answer():
    model = _tiny_vit()
    images, labels = torch.rand(10, 1, 8, 8), torch.zeros(10, dtype=torch.long)
    with pytest.raises(ExerciseError, match="corner_token_prediction is not written"):
        check_corner_token_prediction(stub, model, images, labels)
    with pytest.raises(ExerciseError, match=r"returned 'up'; expected one of 'a'"):
        check_corner_token_prediction(lambda: "up", model, images, labels)
    with pytest.raises(ValueError, match="readout='mean'"):
        check_corner_token_prediction(lambda: "a", _tiny_vit("cls"), images, labels)


def test_chapter_lists_the_corner_token_options(root):
    path = root / "chapters" / "07_vision_transformer.ipynb"
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    for key, option in CORNER_TOKEN_OPTIONS.items():
        assert f'- `"{key}"`: {option}' in text, option


# a change to the recipe's ViT (open-ended) -----------------------------------------


def _row(variant, config, step_ms=100.0, **changes):
    model = ViT(**{**RECIPES["vit"].model, **config})
    row = {
        "variant": variant,
        "config": config,
        "parameters": count_parameters(model),
        "tokens": model.num_patches,
        "step_ms": step_ms,
    }
    row.update(changes)
    return row


def _variant_report(*rows, **changes):
    rows = rows or (
        _row("recipe", {}),
        _row("patches of 4", {"patch_size": 4}, step_ms=300.0),
    )
    report = {
        "rows": list(rows),
        "answer": "Smaller patches cost three times the time per step " * 3,
    }
    report.update(changes)
    return report


def test_vit_variant_report(capsys):
    report = check_vit_variant_report(_variant_report)
    assert len(report["rows"]) == 2
    out = capsys.readouterr().out
    assert "patches of 4" in out and "3.00" in out  # the step, relative to the recipe
    assert "\N{CHECK MARK} vit_variant_report: complete; the argument" in out
    # a class token adds a token
    check_vit_variant_report(
        lambda: _variant_report(
            _row("recipe", {}),
            _row("class token", {"readout": "cls"}, tokens=17),
            _row("wider", {"dim": 128, "mlp_dim": 256}, step_ms=torch.tensor(250.0)),
        )
    )


@pytest.mark.parametrize(
    "report, message",
    [
        (None, "my_experiment returned NoneType; expected a dict with the keys 'rows'"),
        ({"rows": []}, "my_experiment's hand-in has no 'answer': expected the keys"),
        (_variant_report(rows=[_row("recipe", {})]), "at least two rows"),
        (
            _variant_report(rows=[_row("deeper", {"depth": 8}), _row("recipe", {})]),
            r"row 0 \('deeper'\): the first row must be the recipe's ViT",
        ),
        (
            _variant_report(rows=[_row("recipe", {}), "patches of 4"]),
            "row 1 is a str; expected a dict",
        ),
        (
            _variant_report(
                rows=[_row("recipe", {}), {"variant": "deeper", "config": {}}]
            ),
            "row 1 has no 'parameters', 'tokens', 'step_ms'",
        ),
        (
            _variant_report(
                rows=[_row("recipe", {}), _row("P 4", {"patch_size": 4}, tokens=16)]
            ),
            r"row 1 \('P 4'\): \"tokens\" is 16; .* has 49",
        ),
        (
            _variant_report(
                rows=[_row("recipe", {}), _row("deeper", {"depth": 8}, parameters=1)]
            ),
            r"\"parameters\" is 1; the recipe's ViT with \{'depth': 8\} has 272,778",
        ),
        (
            _variant_report(
                rows=[
                    _row("recipe", {}),
                    {
                        **_row("recipe", {}),
                        "variant": "P 5",
                        "config": {"patch_size": 5},
                    },
                ]
            ),
            r"ViT cannot be built with \"config\" \{'patch_size': 5\}: image_size 28",
        ),
        (
            _variant_report(
                rows=[_row("recipe", {}), {**_row("P 4", {}), "config": "patch_size=4"}]
            ),
            r"\"config\" is a str; expected a dict",
        ),
        (
            _variant_report(
                rows=[_row("recipe", {}), _row("deeper", {"depth": 8}, step_ms=0)]
            ),
            r"\"step_ms\" is 0; expected the time of one training step",
        ),
        (
            _variant_report(answer="Deeper is slower."),
            "'answer' has 3 words; expected at least 20",
        ),
    ],
)
def test_vit_variant_report_names_what_is_missing(report, message):
    with pytest.raises(ExerciseError, match=message):
        check_vit_variant_report(lambda: report)


def test_vit_variant_report_stub():
    with pytest.raises(ExerciseError, match="my_experiment is not written yet"):
        check_vit_variant_report(stub)
