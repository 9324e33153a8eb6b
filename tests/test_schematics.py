"""The schematics (minimodels.schematics) render, read their numbers from the models,
keep every label legible (no two overlap, none under 9 pt, each inside its box) and
refuse wrong input with a message that says what was expected and what came.
"""

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

from minimodels import schematics  # noqa: E402
from minimodels.cnn import SmallCNN  # noqa: E402
from minimodels.recipes import build  # noqa: E402
from minimodels.vit import ViT  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def drawings():
    """Every drawing in its default form, and a few variants, by name."""
    return {
        "small_cnn": lambda: schematics.draw_small_cnn(build("cnn").model),
        "small_cnn_blur": lambda: schematics.draw_small_cnn(
            SmallCNN(widths=(4, 8), downsample="blur", batch_norm=False)
        ),
        "vit": lambda: schematics.draw_vit(build("vit").model),
        "vit_cls_sincos": lambda: schematics.draw_vit(
            ViT(readout="cls", pos_embedding="sincos")
        ),
        "hybrid": lambda: schematics.draw_vit(build("hybrid-small").model),
        "block": lambda: schematics.draw_transformer_block(),
        "block_post_norm": lambda: schematics.draw_transformer_block(norm_first=False),
        "im2col": lambda: schematics.draw_im2col(),
        "im2col_stride_2": lambda: schematics.draw_im2col(5, 3, 2),
        "qkv": lambda: schematics.draw_qkv(),
    }


@pytest.mark.parametrize("name", list(drawings()))
def test_labels_are_legible(name):
    """On a book page: 6-10 inches wide, fonts of 9 pt or more, no two labels
    overlapping, every label inside the figure and inside the box it sits in."""
    fig = drawings()[name]()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.get_size_inches()
    assert 6 <= width <= 10 and height <= 7, (width, height)
    figure_box = fig.bbox
    labels = [t for ax in fig.axes for t in ax.texts if t.get_text().strip()]
    boxes = [
        p.get_window_extent(renderer)
        for ax in fig.axes
        for p in ax.patches
        if not isinstance(p, FancyArrowPatch)
    ]
    extents = []
    for t in labels:
        assert t.get_fontsize() >= 9, (t.get_text(), t.get_fontsize())
        box = t.get_window_extent(renderer)
        assert figure_box.contains(box.x0, box.y0), t.get_text()
        assert figure_box.contains(box.x1, box.y1), t.get_text()
        # the box a label sits in: of the patches around its anchor, the one
        # centred nearest to it
        anchor = t.get_transform().transform(t.get_position())
        around = [b for b in boxes if b.contains(*anchor)]
        if around:
            home = min(
                around,
                key=lambda b: (
                    (b.x0 + b.x1 - 2 * anchor[0]) ** 2
                    + (b.y0 + b.y1 - 2 * anchor[1]) ** 2
                ),
            )
            assert (
                home.x0 - 1 <= box.x0
                and box.x1 <= home.x1 + 1
                and home.y0 - 1 <= box.y0
                and box.y1 <= home.y1 + 1
            ), f"{t.get_text()!r} sticks out of its box"
        extents.append((t.get_text(), box.shrunk(0.99, 0.99)))
    for (a, box_a), (b, box_b) in itertools.combinations(extents, 2):
        assert not box_a.overlaps(box_b), f"{a!r} overlaps {b!r}"


# ---------------------------------------------------------------------------
# SmallCNN
# ---------------------------------------------------------------------------
def test_small_cnn_reads_widths_depth_and_shapes_from_the_model():
    fig = schematics.draw_small_cnn(SmallCNN(widths=(4, 8), convs_per_stage=1))
    fig.canvas.draw()
    labels = texts(fig)
    assert [s for s in labels if s.startswith("conv")] == [
        "conv 3×3, 4 ch",
        "conv 3×3, 8 ch",
    ]
    for shape in ["(1, 28, 28)", "(4, 28, 28)", "(8, 14, 14)", "(8,)", "(10,)"]:
        assert shape in labels, shape
    assert "linear\n8 → 10" in labels
    assert labels.count("max pool 2×2") == 1  # between the two stages only
    assert "stage 3" not in labels


def test_small_cnn_follows_convs_per_stage_kernel_and_image_size():
    model = SmallCNN(widths=(4, 8, 16), convs_per_stage=2, kernel_size=5)
    labels = texts(schematics.draw_small_cnn(model, image_size=32))
    assert sum(s.startswith("conv 5×5") for s in labels) == 6
    assert labels.count("batch norm") == 6 and labels.count("ReLU") == 6
    assert {"(16, 8, 8)", "stage 3"} <= set(labels)


def test_drawing_leaves_the_model_as_it_was():
    model = build("cnn").model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    schematics.draw_small_cnn(model)
    assert model.training
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN statistics too


def test_draws_into_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2, figsize=(18, 4))
    assert schematics.draw_small_cnn(SmallCNN(widths=(4, 8)), ax=left) is fig
    assert schematics.draw_qkv(ax=right) is fig
    assert left.texts and right.texts


# ---------------------------------------------------------------------------
# ViT and its block
# ---------------------------------------------------------------------------
def test_vit_reads_patch_tokens_width_depth_heads_and_readout():
    fig = schematics.draw_vit(ViT(patch_size=7, dim=32, depth=3, heads=2))
    text = "\n".join(texts(fig))
    for number in ["$P = 7$", "$N = 16$", "$D = 32$", "$L = 3$", "$h = 2$"]:
        assert number in text, number
    assert "+ class\ntoken" in text and "take the\nclass token" in text
    assert "(16, 49)" in text and "(17, 32)" in text  # patches; tokens + class token

    text = "\n".join(texts(schematics.draw_vit(build("vit").model)))
    assert "class" not in text and "mean over\ntokens" in text
    assert "$L = 4$" in text and "(16, 64)" in text and "(learned)" in text


