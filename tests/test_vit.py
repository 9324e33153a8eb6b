"""Our ViT against torchvision.models.VisionTransformer with the same weights."""

import pytest
import torch

from minimodels.vit import ViT, to_torchvision


@pytest.mark.parametrize(
    "image_size,patch_size,channels,dim,depth,heads,mlp_dim",
    [(28, 4, 1, 32, 2, 4, 64), (32, 8, 3, 48, 3, 6, 96), (16, 2, 1, 16, 1, 1, 32)],
)
def test_logits_and_gradients_match_torchvision(
    image_size, patch_size, channels, dim, depth, heads, mlp_dim
):
    torch.manual_seed(0)
    model = ViT(
        image_size=image_size,
        patch_size=patch_size,
        in_channels=channels,
        num_classes=7,
        dim=dim,
        depth=depth,
        heads=heads,
        mlp_dim=mlp_dim,
    ).eval()
    with torch.no_grad():  # non-trivial values everywhere, so every weight matters
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    tv = to_torchvision(model)
    x = torch.randn(3, channels, image_size, image_size, requires_grad=True)
    ours, theirs = model(x), tv(x)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)
    g_ours = torch.autograd.grad(ours.square().sum(), x)[0]
    g_theirs = torch.autograd.grad(theirs.square().sum(), x)[0]
    torch.testing.assert_close(g_ours, g_theirs, atol=1e-5, rtol=1e-4)


def test_cross_check_fails_when_a_block_changes():
    """The comparison has teeth: perturb one weight of one block and the logits
    differ."""
    torch.manual_seed(0)
    model = ViT(dim=32, depth=2, heads=4, mlp_dim=64).eval()
    tv = to_torchvision(model)
    x = torch.randn(2, 1, 28, 28)
    torch.testing.assert_close(model(x), tv(x), atol=1e-5, rtol=1e-4)
    with torch.no_grad():
        model.blocks[1].mlp[0].weight[0, 0] += 1.0
    assert not torch.allclose(model(x), tv(x), atol=1e-5, rtol=1e-4)


def test_options_shapes_and_intermediates():
    for readout in ("cls", "mean"):
        for pos in ("learned", "sincos", "none"):
            model = ViT(
                dim=16, depth=2, heads=2, mlp_dim=32, readout=readout, pos_embedding=pos
            )
            feats = model.features(torch.randn(2, 1, 28, 28))
            n = 49 + (readout == "cls")
            assert feats["logits"].shape == (2, 10)
            assert len(feats["tokens"]) == 3 and feats["tokens"][-1].shape == (2, n, 16)
            assert len(feats["attention"]) == 2 and feats["attention"][0].shape == (
                2,
                2,
                n,
                n,
            )


def test_without_positions_and_mean_pool_patch_shuffles_do_not_matter():
    torch.manual_seed(0)
    model = ViT(
        dim=16, depth=2, heads=2, mlp_dim=32, readout="mean", pos_embedding="none"
    ).eval()
    x = torch.randn(2, 1, 28, 28)
    shifted = torch.roll(
        x, shifts=(4, 8), dims=(2, 3)
    )  # whole-patch circular shift reorders tokens
    torch.testing.assert_close(model(shifted), model(x), atol=1e-5, rtol=1e-4)


def test_bad_input_and_config_are_explained():
    with pytest.raises(
        ValueError,
        match=(
            r"ViT expects images of shape \(B, 1, 28, 28\), "
            r"got shape \(2, 1, 32, 32\)"
        ),
    ):
        ViT()(torch.zeros(2, 1, 32, 32))
    with pytest.raises(
        ValueError, match="image_size 28 is not divisible by patch_size 5"
    ):
        ViT(patch_size=5)
    with pytest.raises(ValueError, match="readout must be one of"):
        ViT(readout="max")
    with pytest.raises(ValueError, match="pos_embedding must be one of"):
        ViT(pos_embedding="relative")
    with pytest.raises(
        ValueError,
        match="torchvision's VisionTransformer has a class token and learned positions",
    ):
        to_torchvision(ViT(readout="mean"))


# --- token dropping (keep=...) ---------------------------------------------------


@pytest.mark.parametrize("readout", ["cls", "mean"])
@pytest.mark.parametrize("pos", ["learned", "sincos", "none"])
def test_keeping_every_token_is_the_plain_forward(readout, pos):
    torch.manual_seed(0)
    model = ViT(
        dim=16, depth=2, heads=2, mlp_dim=32, readout=readout, pos_embedding=pos
    ).eval()
    x = torch.randn(3, 1, 28, 28)
    everything = torch.arange(49).expand(3, 49)
    torch.testing.assert_close(model(x, keep=everything), model(x))
    torch.testing.assert_close(
        model.features(x, keep=everything)["logits"], model.features(x)["logits"]
    )


