import pytest
import torch
from torch import nn

from minimodels.recipes import SMALL_CNN_TRAINING, small_cnn_recipe
from minimodels.summary import layer_table, markdown_table
from minimodels.train import count_parameters


def test_layer_table_accounts_for_every_parameter():
    model, config = small_cnn_recipe(seed=0)
    rows = layer_table(model, torch.zeros(2, 1, 28, 28))
    assert sum(r["params"] for r in rows) == count_parameters(model)
    assert rows[0]["output"] == (16, 28, 28) and rows[-1]["output"] == (10,)
    assert model.training  # restored
    table = markdown_table(rows)
    assert (
        table.splitlines()[-1] == f"| **total** | | | **{count_parameters(model):,}** |"
    )
    assert "`BatchNorm2d(16)`" in table


def test_recipe_is_seeded():
    a, _ = small_cnn_recipe(seed=3)
    b, config = small_cnn_recipe(seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert config.seed == 3 and config.epochs == SMALL_CNN_TRAINING.epochs
    c, _ = small_cnn_recipe(seed=0, padding_mode="circular")
    assert isinstance(c, nn.Module) and c.stages[0][0].padding_mode == "circular"


def test_vit_recipe_is_seeded_and_augments():
    from minimodels.recipes import VIT_TRAINING, vit_recipe

    a, config, augment = vit_recipe(seed=2)
    b, _, _ = vit_recipe(seed=2)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert (
        config.seed == 2
        and config.epochs == VIT_TRAINING.epochs
        and config.warmup_epochs > 0
    )
    x = torch.rand(4, 1, 28, 28)
    assert augment(x).shape == x.shape
    small, _, _ = vit_recipe(seed=0, dim=32, depth=2, heads=2, mlp_dim=64)
    assert len(small.blocks) == 2 and small.dim == 32


def test_layer_table_counts_the_parameters_a_container_holds():
    """A ViT's class token and position table belong to the ViT itself, not to a leaf
    layer."""
    from minimodels.hybrid import ConvStem
    from minimodels.vit import ViT

    for model in (
        ViT(dim=16, depth=2, heads=2, mlp_dim=32),  # class token and learned positions
        ViT(
            dim=16, depth=1, heads=2, mlp_dim=32, readout="mean", pos_embedding="sincos"
        ),  # neither
        ViT(
            dim=16,
            depth=1,
            heads=2,
            mlp_dim=32,
            readout="mean",
            embedding=ConvStem(4, 1, 16),
        ),
    ):
        rows = layer_table(model, torch.zeros(1, 1, 28, 28))
        assert sum(r["params"] for r in rows) == count_parameters(model)
    rows = layer_table(
        ViT(dim=16, depth=2, heads=2, mlp_dim=32), torch.zeros(1, 1, 28, 28)
    )
    assert [(r["name"], r["output"], r["params"]) for r in rows[:2]] == [
        ("cls_token", (1, 16), 16),
        ("pos_embedding", (50, 16), 50 * 16),
    ]


def test_vit_recipe_builds_the_hybrid_from_a_json_able_entry():
    from minimodels.hybrid import ConvStem
    from minimodels.patches import PatchEmbedding
    from minimodels.recipes import HYBRID_EXPERIMENT, vit_recipe

    hybrid, _, _ = vit_recipe(seed=0, **HYBRID_EXPERIMENT)
    assert isinstance(hybrid.patch_embed, ConvStem)
    assert isinstance(vit_recipe(seed=0)[0].patch_embed, PatchEmbedding)
    with pytest.raises(
        ValueError, match="stem must be 'patch' .* or 'conv' .*, got 'resnet'"
    ):
        vit_recipe(seed=0, stem="resnet")
