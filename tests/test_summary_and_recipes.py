import pytest
import torch
from torch import nn

from minimodels.recipes import RECIPES, Recipe, build
from minimodels.summary import layer_table, markdown_table
from minimodels.train import count_parameters


def test_layer_table_accounts_for_every_parameter():
    model = build("cnn", seed=0).model
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
    a, _, _ = build("cnn", seed=3)
    b, config, augment = build("cnn", seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert config.seed == 3 and config.epochs == RECIPES["cnn"].training.epochs
    c = build("cnn", seed=0, padding_mode="circular").model
    assert isinstance(c, nn.Module) and c.stages[0][0].padding_mode == "circular"
    assert build("cnn", seed=0, max_shift=0).augment is None


def test_vit_recipe_is_seeded_and_augments():
    a, config, augment = build("vit", seed=2)
    b = build("vit", seed=2).model
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert (
        config.seed == 2
        and config.epochs == RECIPES["vit"].training.epochs
        and config.warmup_epochs > 0
    )
    x = torch.rand(4, 1, 28, 28)
    assert augment(x).shape == x.shape
    small = build("vit", seed=0, dim=32, depth=2, heads=2, mlp_dim=64).model
    assert len(small.blocks) == 2 and small.dim == 32


def test_every_recipe_builds_and_experiment_models_are_small():
    for name, recipe in RECIPES.items():
        model = build(name, seed=0).model
        assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10), name
        if name.endswith("-small"):
            # about 20k parameters: three seeds and several variants fit the CPU budget
            assert 15_000 <= count_parameters(model) <= 30_000, name
    assert build(RECIPES["vit-small"], seed=0).model.dim == 32  # a Recipe works too
    with pytest.raises(ValueError, match="recipe must be one of .*, got 'resnet'"):
        build("resnet")
    with pytest.raises(ValueError, match="family must be one of .*, got 'mlp'"):
        Recipe("mlp", {}, RECIPES["cnn"].training)


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


def test_build_makes_the_hybrid_from_a_json_able_entry():
    from minimodels.hybrid import ConvStem
    from minimodels.patches import PatchEmbedding

    hybrid = build("hybrid-small", seed=0).model
    assert isinstance(hybrid.patch_embed, ConvStem)
    assert isinstance(build("vit", seed=0).model.patch_embed, PatchEmbedding)
    with pytest.raises(
        ValueError, match="stem must be 'patch' .* or 'conv' .*, got 'resnet'"
    ):
        build("vit", seed=0, stem="resnet")


@pytest.mark.parametrize(
    "recipe, accuracy, seconds", [("vit", 0.975, 120.0), ("cnn", 0.988, 60.0)]
)
def test_stored_ablation_is_of_the_current_recipe_and_meets_its_bar(
    recipe, accuracy, seconds
):
    """benchmarks/bench_<recipe>.py --seeds 0 1 2 --ablation --save stored it; chapter
    07 quotes it. Rerun that command when the recipe changes."""
    from minimodels.recipes import stored_ablation

    stored = stored_ablation(recipe)
    assert stored["epochs"] == RECIPES[recipe].training.epochs
    assert stored["train_images"] == 4000 and stored["seeds"] == [0, 1, 2]
    assert set(stored["arms"]) == {"recipe", "recipe without shifts", "plain"}
    runs = stored["arms"]["recipe"]
    # the bars: mean test accuracy over 3 seeds, each run's training time
    assert sum(runs["test_acc"]) / 3 >= accuracy - 1e-9, runs["test_acc"]
    assert max(runs["seconds"]) <= seconds, runs["seconds"]


def test_a_missing_stored_ablation_says_how_to_make_it(monkeypatch, tmp_path):
    from minimodels import recipes

    monkeypatch.setattr(recipes, "results_path", lambda r: tmp_path / f"{r}.json")
    with pytest.raises(FileNotFoundError, match="bench_vit.py --seeds 0 1 2"):
        recipes.stored_ablation("vit")
