import pytest
import torch
from torch import nn

from minimodels.cnn import SmallCNN
from minimodels.conv import Conv2d
from minimodels.locally_connected import LocallyConnected2d
from minimodels.pooling import MaxBlurPool2d, MaxPool2d


def test_shapes_and_intermediates():
    model = SmallCNN(widths=(8, 16, 32), convs_per_stage=2).eval()
    x = torch.randn(5, 1, 28, 28)
    feats = model.features(x)
    assert [tuple(feats[f"stage{i}"].shape) for i in (1, 2, 3)] == [
        (5, 8, 28, 28),
        (5, 16, 14, 14),
        (5, 32, 7, 7),
    ]
    assert feats["pooled"].shape == (5, 32) and feats["logits"].shape == (5, 10)
    torch.testing.assert_close(model(x), feats["logits"])
    # built from our own layers
    assert sum(isinstance(m, Conv2d) for m in model.modules()) == 6
    assert sum(isinstance(m, MaxPool2d) for m in model.modules()) == 2
    assert not any(isinstance(m, (nn.Conv2d, nn.MaxPool2d)) for m in model.modules())


def test_matches_the_same_network_built_from_torch_layers():
    """Copy the weights into an nn.Conv2d / nn.MaxPool2d twin: same logits and
    gradients."""
    torch.manual_seed(0)
    ours = SmallCNN(
        widths=(4, 8), convs_per_stage=1, in_channels=3, num_classes=5
    ).eval()
    layers = []
    for stage in ours.stages:
        for m in stage:
            if isinstance(m, Conv2d):
                ref = nn.Conv2d(
                    m.in_channels,
                    m.out_channels,
                    m.kernel_size,
                    padding=m.padding,
                    bias=m.bias is not None,
                )
                ref.load_state_dict(m.state_dict())
                layers.append(ref)
            elif isinstance(m, MaxPool2d):
                layers.append(nn.MaxPool2d(2))
            else:
                layers.append(m)
    twin = nn.Sequential(
        *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), ours.head
    ).eval()
    x = torch.randn(3, 3, 16, 16, requires_grad=True)
    torch.testing.assert_close(ours(x), twin(x))
    g_ours = torch.autograd.grad(ours(x).sum(), x)[0]
    g_twin = torch.autograd.grad(twin(x).sum(), x)[0]
    torch.testing.assert_close(g_ours, g_twin)


def test_circular_padding_and_avg_pool_options():
    model = SmallCNN(
        widths=(4, 8), padding_mode="circular", downsample="avg", batch_norm=False
    ).eval()
    x = torch.randn(2, 1, 12, 12)
    # stride-1 circular stage 1 is exactly shift-equivariant
    torch.testing.assert_close(
        model.features(torch.roll(x, (3, 1), (2, 3)))["stage1"],
        torch.roll(model.features(x)["stage1"], (3, 1), (2, 3)),
    )
    # a shift by the total stride (2) leaves the prediction unchanged: invariance from
    # global pooling
    torch.testing.assert_close(model(torch.roll(x, (2, 4), (2, 3))), model(x))


def test_bad_input_and_config_are_explained():
    with pytest.raises(
        ValueError,
        match=(
            r"SmallCNN expects images of shape \(B, 1, H, W\), "
            r"got shape \(2, 3, 28, 28\)"
        ),
    ):
        SmallCNN()(torch.zeros(2, 3, 28, 28))
    with pytest.raises(ValueError, match=r"got 2-D input of shape \(28, 28\)"):
        SmallCNN()(torch.zeros(28, 28))
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        SmallCNN(kernel_size=4)
    with pytest.raises(
        ValueError,
        match=r"downsample must be one of \('max', 'avg', 'blur'\), got 'min'",
    ):
        SmallCNN(downsample="min")
    with pytest.raises(
        ValueError, match=r"kernels must be one of \('ours', 'torch'\), got 'cudnn'"
    ):
        SmallCNN(kernels="cudnn")
    with pytest.raises(
        ValueError,
        match=r"padding_mode must be one of \('zeros', 'circular'\), got 'reflect'",
    ):
        SmallCNN(kernels="torch", padding_mode="reflect")


