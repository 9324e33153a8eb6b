"""Corruptions: seeded and reproducible, gaussian_blur against torchvision, clear
errors.
"""

import math

import pytest
import torch
from torchvision.transforms.functional import gaussian_blur as tv_gaussian_blur

from minimodels.corruptions import (
    gaussian_blur,
    gaussian_kernel1d,
    gaussian_noise,
    occlude_patches,
    random_patch_subsets,
)


def images(B=4, C=1, H=28, W=28, seed=0):
    return torch.rand(B, C, H, W, generator=torch.Generator().manual_seed(seed))


def test_gaussian_noise_is_seeded_clipped_and_of_the_right_size():
    x = images(8)
    a, b, c = (
        gaussian_noise(x, 0.2, seed=1),
        gaussian_noise(x, 0.2, seed=1),
        gaussian_noise(x, 0.2, seed=2),
    )
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() <= 1 and a.shape == x.shape
    torch.testing.assert_close(gaussian_noise(x, 0.0), x)
    # away from the clipping bounds the added noise has standard deviation sigma
    mid = torch.full((16, 1, 28, 28), 0.5)
    assert abs((gaussian_noise(mid, 0.05, seed=3) - mid).std().item() - 0.05) < 0.002
    # its own generator: the global random state is untouched
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    gaussian_noise(x, 0.1, seed=5)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("sigma", [0.3, 0.5, 1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("shape", [(2, 1, 28, 28), (3, 3, 32, 20), (1, 2, 11, 13)])
def test_gaussian_blur_matches_torchvision(sigma, shape):
    x = torch.rand(
        shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    radius = math.ceil(3 * sigma)
    if radius >= min(shape[-2:]):
        pytest.skip("radius too large for reflect padding")
    ours = gaussian_blur(x, sigma)
    theirs = tv_gaussian_blur(x, kernel_size=[2 * radius + 1] * 2, sigma=[sigma, sigma])
    assert ours.shape == x.shape
    torch.testing.assert_close(ours, theirs)


def test_gaussian_blur_properties():
    x = images()
    assert gaussian_blur(x, 0) is x
    k = gaussian_kernel1d(1.0)
    assert (
        len(k) == 7
        and torch.isclose(k.sum(), torch.tensor(1.0))
        and torch.equal(k, k.flip(0))
    )
    assert len(gaussian_kernel1d(0.34)) == 5  # radius ceil(1.02) = 2
    torch.testing.assert_close(
        gaussian_blur(torch.full((1, 1, 9, 9), 0.3), 1.0), torch.full((1, 1, 9, 9), 0.3)
    )
    # more blur, less detail: the image's variance falls with sigma
    variances = [gaussian_blur(x, s).var().item() for s in (0, 0.5, 1, 2)]
    assert variances == sorted(variances, reverse=True)
    # gradients flow
    x.requires_grad_(True)
    gaussian_blur(x, 1.0).sum().backward()
    assert x.grad is not None


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 0.5, 0.9, 1.0])
def test_occlude_patches_zeroes_whole_patches(fraction):
    x = images(5) + 0.1  # no zeros inside
    out = occlude_patches(x, fraction, patch_size=4, seed=0)
    patch_is_zero = (out.view(5, 1, 7, 4, 7, 4) == 0).all(dim=(1, 3, 5))  # (B, 7, 7)
    patch_is_kept = (out.view(5, 1, 7, 4, 7, 4) == x.view(5, 1, 7, 4, 7, 4)).all(
        dim=(1, 3, 5)
    )
    assert (
        patch_is_zero ^ patch_is_kept
    ).all()  # each patch is either untouched or fully black
    assert (patch_is_zero.sum(dim=(1, 2)) == math.floor(fraction * 49 + 0.5)).all()
    if 0 < fraction < 1:  # each image its own random set
        assert len({tuple(m.flatten().tolist()) for m in patch_is_zero}) == 5


def test_occlude_patches_is_seeded_and_works_per_channel():
    x = images(3, C=3, H=8, W=12)
    assert torch.equal(
        occlude_patches(x, 0.5, 2, seed=4), occlude_patches(x, 0.5, 2, seed=4)
    )
    assert not torch.equal(
        occlude_patches(x, 0.5, 2, seed=4), occlude_patches(x, 0.5, 2, seed=5)
    )
    out = occlude_patches(x, 0.5, 2, seed=4)
    assert torch.equal(
        out == 0, (out == 0)[:, :1].expand_as(out)
    )  # the same pixels in every channel


def test_random_patch_subsets():
    keep = random_patch_subsets(6, 49, 0.5, seed=0)
    assert keep.shape == (6, 25) and keep.dtype == torch.int64
    assert all(
        len(set(row.tolist())) == 25 and row.min() >= 0 and row.max() < 49
        for row in keep
    )
    assert torch.equal(keep, keep.sort(dim=1).values)
    assert torch.equal(keep, random_patch_subsets(6, 49, 0.5, seed=0))
    assert not torch.equal(keep, random_patch_subsets(6, 49, 0.5, seed=1))
    assert torch.equal(random_patch_subsets(2, 16, 1.0), torch.arange(16).expand(2, 16))
    assert random_patch_subsets(2, 16, 0.0).shape == (
        2,
        1,
    )  # at least one token survives


def test_bad_input_is_explained():
    x = images()
    with pytest.raises(
        ValueError, match=r"occlude_patches: fraction must be between 0 and 1, got 1.5"
    ):
        occlude_patches(x, 1.5)
    with pytest.raises(
        ValueError,
        match=r"random_patch_subsets: keep_fraction must be between 0 and 1, got -0.1",
    ):
        random_patch_subsets(2, 49, -0.1)
    with pytest.raises(
        ValueError,
        match=(
            r"occlude_patches: image size 28x28 is not divisible by patch size 5 "
            r"\(remainder 3x3\)"
        ),
    ):
        occlude_patches(x, 0.5, patch_size=5)
    with pytest.raises(
        ValueError,
        match=r"gaussian_noise expects images of shape \(B, C, H, W\), got 3-D input",
    ):
        gaussian_noise(x[0], 0.1)
    with pytest.raises(
        ValueError, match="gaussian_noise: sigma must be at least 0, got -1"
    ):
        gaussian_noise(x, -1)
    with pytest.raises(
        ValueError,
        match=(
            "gaussian_blur: sigma 10 needs a kernel radius "
            "of ceil\\(3 sigma\\) = 30 pixels"
        ),
    ):
        gaussian_blur(x, 10)
    with pytest.raises(
        ValueError, match=r"gaussian_blur expects images of shape \(B, C, H, W\)"
    ):
        gaussian_blur(x[0, 0], 1.0)
