"""Mean attention distance (Dosovitskiy et al. 2021, fig. 7) on attention patterns
whose answer is known.
"""

import itertools
import math

import pytest
import torch

from minimodels.attention_distance import (
    attention_distance,
    mean_attention_distance,
    patch_distances,
)
from minimodels.vit import ViT


def mean_pairwise_centre_distance(grid, P):
    """Independently: average over all ordered pairs of patch centres (self-pairs
    included)."""
    centres = [(P * (r + 0.5), P * (c + 0.5)) for r in range(grid) for c in range(grid)]
    pairs = list(itertools.product(centres, centres))
    return sum(math.dist(a, b) for a, b in pairs) / len(pairs)


def test_patch_distances():
    d = patch_distances(3, 4)
    assert d.shape == (9, 9)
    assert (
        d[0, 1] == 4
        and d[0, 3] == 4
        and d[0, 4] == pytest.approx(4 * math.sqrt(2))
        and d[0, 8] == pytest.approx(8 * math.sqrt(2))
    )
    assert torch.equal(d, d.T) and (d.diagonal() == 0).all()


@pytest.mark.parametrize("grid, P", [(2, 1), (3, 4), (7, 4), (4, 7)])
def test_uniform_attention_gives_the_mean_pairwise_distance(grid, P):
    N = grid * grid
    uniform = torch.full((2, 3, N, N), 1.0 / N, dtype=torch.float64)
    expected = mean_pairwise_centre_distance(grid, P)
    torch.testing.assert_close(
        attention_distance(uniform, P), torch.full((3,), expected, dtype=torch.float64)
    )
    # with a class token: whatever it receives, the patch keys are renormalised
    with_cls = torch.full((2, 3, N + 1, N + 1), 0.5 / N, dtype=torch.float64)
    with_cls[..., 0] = 0.5
    torch.testing.assert_close(
        attention_distance(with_cls, P, class_token=True),
        torch.full((3,), expected, dtype=torch.float64),
    )


def test_self_attention_gives_zero_and_neighbours_give_one_patch():
    N = 16
    eye = torch.eye(N).expand(2, 4, N, N)
    assert (attention_distance(eye, 4) == 0).all()
    # every query attends only to its right neighbour (the left one in the last column):
    # exactly P pixels
    right = torch.zeros(1, 1, N, N)
    for n in range(N):
        right[0, 0, n, n + 1 if n % 4 < 3 else n - 1] = 1.0
    torch.testing.assert_close(attention_distance(right, 4), torch.tensor([4.0]))


def test_vit_with_uniform_attention_matches_and_values_are_in_range():
    torch.manual_seed(0)
    x = torch.rand(5, 1, 28, 28)
    expected = mean_pairwise_centre_distance(7, 4)
    for readout in ("cls", "mean"):
        model = ViT(dim=16, depth=3, heads=2, mlp_dim=32, readout=readout)
        # random model: every value between 0 and the grid's diagonal
        d = mean_attention_distance(model, x, batch_size=2)
        assert (
            d.shape == (3, 2) and (d >= 0).all() and (d <= 6 * 4 * math.sqrt(2)).all()
        )
        assert model.training  # mode restored
        # zero query and key projections: every score is 0, attention is uniform
        with torch.no_grad():
            for block in model.blocks:
                block.attn.in_proj.weight[: 2 * 16].zero_()
                block.attn.in_proj.bias[: 2 * 16].zero_()
        torch.testing.assert_close(
            mean_attention_distance(model, x),
            torch.full((3, 2), expected),
            atol=1e-4,
            rtol=1e-5,
        )


def test_bad_input_is_explained():
    with pytest.raises(
        ValueError,
        match=(
            r"attention_distance expects weights of shape \(B, h, T, T\), "
            r"got shape \(2, 5, 5\)"
        ),
    ):
        attention_distance(torch.zeros(2, 5, 5), 4)
    with pytest.raises(
        ValueError, match="expects the patch tokens of a square grid, got 10 tokens"
    ):
        attention_distance(torch.zeros(1, 1, 10, 10), 4)
    with pytest.raises(
        ValueError, match="got 10 tokens \\(after dropping the class token\\)"
    ):
        attention_distance(torch.ones(1, 1, 11, 11), 4, class_token=True)
    with pytest.raises(
        ValueError,
        match=r"mean_attention_distance expects images of shape \(B, C, H, W\)",
    ):
        mean_attention_distance(ViT(depth=1), torch.zeros(28, 28))