def test_vit_shows_a_fixed_table_and_a_convolutional_stem():
    text = "\n".join(texts(schematics.draw_vit(ViT(pos_embedding="sincos"))))
    assert "(sin-cos)" in text
    text = "\n".join(texts(schematics.draw_vit(ViT(pos_embedding="none"))))
    assert "position" not in text
    text = "\n".join(texts(schematics.draw_vit(build("hybrid-small").model)))
    assert "ConvStem" in text and "cut into" not in text and "$N = 49$" in text


def _box_labels(fig) -> list[str]:
    """The labels of the block's steps, left to right."""
    ax = fig.axes[0]
    names = ("LayerNorm", "attention", "Linear", "GELU", "+")
    steps = [
        t
        for t in ax.texts
        if t.get_ha() == "center" and any(n in t.get_text() for n in names)
    ]  # not the title above
    return [
        t.get_text().split("\n")[-2 if "attention" in t.get_text() else 0]
        for t in sorted(steps, key=lambda t: t.get_position()[0])
    ]


def test_transformer_block_orders_norms_before_or_after():
    pre = _box_labels(schematics.draw_transformer_block())
    assert pre == ["LayerNorm", "attention", "+", "LayerNorm"] + [
        "Linear",
        "GELU",
        "Linear",
        "+",
    ]
    post = _box_labels(schematics.draw_transformer_block(norm_first=False))
    assert post == ["attention", "+", "LayerNorm", "Linear", "GELU", "Linear", "+"] + [
        "LayerNorm"
    ]


# ---------------------------------------------------------------------------
# im2col and attention
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("size, k, s", [(4, 3, 1), (5, 3, 2), (4, 2, 2)])
def test_im2col_matrix_is_f_unfold(size, k, s):
    """The drawn matrix, read column by column off the figure, is F.unfold's."""
    fig = schematics.draw_im2col(size, k, s)
    labels = texts(fig)
    assert any(f"$k = {k}$, $s = {s}$" in t for t in labels)
    ax = fig.axes[0]
    numbers: dict[float, list] = {}
    for t in ax.texts:
        if t.get_text().isdigit():
            x, y = t.get_position()
            numbers.setdefault(round(x, 3), []).append((-y, int(t.get_text())))
    columns = [[v for _, v in sorted(col)] for _, col in sorted(numbers.items())]
    pixels = torch.arange(size * size, dtype=torch.float32).view(1, 1, size, size)
    expected = F.unfold(pixels, k, stride=s)[0].long().T.tolist()  # (windows, k*k)
    assert columns[size:] == expected  # after the image's own columns of pixels
    windows = len(expected)
    assert sum(t.startswith("$w_") for t in labels) == k * k
    assert sum(t.startswith("$y_") for t in labels) == 2 * windows  # row and image


def test_qkv_draws_one_row_per_token():
    fig = schematics.draw_qkv(tokens=3)
    labels = texts(fig)
    for label in ["$X$", "$Q = XW_Q$", "$K = XW_K$", "$V = XW_V$", "$S$ (scores)"]:
        assert label in labels, label
    assert "$QK^\\top/\\sqrt{d}$" in labels and "$N \\times N$" in labels
    fill = schematics.KINDS["data"][0]
    cells = [
        p
        for p in fig.axes[0].patches
        if type(p).__name__ == "Rectangle"
        and matplotlib.colors.same_color(p.get_facecolor(), fill)
    ]
    n = 3  # X (N x 6), Q K V (N x 3 each), S and A (N x N), output (N x 3)
    assert len(cells) == 6 * n + 9 * n + 2 * n * n + 3 * n


# ---------------------------------------------------------------------------
# Input checks at the door
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: schematics.draw_small_cnn(ViT()),
            TypeError,
            "draw_small_cnn expects a SmallCNN, got ViT",
        ),
        (
            lambda: schematics.draw_vit(SmallCNN()),
            TypeError,
            "draw_vit expects a ViT, got SmallCNN",
        ),
        (
            lambda: schematics.draw_vit(ViT(), image_size=32),
            ValueError,
            "built for 28 x 28 images.*got image_size=32",
        ),
        (
            lambda: schematics.draw_small_cnn(SmallCNN(), image_size=0),
            ValueError,
            "image_size must be at least 1, got 0",
        ),
        (
            lambda: schematics.draw_im2col(image_size=4, kernel_size=5),
            ValueError,
            "kernel_size 5 is larger than image_size 4",
        ),
        (
            lambda: schematics.draw_im2col(stride=0),
            ValueError,
            "stride must be at least 1, got 0",
        ),
        (
            lambda: schematics.draw_im2col(image_size=4.0),
            TypeError,
            "image_size must be an int, got float",
        ),
        (
            lambda: schematics.draw_im2col(image_size=12),
            ValueError,
            "100 windows of 9 pixels: too many",
        ),
        (
            lambda: schematics.draw_qkv(tokens=9),
            ValueError,
            "at most 8 tokens, got 9",
        ),
        (
            lambda: schematics.draw_transformer_block(norm_first="yes"),
            TypeError,
            "norm_first must be True or False, got str",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, error, message):
    with pytest.raises(error, match=message):
        call()
    assert not plt.get_fignums()  # refused before a figure was made
