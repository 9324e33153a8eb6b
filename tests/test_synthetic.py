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
        assert (rows - r).abs().max() <= radius[1] and (cols - c).abs().max() <= radius[1]


def test_redrawing_a_shifted_shape_shifts_the_image():
    labels, centers, radii = torch.tensor([0, 1, 2, 3]), torch.tensor([[10, 10]] * 4), torch.tensor([4] * 4)
    base = draw_shapes(labels, centers, radii, 28)
    moved = draw_shapes(labels, centers + torch.tensor([2, 3]), radii, 28)
    assert torch.equal(torch.roll(base, shifts=(2, 3), dims=(2, 3)), moved)


def test_shapes_are_distinct():
    imgs = draw_shapes(torch.arange(4), torch.tensor([[8, 8]] * 4), torch.tensor([6] * 4), 17)
    for i in range(4):
        for j in range(i + 1, 4):
            assert not torch.equal(imgs[i], imgs[j]), (SHAPES[i], SHAPES[j])


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="needs a canvas of at least 15 pixels, got size=10"):
        make_shapes(4, seed=0, size=10, radius=(3, 7))
    with pytest.raises(ValueError, match=r"radius must be \(min, max\)"):
        make_shapes(4, seed=0, radius=(5, 2))
    with pytest.raises(ValueError, match="same length"):
        draw_shapes(torch.tensor([0, 1]), torch.tensor([[5, 5]]), torch.tensor([2, 2]), 12)
