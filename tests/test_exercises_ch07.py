import pytest
import torch

from minimodels.exercises import (
    ExerciseError,
    check_attention_received,
    check_block_parameters,
    check_vit_forward,
)
from minimodels.exercises.ch07 import _vit_logits


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
