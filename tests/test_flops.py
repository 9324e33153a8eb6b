"""count_flops against formulas, across our layers and torch's, and against
torchvision's published counts.
"""

import pytest
import torch
from torch import nn

from minimodels.cnn import SmallCNN
from minimodels.conv import Conv2d
from minimodels.flops import count_flops, reference_models
from minimodels.vit import ViT, to_torchvision


def test_linear_and_convolution_formulas():
    # a multiply-add counts 2
    assert count_flops(nn.Linear(8, 5), (3, 8)) == 2 * 3 * 8 * 5
    B, C, C_out, H, K = 2, 3, 4, 10, 3
    expected = 2 * B * C_out * C * K * K * H * H  # "same" padding: H x H outputs
    assert count_flops(Conv2d(C, C_out, K, padding=1), (B, C, H, H)) == expected
    assert count_flops(nn.Conv2d(C, C_out, K, padding=1), (B, C, H, H)) == expected
    assert (
        count_flops(Conv2d(C, C_out, K, stride=2), (B, C, H, H))
        == 2 * B * C_out * C * K * K * 4 * 4
    )


@pytest.mark.parametrize("downsample", ["max", "blur"])
def test_our_layers_and_torchs_count_the_same(downsample):
    ours = SmallCNN(widths=(16, 32, 64), convs_per_stage=2, downsample=downsample)
    theirs = SmallCNN(
        widths=(16, 32, 64), convs_per_stage=2, downsample=downsample, kernels="torch"
    )
    n = count_flops(ours, (1, 1, 28, 28))
    # torch's blur is a depthwise convolution, which the counter sees: 9 multiply-adds
    # per output pixel and channel (16 channels at 14 x 14, 32 at 7 x 7). Our separable
    # blur is element-wise arithmetic, which it does not count.
    blur = 2 * 9 * (16 * 14 * 14 + 32 * 7 * 7) if downsample == "blur" else 0
    assert count_flops(theirs, (1, 1, 28, 28)) == n + blur
    # the convolutions, stage by stage (28, 14, 7 pixels), then the head
    convs = [
        (1, 16, 28),
        (16, 16, 28),
        (16, 32, 14),
        (32, 32, 14),
        (32, 64, 7),
        (64, 64, 7),
    ]
    assert n == sum(2 * c * o * 9 * h * h for c, o, h in convs) + 2 * 64 * 10
    assert count_flops(ours, (4, 1, 28, 28)) == 4 * n  # per batch, linear in B


def test_vit_formula_and_torchvision_twin():
    P, D, depth, mlp, classes = 4, 32, 2, 64, 10
    model = ViT(patch_size=P, dim=D, depth=depth, heads=4, mlp_dim=mlp)
    N, T = 49, 50  # patches, tokens with the class token
    per_block = (
        2 * T * D * 3 * D + 2 * 2 * T * T * D + 2 * T * D * D + 2 * 2 * T * D * mlp
    )
    expected = 2 * N * P * P * D + depth * per_block + 2 * D * classes
    assert count_flops(model, (1, 1, 28, 28)) == expected
    assert count_flops(to_torchvision(model), (1, 1, 28, 28)) == expected
    # mean pooling has no class token: 49 tokens
    mean = ViT(patch_size=P, dim=D, depth=depth, heads=4, mlp_dim=mlp, readout="mean")
    per_block = (
        2 * N * D * 3 * D + 2 * 2 * N * N * D + 2 * N * D * D + 2 * 2 * N * D * mlp
    )
    assert (
        count_flops(mean, (1, 1, 28, 28))
        == 2 * N * P * P * D + depth * per_block + 2 * D * classes
    )


def test_the_model_is_left_as_it_was():
    model = SmallCNN(widths=(4, 8)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    count_flops(model, (2, 1, 12, 12))
    assert model.training and all(p.device.type == "cpu" for p in model.parameters())
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_reference_models_match_torchvisions_published_numbers():
    rows = {r.name: r for r in reference_models()}
    assert list(rows) == ["resnet18", "resnet50", "vit_b_16"]
    # torchvision's "GFLOPS" are multiply-adds: half our count (to their 3 decimals)
    for r in rows.values():
        assert r.gflops / 2 == pytest.approx(r.published_gflops, rel=1e-3), r
    from torchvision.models import ResNet18_Weights, ResNet50_Weights, ViT_B_16_Weights

    for name, w in [
        ("resnet18", ResNet18_Weights),
        ("resnet50", ResNet50_Weights),
        ("vit_b_16", ViT_B_16_Weights),
    ]:
        assert rows[name].parameters == w.IMAGENET1K_V1.meta["num_params"]
    assert [rows[n].published_top1 for n in rows] == [69.758, 76.13, 81.072]


def test_bad_input_shape_is_explained():
    with pytest.raises(
        ValueError,
        match=(
            r"count_flops expects input_shape as positive ints, "
            r"e.g. \(1, 1, 28, 28\), got \(1, 28, 28.0\)"
        ),
    ):
        count_flops(nn.Linear(2, 2), (1, 28, 28.0))
