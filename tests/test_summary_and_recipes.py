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
    assert table.splitlines()[-1] == f"| **total** | | | **{count_parameters(model):,}** |"
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
    assert config.seed == 2 and config.epochs == VIT_TRAINING.epochs and config.warmup_epochs > 0
    x = torch.rand(4, 1, 28, 28)
    assert augment(x).shape == x.shape
    small, _, _ = vit_recipe(seed=0, dim=32, depth=2, heads=2, mlp_dim=64)
    assert len(small.blocks) == 2 and small.dim == 32