@pytest.mark.parametrize("downsample", ["max", "avg", "blur"])
@pytest.mark.parametrize("padding_mode", ["zeros", "circular"])
def test_torch_kernels_compute_the_same_function(downsample, padding_mode):
    """kernels="torch" is the same network: state_dicts load both ways, outputs and
    gradients agree."""
    config = dict(
        widths=(4, 8, 8),
        convs_per_stage=2,
        downsample=downsample,
        padding_mode=padding_mode,
        in_channels=2,
        num_classes=5,
    )
    torch.manual_seed(0)
    ours = SmallCNN(**config)
    torch.manual_seed(0)
    theirs = SmallCNN(**config, kernels="torch")
    # the same parameter names and, seeded, the same initial values (nn.Conv2d's init
    # is ours)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    for key, value in ours.state_dict().items():
        torch.testing.assert_close(theirs.state_dict()[key], value, msg=key)
    assert any(isinstance(m, nn.Conv2d) for m in theirs.modules()) and not any(
        isinstance(m, Conv2d) for m in theirs.modules()
    )
    with (
        torch.no_grad()
    ):  # non-trivial batch-norm statistics and weights, then copy across
        for p in ours.parameters():
            p.add_(0.1 * torch.randn_like(p))
        for name, buffer in ours.named_buffers():
            if name.endswith("running_var"):
                buffer.uniform_(0.5, 2.0)
            elif name.endswith("running_mean"):
                buffer.normal_(0, 0.1)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(3, 2, 28, 28, requires_grad=True)
    for mode in ("eval", "train"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        torch.testing.assert_close(theirs(x), ours(x), atol=1e-5, rtol=1e-5)
        f_ours, f_theirs = ours.features(x), theirs.features(x)
        for key in f_ours:
            torch.testing.assert_close(
                f_theirs[key], f_ours[key], atol=1e-5, rtol=1e-5, msg=key
            )
    ours.eval(), theirs.eval()
    torch.testing.assert_close(
        torch.autograd.grad(theirs(x).sum(), x)[0],
        torch.autograd.grad(ours(x).sum(), x)[0],
        atol=1e-5,
        rtol=1e-4,
    )
    ours.load_state_dict(theirs.state_dict())  # and back


def test_blur_pool_option():
    model = SmallCNN(widths=(4, 8, 16), downsample="blur").eval()
    assert sum(isinstance(m, MaxBlurPool2d) for m in model.modules()) == 2
    assert not any(isinstance(m, MaxPool2d) for m in model.modules())
    feats = model.features(torch.randn(2, 1, 28, 28))
    assert [tuple(feats[f"stage{i}"].shape[-2:]) for i in (1, 2, 3)] == [
        (28, 28),
        (14, 14),
        (7, 7),
    ]

    # the blur pool has no parameters: the same parameter count as with max pooling
    def count(m):
        return sum(p.numel() for p in m.parameters())

    assert count(model) == count(SmallCNN(widths=(4, 8, 16)))


@pytest.mark.parametrize(
    "widths,convs,downsample", [((2, 4, 8), 2, "max"), ((3, 5), 1, "avg")]
)
def test_without_weight_sharing_it_generalises_the_convolutions(
    widths, convs, downsample
):
    """weight_sharing=False: every convolution becomes a locally connected layer.
    Given the shared filters at every position, it computes the same function, with
    H_out * W_out times each convolution's weights."""
    kw = dict(widths=widths, convs_per_stage=convs, downsample=downsample)
    torch.manual_seed(0)
    shared = SmallCNN(**kw, kernels="torch").eval()
    unshared = SmallCNN(**kw, weight_sharing=False, image_size=28).eval()
    local = dict(unshared.named_modules())
    state = shared.state_dict()
    sizes = []
    for name, conv in shared.named_modules():
        if isinstance(conv, nn.Conv2d):
            lc = local[name]
            assert isinstance(lc, LocallyConnected2d)
            sizes.append(lc.input_size)
            state[f"{name}.weight"] = LocallyConnected2d.from_conv(
                conv, lc.input_size
            ).weight
            assert lc.weight.numel() == conv.weight.numel() * lc.output_size**2
    assert sizes == [28 // 2**i for i in range(len(widths)) for _ in range(convs)]
    unshared.load_state_dict(state)  # strict: the same names otherwise
    x = torch.randn(3, 1, 28, 28)
    torch.testing.assert_close(unshared(x), shared(x), rtol=1e-4, atol=1e-5)


def test_without_weight_sharing_errors_name_what_was_expected():
    with pytest.raises(ValueError, match="zeros only, got padding_mode='circular'"):
        SmallCNN(weight_sharing=False, padding_mode="circular")
    net = SmallCNN(widths=(2, 4), weight_sharing=False, image_size=28)
    with pytest.raises(ValueError, match=r"expects images of shape \(B, 1, 28, 28\)"):
        net(torch.randn(2, 1, 32, 32))
