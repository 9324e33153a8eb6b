import pytest
import torch

from minimodels.synthetic import SHAPES, draw_shapes, make_shapes


def test_same_seed_same_images_other_seed_other_images():
    a, b, c = make_shapes(64, seed=3), make_shapes(64, seed=3), make_shapes(64, seed=4)
    for ta, tb in zip(a.tensors, b.tensors):
        assert torch.equal(ta, tb)
    assert not torch.equal(a.tensors[0], c.tensors[0])


@pytest.mark.parametrize("size,radius", [(28, (3, 7)), (32, (2, 5)), (16, (1, 3))])
def test_shapes_fit_on_canvas_and_labels_are_balanced(size, radius):
    images, labels, centers = make_shapes(400, seed=0, size=size, radius=radius).tensors
    assert images.shape == (400, 1, size, size) and images.dtype == torch.float32
    assert torch.bincount(labels, minlength=len(SHAPES)).tolist() == [100] * len(SHAPES)
    assert set(images.unique().tolist()) == {0.0, 1.0}
    assert (images.sum((1, 2, 3)) > 0).all()  # every image has ink
    # ink sits inside the square of side 2r+1 around the centre
    for img, (r, c) in zip(images[:50, 0], centers[:50]):
        rows, cols = torch.nonzero(img, as_tuple=True)
        assert (rows - r).abs().max() <= radius[1] and (cols - c).abs().max() <= radius[
            1
        ]


def test_redrawing_a_shifted_shape_shifts_the_image():
    labels, centers, radii = (
        torch.tensor([0, 1, 2, 3]),
        torch.tensor([[10, 10]] * 4),
        torch.tensor([4] * 4),
    )
    base = draw_shapes(labels, centers, radii, 28)
    moved = draw_shapes(labels, centers + torch.tensor([2, 3]), radii, 28)
    assert torch.equal(torch.roll(base, shifts=(2, 3), dims=(2, 3)), moved)


def test_shapes_are_distinct():
    imgs = draw_shapes(
        torch.arange(4), torch.tensor([[8, 8]] * 4), torch.tensor([6] * 4), 17
    )
    for i in range(4):
        for j in range(i + 1, 4):
            assert not torch.equal(imgs[i], imgs[j]), (SHAPES[i], SHAPES[j])


def test_bad_arguments_are_explained():
    with pytest.raises(
        ValueError, match="needs a canvas of at least 15 pixels, got size=10"
    ):
        make_shapes(4, seed=0, size=10, radius=(3, 7))
    with pytest.raises(ValueError, match=r"radius must be \(min, max\)"):
        make_shapes(4, seed=0, radius=(5, 2))
    with pytest.raises(ValueError, match="same length"):
        draw_shapes(
            torch.tensor([0, 1]), torch.tensor([[5, 5]]), torch.tensor([2, 2]), 12
        )


def test_diagonal_pairs_shapes_labels_and_layout():
    from minimodels.synthetic import make_diagonal_pairs

    images, labels = make_diagonal_pairs(200, seed=0).tensors
    assert images.shape == (200, 1, 28, 28) and images.dtype == torch.float32
    assert set(labels.tolist()) == {0, 1} and abs(int(labels.sum()) - 100) <= 1
    quadrants = images.unfold(2, 14, 14).unfold(3, 14, 14)  # (B, 1, 2, 2, 14, 14)
    assert (quadrants.sum(dim=(-2, -1)) > 0).all()  # one shape in every quadrant
    assert (
        images[..., 0, :].sum() == 0 and images[..., :, 0].sum() == 0
    )  # never touching the border
    assert torch.equal(images, make_diagonal_pairs(200, seed=0).tensors[0])
    assert not torch.equal(images, make_diagonal_pairs(200, seed=1).tensors[0])


def test_diagonal_pairs_errors():
    from minimodels.synthetic import make_diagonal_pairs

    with pytest.raises(ValueError, match="size must be even"):
        make_diagonal_pairs(4, seed=0, size=27)
    with pytest.raises(ValueError, match="radius"):
        make_diagonal_pairs(4, seed=0, radius=(3, 6))
    with pytest.raises(ValueError, match="n must be at least 1"):
        make_diagonal_pairs(0, seed=0)
