import pytest
import torch

from minimodels.augment import random_shift


def test_each_image_is_shifted_copy_with_zero_fill():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 2, 10, 12, generator=g) + 0.1  # no zeros inside
    out = random_shift(x, 3, generator=torch.Generator().manual_seed(1))
    assert out.shape == x.shape
    for b in range(16):
        found = False
        for dy in range(-3, 4):
            for dx in range(-3, 4):
                padded = torch.nn.functional.pad(x[b], (3, 3, 3, 3))
                crop = padded[:, 3 - dy : 3 - dy + 10, 3 - dx : 3 - dx + 12]
                found |= torch.equal(crop, out[b])
        assert found, b


def test_seeded_and_identity_at_zero():
    x = torch.rand(8, 1, 28, 28)
    a = random_shift(x, 2, torch.Generator().manual_seed(5))
    b = random_shift(x, 2, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert torch.equal(random_shift(x, 0), x)
    with pytest.raises(ValueError, match="max_shift must be at least 0, got -1"):
        random_shift(x, -1)
    with pytest.raises(ValueError, match=r"expects images of shape \(B, C, H, W\)"):
        random_shift(x[0], 1)
