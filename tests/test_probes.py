"""linear_probe: a linear classifier on frozen features; pooled_stages."""

import pytest
import torch

from minimodels.cnn import SmallCNN
from minimodels.probes import linear_probe, pooled_stages


def blobs(n, d, classes, spread, seed):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, d, generator=g) * 3
    labels = torch.arange(n) % classes
    return centres[labels] + spread * torch.randn(n, d, generator=g), labels


def test_probe_reads_separable_classes_and_not_random_labels():
    x, y = blobs(600, 8, 4, 0.3, seed=0)
    assert linear_probe(x[:400], y[:400], x[400:], y[400:]) == 1.0
    # labels unrelated to the features: about chance (1 in 4) on held-out points
    g = torch.Generator().manual_seed(1)
    shuffled = y[torch.randperm(len(y), generator=g)]
    chance = linear_probe(x[:400], shuffled[:400], x[400:], shuffled[400:])
    assert 0.1 < chance < 0.45


def test_probe_ignores_the_scale_of_each_feature_and_is_deterministic():
    x, y = blobs(500, 6, 3, 1.5, seed=2)
    scale = torch.tensor([1e-3, 1.0, 50.0, 1.0, 7.0, 0.2])
    a = linear_probe(x[:300], y[:300], x[300:], y[300:])
    b = linear_probe(x[:300] * scale, y[:300], x[300:] * scale, y[300:])
    assert a == pytest.approx(b, abs=0.01)
    assert a == linear_probe(x[:300], y[:300], x[300:], y[300:])


def test_pooled_stages_average_each_stage_over_positions():
    torch.manual_seed(0)
    net = SmallCNN(widths=(4, 8), convs_per_stage=1).train()
    x = torch.rand(7, 1, 28, 28)
    pooled = pooled_stages(net, x, batch_size=3)
    assert net.training  # mode restored
    net.eval()
    with torch.no_grad():
        out = net.features(x)
    assert [p.shape for p in pooled] == [(7, 4), (7, 8)]
    torch.testing.assert_close(pooled[1], out["stage2"].mean(dim=(2, 3)))


def test_bad_input_is_explained():
    x, y = torch.zeros(5, 3), torch.zeros(5, dtype=torch.long)
    with pytest.raises(
        ValueError, match=r"training features of shape \(N, D\), got 3-D"
    ):
        linear_probe(x[None], y, x, y)
    with pytest.raises(
        ValueError, match=r"test labels of shape \(5,\), got shape \(4,\)"
    ):
        linear_probe(x, y, x, y[:4])
    with pytest.raises(ValueError, match="same width, got 3 and 2"):
        linear_probe(x, y, x[:, :2], y)