def test_without_positions_a_permuted_full_set_gives_the_same_logits():
    torch.manual_seed(0)
    model = ViT(
        dim=16, depth=2, heads=2, mlp_dim=32, readout="mean", pos_embedding="none"
    ).eval()
    x = torch.randn(3, 1, 28, 28)
    permuted = torch.stack([torch.randperm(49) for _ in range(3)])
    torch.testing.assert_close(model(x, keep=permuted), model(x), atol=1e-5, rtol=1e-4)


def test_kept_tokens_are_the_selected_ones_after_positions():
    torch.manual_seed(0)
    for readout in ("cls", "mean"):
        model = ViT(dim=16, depth=2, heads=2, mlp_dim=32, readout=readout).eval()
        x = torch.randn(2, 1, 28, 28)
        keep = torch.tensor([[0, 5, 48], [7, 8, 9]])
        full, kept = model.tokens(x), model.tokens(x, keep)
        first = int(readout == "cls")
        assert kept.shape == (2, 3 + first, 16)
        for b in range(2):
            torch.testing.assert_close(
                kept[b, first:], full[b, first + keep[b]]
            )  # positions travel with the patch
        if first:
            torch.testing.assert_close(
                kept[:, 0], full[:, 0]
            )  # the class token is always kept
        feats = model.features(x, keep)
        assert feats["attention"][0].shape == (2, 2, 3 + first, 3 + first)
        # dropping tokens changes the prediction, and the logits come from the kept
        # tokens only
        assert not torch.allclose(model(x, keep), model(x))
        x2 = x.clone()
        x2[1, :, 8:12, 8:12] += (
            5.0  # patch 2*7+2 = 16 of image 1: not kept by either row
        )
        torch.testing.assert_close(model(x2, keep), model(x, keep))


def test_bad_keep_is_explained():
    model = ViT(dim=16, depth=1, heads=2, mlp_dim=32)
    x = torch.randn(2, 1, 28, 28)
    with pytest.raises(
        ValueError,
        match=(
            r"keep must be a \(B, M\) int64 tensor of patch indices "
            r"with B = 2, got shape \(3, 4\)"
        ),
    ):
        model(x, keep=torch.zeros(3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="got shape \\(2, 4\\), dtype torch.float32"):
        model(x, keep=torch.zeros(2, 4))
    with pytest.raises(
        ValueError,
        match=r"keep holds patch indices in \[0, 49\), got values from 0 to 49",
    ):
        model(x, keep=torch.tensor([[0, 49], [1, 2]]))


# --- convolutional stem -----------------------------------------------------------


def test_conv_stem_option():
    from minimodels.hybrid import ConvStem, conv_stem_parameters

    torch.manual_seed(0)
    small = dict(dim=32, depth=1, heads=2, mlp_dim=64, readout="mean")
    model = ViT(**small, embedding=ConvStem(4, 1, 32))
    feats = model.features(torch.randn(2, 1, 28, 28))
    assert feats["tokens"][0].shape == (2, 49, 32) and feats["logits"].shape == (2, 10)
    patch = ViT(**small)

    def count(m):
        return sum(p.numel() for p in m.parameters())

    linear_embedding = 4 * 4 * 1 * 32 + 32
    assert (
        count(model) - count(patch) == conv_stem_parameters(4, 1, 32) - linear_embedding
    )
    fast = ViT(**small, embedding=ConvStem(4, 1, 32, kernels="torch"))
    fast.load_state_dict(model.state_dict())
    x = torch.randn(2, 1, 28, 28)
    torch.testing.assert_close(fast.eval()(x), model.eval()(x), atol=1e-5, rtol=1e-4)
    with pytest.raises(
        ValueError, match="a convolutional stem has no torchvision counterpart"
    ):
        to_torchvision(ViT(embedding=ConvStem(4, 1, 64)))
    with pytest.raises(
        ValueError,
        match=(
            r"the embedding ConvStem must return tokens of shape \(B, 49, 64\), "
            r"got shape \(2, 196, 64\)"
        ),
    ):
        ViT(embedding=ConvStem(2, 1, 64))(
            torch.zeros(2, 1, 28, 28)
        )  # a 2 px grid for a ViT of 4 px patches


def test_the_vit_does_not_depend_on_the_hybrid():
    """Chapter 07's model must not import chapter 11's code: the stem is passed in."""
    import ast
    import inspect

    import minimodels.vit

    tree = ast.parse(inspect.getsource(minimodels.vit))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    }
    assert "hybrid" not in imported and "minimodels.hybrid" not in imported, imported
