"""linear_probe: a linear classifier on frozen features; pooled_stages; the
ViT probes of chapter 07 (position_similarity, similarity_by_relation,
query_attention)."""

import math

import pytest
import torch
import torch.nn.functional as F

from minimodels.cnn import SmallCNN
from minimodels.probes import (
    linear_probe,
    neighbour_correlation,
    pooled_stages,
    position_similarity,
    query_attention,
    similarity_by_relation,
)
from minimodels.vit import ViT


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


def test_position_similarity_is_the_cosine_of_every_pair():
    p = torch.randn(9, 5, generator=torch.Generator().manual_seed(0))
    sim = position_similarity(p)
    assert sim.shape == (9, 9)
    for i in range(9):
        for j in range(9):
            direct = F.cosine_similarity(p[i], p[j], dim=0).item()
            assert sim[i, j].item() == pytest.approx(direct, abs=1e-6)
    # the length of an embedding does not matter, only its direction
    torch.testing.assert_close(position_similarity(p * 7.0), sim)


def test_similarity_by_relation_averages_the_right_pairs():
    side = 4
    sim = torch.randn(16, 16, generator=torch.Generator().manual_seed(1)).double()
    pairs = {"same row": [], "same column": [], "neighbours": [], "far": []}
    for i in range(16):
        for j in range(16):
            (ri, ci), (rj, cj) = divmod(i, side), divmod(j, side)
            if i == j:
                continue
            if ri == rj:
                pairs["same row"].append(sim[i, j].item())
            if ci == cj:
                pairs["same column"].append(sim[i, j].item())
            if abs(ri - rj) + abs(ci - cj) == 1:
                pairs["neighbours"].append(sim[i, j].item())
            if math.hypot(ri - rj, ci - cj) >= 3:
                pairs["far"].append(sim[i, j].item())
    got = similarity_by_relation(sim)
    assert set(got) == set(pairs)
    # 4 rows of 4 x 3 ordered pairs; 24 edges of the grid, both ways; the far pairs
    assert [len(pairs[k]) for k in pairs] == [48, 48, 48, 60]
    for name, values in pairs.items():
        assert got[name] == pytest.approx(sum(values) / len(values), abs=1e-12)


def test_neighbour_correlation_pairs_each_weight_with_its_right_and_lower_neighbour():
    w = torch.randn(6, 2, 5, 5, generator=torch.Generator().manual_seed(2))
    first, second = [], []
    for d in range(6):
        for c in range(2):
            for i in range(5):
                for j in range(5):
                    for di, dj in ((0, 1), (1, 0)):
                        if i + di < 5 and j + dj < 5:
                            first.append(w[d, c, i, j].item())
                            second.append(w[d, c, i + di, j + dj].item())
    direct = torch.corrcoef(torch.tensor([first, second], dtype=torch.float64))
    assert neighbour_correlation(w) == pytest.approx(direct[0, 1].item(), abs=1e-9)
    # independent weights: about 0; a smooth ramp: 1
    assert abs(neighbour_correlation(torch.randn(200, 1, 7, 7))) < 0.05
    ramp = torch.arange(7.0)[:, None] + torch.arange(7.0)[None, :]  # (7, 7)
    assert neighbour_correlation(ramp.expand(3, 1, 7, 7)) > 0.9


def test_query_attention_is_one_row_of_the_weights_averaged_over_heads():
    torch.manual_seed(0)
    images = torch.rand(3, 1, 28, 28)
    mean_model = ViT(patch_size=7, dim=16, depth=2, heads=4, mlp_dim=32, readout="mean")
    mean_model.train()
    rows = query_attention(mean_model, images, query=5)
    assert mean_model.training  # mode restored
    assert rows.shape == (2, 3, 16)
    mean_model.eval()
    with torch.no_grad():
        weights = mean_model.features(images)["attention"]
    for block, w in enumerate(weights):
        torch.testing.assert_close(rows[block], w[:, :, 5].mean(dim=1))
    torch.testing.assert_close(rows.sum(-1), torch.ones(2, 3))
    # with a class token: query 5 is token 6; the class key is dropped and the rest
    # renormalised
    cls_model = ViT(patch_size=7, dim=16, depth=2, heads=4, mlp_dim=32).eval()
    rows = query_attention(cls_model, images, query=5)
    with torch.no_grad():
        weights = cls_model.features(images)["attention"]
    for block, w in enumerate(weights):
        direct = w[:, :, 6, 1:].mean(dim=1)
        torch.testing.assert_close(rows[block], direct / direct.sum(-1, keepdim=True))


def test_bad_input_to_the_vit_probes_is_explained():
    with pytest.raises(
        ValueError, match=r"embeddings of shape \(N, D\), got 3-D input of shape"
    ):
        position_similarity(torch.zeros(1, 16, 8))
    with pytest.raises(ValueError, match=r"square \(N, N\).*got shape \(4, 5\)"):
        similarity_by_relation(torch.zeros(4, 5))
    with pytest.raises(ValueError, match="got N = 12, not a square number"):
        similarity_by_relation(torch.zeros(12, 12))
    with pytest.raises(ValueError, match="no pairs for 'far'"):
        similarity_by_relation(torch.zeros(4, 4))  # a 2 x 2 grid
    with pytest.raises(
        ValueError, match=r"filters of shape \(D, C, k, k\) with k >= 2, got shape"
    ):
        neighbour_correlation(torch.zeros(4, 3, 3))
    model = ViT(patch_size=7, dim=16, depth=1, heads=2, mlp_dim=32)
    with pytest.raises(ValueError, match=r"patch index in \[0, 16\), got 16"):
        query_attention(model, torch.zeros(1, 1, 28, 28), query=16)
