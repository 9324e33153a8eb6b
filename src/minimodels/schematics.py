"""Schematics drawn from the models themselves, so they never fall out of step.

Used in chapters 02 (:func:`draw_im2col`), 04 (:func:`draw_small_cnn`), 06
(:func:`draw_qkv`) and 07 (:func:`draw_vit`, :func:`draw_transformer_block`).

Every number in a drawing is read from a model or computed by it: the SmallCNN's
shapes come from a zeros image sent through its own modules, the ViT's P, N, D, L and
h from its attributes, the im2col matrix from ``F.unfold`` itself. Change a width or
a depth and the drawing changes with it.

One visual language for all of them (:data:`KINDS`): each kind of thing has one
colour from Okabe & Ito's (2008) palette, distinct under the common colour-vision
deficiencies. Tensors (data) are blue, layers with learned parameters orange,
fixed operations (no parameters) grey; arrows show the flow. Each function takes an
optional ``ax`` and returns the Figure. Without one it makes a figure whose data
units are inches, so the fonts (9-10 pt) keep their size on the page.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.textpath import TextToPath
from torch import nn

from .cnn import SmallCNN
from .patches import PatchEmbedding, patchify
from .shapes import format_shape
from .train import eval_mode
from .vit import ViT

__all__ = [
    "KINDS",
    "draw_im2col",
    "draw_small_cnn",
    "draw_qkv",
    "draw_vit",
    "draw_transformer_block",
]

# kind: (fill, edge, legend). A pale fill to write on, the palette colour for the edge.
KINDS = {
    "data": ("#D4ECFA", "#0072B2", "tensor (data)"),
    "learned": ("#FCE4B0", "#E69F00", "learned layer (has parameters)"),
    "fixed": ("#E6E6E6", "#666666", "fixed operation (no parameters)"),
}
# Outlines that pick out windows in draw_im2col: the rest of the palette, each with
# its own line style as well, so colour is never the only cue.
HIGHLIGHTS = (("#D55E00", "-"), ("#CC79A7", "--"), ("#009E73", ":"))
FONT, SMALL = 10, 9  # points: box labels; shapes, notes and legend
INK = "#222222"  # arrows and plain text


# ---------------------------------------------------------------------------
# The visual language: boxes, arrows, legend
# ---------------------------------------------------------------------------
def _axes(ax, width: float, height: float):
    """``(figure, axes)`` with data coordinates ``[0, width] x [0, height]``.

    Without ``ax``: a new figure ``width`` x ``height`` inches, one data unit an inch.
    Never narrower than the legend every drawing ends with.
    """
    width = max(width, _legend_width() + 0.5)
    if ax is None:
        fig = plt.figure(figsize=(width, height))
        ax = fig.add_axes((0, 0, 1, 1))
    fig = ax.figure
    fig = getattr(fig, "figure", fig)  # the root figure, also from a subfigure
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def _kind(module: nn.Module) -> str:
    """A layer is "learned" if it has parameters, else a "fixed" operation."""
    return "learned" if next(module.parameters(), None) is not None else "fixed"


def _label(ax, x, y, text, *, ha="center", va="center", size=SMALL, **kwargs):
    """Plain text: shapes, names, notes."""
    ax.text(x, y, text, ha=ha, va=va, fontsize=size, color=INK, **kwargs)


def _box(ax, x, y, w, h, text, kind, *, size=FONT):
    """A rounded box of ``kind`` centred at ``(x, y)``, ``text`` in its middle."""
    fill, edge, _ = KINDS[kind]
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.06",
            facecolor=fill,
            edgecolor=edge,
            linewidth=1.5,
        )
    )
    if text:
        _label(ax, x, y, text, size=size)


def _add(ax, x, y, r=0.14):
    """The "+" of a residual connection: a fixed operation."""
    fill, edge, _ = KINDS["fixed"]
    ax.add_patch(Circle((x, y), r, facecolor=fill, edgecolor=edge, linewidth=1.5))
    _label(ax, x, y, "+", size=FONT + 2)


def _arrow(ax, start, end, **kwargs):
    """An arrow from ``start`` to ``end`` (points on the edges of the boxes)."""
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=12,
            linewidth=1.3,
            color=INK,
            shrinkA=0,
            shrinkB=0,
            **kwargs,
        )
    )


def _grid(ax, x0, y0, rows, cols, cell, kind, values=None, *, size=SMALL):
    """A matrix of ``rows`` x ``cols`` cells, lower-left corner at ``(x0, y0)``.

    ``values[i][j]`` (optional) is written in cell ``(i, j)``, row 0 at the top.
    """
    fill, edge, _ = KINDS[kind]
    for i in range(rows):
        for j in range(cols):
            x, y = x0 + j * cell, y0 + (rows - 1 - i) * cell
            ax.add_patch(
                Rectangle(
                    (x, y), cell, cell, facecolor=fill, edgecolor=edge, linewidth=0.8
                )
            )
            if values is not None:
                _label(ax, x + cell / 2, y + cell / 2, values[i][j], size=size)


def _text_width(text: str, size: float = SMALL) -> float:
    """Width in inches of ``text`` (its longest line) at ``size`` points."""
    measure = TextToPath()
    widths = [
        measure.get_text_width_height_descent(
            line, FontProperties(size=size), ismath="$" in line
        )[0]
        for line in text.split("\n")
    ]
    return float(max(widths)) / 72


def _fit(text: str, size: float = SMALL) -> float:
    """Width of a box that holds ``text`` with a margin, in inches."""
    return max(0.6, _text_width(text, size) + 0.2)


STACK = 0.08  # offset of the cards behind a repeated block


def _row(ax, steps, x, y, h, space, *, stacked=(), size=SMALL) -> list[float]:
    """Boxes ``(text, kind)`` from ``x`` rightwards, an arrow into each but the first.

    Each box is as wide as its text (:func:`_fit`); the steps whose index is in
    ``stacked`` get two cards behind them (a block repeated L times). Returns the
    centres of the boxes.
    """
    centres, start = [], None
    for i, (text, kind) in enumerate(steps):
        w = _fit(text, size)
        if start is not None:
            _arrow(ax, (start, y), (x, y))
        if i in stacked:
            for d in (STACK, STACK / 2):
                _box(ax, x + w / 2 + d, y + d, w, h, "", kind)
        _box(ax, x + w / 2, y, w, h, text, kind, size=size)
        centres.append(x + w / 2)
        start = x + w + (STACK if i in stacked else 0)
        x = start + space
    return centres


def _frame(ax, x, y, w, h, title, title_y):
    """A dashed frame around a group of layers; ``title`` above it, at ``title_y``."""
    ax.add_patch(
        FancyBboxPatch(
            (x, y),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor="none",
            edgecolor="#999999",
            linewidth=1.0,
            linestyle="--",
        )
    )
    _label(ax, x + w / 2, title_y, title, va="bottom", size=FONT, fontweight="bold")


def _legend_width() -> float:
    return sum(0.5 + _text_width(label) + 0.35 for *_, label in KINDS.values()) - 0.35


def _legend(ax, x, y):
    """The three kinds as swatches in a row from ``(x, y)``."""
    for fill, edge, label in KINDS.values():
        ax.add_patch(
            FancyBboxPatch(
                (x, y - 0.1),
                0.3,
                0.2,
                boxstyle="round,pad=0,rounding_size=0.04",
                facecolor=fill,
                edgecolor=edge,
                linewidth=1.5,
            )
        )
        _label(ax, x + 0.4, y, label, ha="left")
        x += 0.5 + _text_width(label) + 0.35


def _check_int(value, name: str, caller: str, low: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{caller}: {name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{caller}: {name} must be at least {low}, got {value}")


# ---------------------------------------------------------------------------
# Chapter 02: im2col
# ---------------------------------------------------------------------------
def _outline(ax, x0, y0, w, h, highlight, inset):
    """A highlight's outline around a block of cells, ``inset`` inside its edge."""
    colour, style = highlight
    ax.add_patch(
        Rectangle(
            (x0 + inset, y0 + inset),
            w - 2 * inset,
            h - 2 * inset,
            facecolor="none",
            edgecolor=colour,
            linestyle=style,
            linewidth=2.0,
            zorder=3,
        )
    )


def draw_im2col(
    image_size: int = 4, kernel_size: int = 3, stride: int = 1, ax=None
) -> Figure:
    """im2col on a single-channel ``image_size`` x ``image_size`` image.

    The pixels are numbered row by row; every k x k window (stride s, no padding)
    becomes a column of a matrix with k^2 rows, laid out exactly as ``F.unfold``
    does it (the matrix *is* ``F.unfold`` of the numbered image). The kernel,
    flattened to a row, times that matrix gives the output, one number per window;
    reshaped, it is the output image. Up to three windows, their columns and their
    outputs are outlined in matching colours and line styles.
    """
    for name, value in (
        ("image_size", image_size),
        ("kernel_size", kernel_size),
        ("stride", stride),
    ):
        _check_int(value, name, "draw_im2col")
    if kernel_size > image_size:
        raise ValueError(
            f"draw_im2col: kernel_size {kernel_size} is larger than "
            f"image_size {image_size}"
        )
    k, s, side = kernel_size, stride, image_size
    out_side = (side - k) // s + 1  # conv_output_size with no padding
    windows = out_side**2
    pixels = torch.arange(side * side, dtype=torch.float32).view(1, 1, side, side)
    columns = F.unfold(pixels, k, stride=s)[0].long()  # (k*k, windows)
    op_w = _fit("F.unfold")

    def layout(c: float) -> dict[str, float]:
        """Where everything goes with cells of side ``c`` inches.

        Left to right: the image above the kernel row, F.unfold, the matrix, "=",
        the output row, an arrow, the output image. Bottom to top: the legend, the
        matrix (its middle row holds the kernel row, the output row and image), the
        image above the kernel row, the title.
        """
        at = {"x_mat": 0.25 + max(k * k * c + c, side * c + 0.6 + op_w)}
        at["x_out"] = at["x_mat"] + windows * c + c
        at["x_grid"] = at["x_out"] + windows * c + max(2.5 * c, 0.6)
        at["width"] = at["x_grid"] + out_side * c + 0.25
        # the labels under the matrix and the kernel row must not meet
        at["mid"] = max(0.95 + k * k * c / 2, 0.95 + c / 2 + 0.3)
        at["mat_y"] = at["mid"] - k * k * c / 2
        at["img_y"] = at["mid"] + c / 2 + 0.45
        at["top"] = max(at["img_y"] + side * c, at["mat_y"] + k * k * c) + 0.35
        at["height"] = at["top"] + 0.65
        return at

    # The largest cells, up to 0.36 in, that fit 10 x 6.6 inches; below 0.27 in
    # two digits no longer fit a cell.
    fits = [
        c / 100
        for c in range(36, 26, -1)
        if layout(c / 100)["width"] <= 10 and layout(c / 100)["height"] <= 6.6
    ]
    if not fits:
        raise ValueError(
            f"draw_im2col draws every window: image_size={side}, kernel_size={k}, "
            f"stride={s} give {windows} windows of {k * k} pixels: too many to draw "
            "legibly on a page; try a smaller image_size or kernel_size, or a "
            "larger stride"
        )
    c = fits[0]
    at = layout(c)
    x_mat, x_out, x_grid = at["x_mat"], at["x_out"], at["x_grid"]
    mat_y, mid, img_y, top = at["mat_y"], at["mid"], at["img_y"], at["top"]
    picks = sorted({0, min(1, windows - 1), windows - 1})[: len(HIGHLIGHTS)]

    fig, ax = _axes(ax, at["width"], at["height"])
    _label(
        ax,
        0.25,
        top + 0.3,
        f"im2col with $k = {k}$, $s = {s}$: every $k \\times k$ window becomes a "
        "column;\nthe kernel as a row times the columns gives every output at once",
        ha="left",
        size=FONT,
    )
    x_img = x_row = 0.25

    # The image, its windows outlined.
    values = [[str(i * side + j) for j in range(side)] for i in range(side)]
    _grid(ax, x_img, img_y, side, side, c, "data", values)
    title = f"image, {side} × {side}, pixels numbered"
    _label(ax, x_img, img_y + side * c + 0.12, title, ha="left", va="bottom")
    for n, j in enumerate(picks):
        r, q = divmod(j, out_side)  # the window's row and column among windows
        x0, y0 = x_img + q * s * c, img_y + (side - r * s - k) * c
        inset = min(0.025 * (n + 1), 0.1 * k * c)  # overlapping windows stay apart
        _outline(ax, x0, y0, k * c, k * c, HIGHLIGHTS[n], inset)

    # F.unfold: the image -> the matrix (the arrow meets it at its top row or below)
    unfold_y = img_y + side * c / 2
    op_x = x_img + side * c + 0.3 + op_w / 2
    _arrow(ax, (x_img + side * c + 0.05, unfold_y), (op_x - op_w / 2, unfold_y))
    _box(ax, op_x, unfold_y, op_w, 0.36, "F.unfold", "fixed", size=SMALL)
    end = (x_mat - 0.05, min(unfold_y, mat_y + k * k * c - c / 2))
    _arrow(ax, (op_x + op_w / 2, unfold_y), end)
    values = [[str(v) for v in row] for row in columns.tolist()]
    _grid(ax, x_mat, mat_y, k * k, windows, c, "data", values)
    title = f"{k * k} × {windows}: one column per window"
    label_y = min(mat_y, mid - c / 2 - 0.3) - 0.12  # below the kernel row's label
    _label(ax, x_mat + windows * c / 2, label_y, title, va="top")
    for n, j in enumerate(picks):
        _outline(ax, x_mat + j * c, mat_y, c, k * k * c, HIGHLIGHTS[n], 0.03)

    # kernel row x matrix = output row -> output image
    kernel = [[f"$w_{{{i}}}$" for i in range(k * k)]]
    _grid(ax, x_row, mid - c / 2, 1, k * k, c, "learned", kernel)
    title = f"kernel as a row, 1 × {k * k}"
    _label(ax, x_row, mid - c / 2 - 0.12, title, ha="left", va="top")
    _label(ax, (x_row + k * k * c + x_mat) / 2, mid, "×", size=FONT + 3)
    _label(ax, x_out - c / 2, mid, "=", size=FONT + 3)
    outputs = [f"$y_{{{j}}}$" for j in range(windows)]
    _grid(ax, x_out, mid - c / 2, 1, windows, c, "data", [outputs])
    title = f"output, 1 × {windows}"
    _label(ax, x_out, mid - c / 2 - 0.12, title, ha="left", va="top")
    grid_y = mid - out_side * c / 2
    _arrow(ax, (x_out + windows * c + 0.08, mid), (x_grid - 0.08, mid))
    rows = [outputs[i * out_side : (i + 1) * out_side] for i in range(out_side)]
    _grid(ax, x_grid, grid_y, out_side, out_side, c, "data", rows)
    title = f"reshaped\n{out_side} × {out_side}"
    _label(
        ax, x_grid + out_side * c / 2, grid_y + out_side * c + 0.12, title, va="bottom"
    )
    for n, j in enumerate(picks):
        _outline(ax, x_out + j * c, mid - c / 2, c, c, HIGHLIGHTS[n], 0.03)
        r, q = divmod(j, out_side)
        y0 = grid_y + (out_side - 1 - r) * c
        _outline(ax, x_grid + q * c, y0, c, c, HIGHLIGHTS[n], 0.03)
    _legend(ax, 0.25, 0.25)
    return fig


# ---------------------------------------------------------------------------
# Chapter 04: SmallCNN
# ---------------------------------------------------------------------------
def _layer_label(module: nn.Module) -> str:
    """What a stage's layer does, in a few words, read from the module."""
    name = type(module).__name__
    k = getattr(module, "kernel_size", None)
    k = k[0] if isinstance(k, tuple) else k
    if hasattr(module, "out_channels"):  # Conv2d (ours or torch's), LocallyConnected2d
        what = "local" if name == "LocallyConnected2d" else "conv"
        return f"{what} {k}×{k}, {module.out_channels} ch"
    if isinstance(module, nn.BatchNorm2d):
        return "batch norm"
    if isinstance(module, nn.ReLU):
        return "ReLU"
    if name in ("MaxPool2d", "AvgPool2d"):  # ours and torch's
        return f"{name[:3].lower()} pool {k}×{k}"
    if name == "MaxBlurPool2d":
        return "max-blur pool"
    return name


def draw_small_cnn(model: SmallCNN, image_size: int = 28, ax=None) -> Figure:
    """SmallCNN left to right: input, stages, global pooling, head.

    Each stage lists its layers top to bottom (the 2x downsampling first, from stage 2
    on); under every block is the shape ``(C, H, W)`` of its output for one
    ``image_size`` x ``image_size`` image, measured by running zeros through the
    model (in eval mode, without gradients: the model is left as it was).
    """
    if not isinstance(model, SmallCNN):
        raise TypeError(
            f"draw_small_cnn expects a SmallCNN, got {type(model).__name__}"
            + (" (use draw_vit)" if isinstance(model, ViT) else "")
        )
    _check_int(image_size, "image_size", "draw_small_cnn")
    if model.image_size is not None and image_size != model.image_size:
        raise ValueError(
            "draw_small_cnn: this SmallCNN (weight_sharing=False) is built for "
            f"{model.image_size} x {model.image_size} images, "
            f"got image_size={image_size}"
        )
    zeros = torch.zeros(1, model.in_channels, image_size, image_size)  # (B, C, H, W)
    with torch.no_grad(), eval_mode(model):
        out = model.features(zeros)
    stages = [list(stage) for stage in model.stages]  # each stage's layers, in order
    n_stages = len(stages)

    head = model.head
    pool_text, head_text = (
        "global\naverage\npool",
        f"linear\n{head.in_features} → {head.out_features}",
    )
    shapes = [format_shape(zeros.shape[1:])] + [
        format_shape(v.shape[1:]) for v in out.values()
    ]
    row_h, gap, space = 0.3, 0.12, 0.38 if n_stages < 4 else 0.26
    col_w = max(
        [_fit(t, FONT) for t in ("image", pool_text, head_text)]
        + [_text_width(t) + 0.1 for t in shapes]
    )
    stage_w = max(_fit(_layer_label(m)) for layers in stages for m in layers) + 0.2
    tallest = max(len(layers) for layers in stages)
    frame_h = tallest * row_h + (tallest - 1) * gap + 0.3
    width = 0.25 + 3 * col_w + n_stages * stage_w + (n_stages + 2) * space + 0.25
    # from the bottom: legend, note, shapes, then the blocks and the stage titles
    legend_y, note_y, shape_y, bottom = 0.22, 0.55, 0.9, 1.12
    height = bottom + frame_h + 0.45
    fig, ax = _axes(ax, width, height)
    mid = bottom + frame_h / 2  # the flow runs along this line

    x = 0.25  # left edge of the next column
    prev_right = None

    def column(w, text, kind, shape):
        nonlocal x, prev_right
        if prev_right is not None:
            _arrow(ax, (prev_right, mid), (x, mid))
        if text:
            _box(ax, x + w / 2, mid, w, 0.75, text, kind)
        _label(ax, x + w / 2, shape_y, shape)
        prev_right, x = x + w, x + w + space

    column(col_w, "image", "data", format_shape(zeros.shape[1:]))
    for i, layers in enumerate(stages, start=1):
        left = x
        column(stage_w, "", None, format_shape(out[f"stage{i}"].shape[1:]))  # a frame
        bottom_y, top_y = mid - frame_h / 2, mid + frame_h / 2
        _frame(ax, left, bottom_y, stage_w, frame_h, f"stage {i}", top_y + 0.08)
        top = mid + (len(layers) * row_h + (len(layers) - 1) * gap) / 2
        for r, layer in enumerate(layers):
            y = top - r * (row_h + gap) - row_h / 2
            if r:  # from the layer above
                _arrow(
                    ax,
                    (left + stage_w / 2, y + row_h / 2 + gap),
                    (left + stage_w / 2, y + row_h / 2),
                )
            label, kind = _layer_label(layer), _kind(layer)
            _box(
                ax, left + stage_w / 2, y, stage_w - 0.2, row_h, label, kind, size=SMALL
            )
    column(
        col_w,
        pool_text,
        _kind(model.global_pool),
        format_shape(out["pooled"].shape[1:]),
    )
    column(
        col_w,
        head_text,
        _kind(head),
        format_shape(out["logits"].shape[1:]),
    )
    _label(
        ax,
        0.25,
        note_y,
        "Under each block: the shape (C, H, W) of its output for one "
        f"{image_size} × {image_size} image.",
        ha="left",
    )
    _legend(ax, 0.25, legend_y)
    return fig


# ---------------------------------------------------------------------------
# Chapter 06: queries, keys and values
# ---------------------------------------------------------------------------
def _matrix(ax, x, y, rows, cols, cell, name, dims):
    """An empty ``rows`` x ``cols`` tensor centred at height ``y``, from ``x``.

    ``name`` above it, ``dims`` below; returns its right edge.
    """
    _grid(ax, x, y - rows * cell / 2, rows, cols, cell, "data")
    mid = x + cols * cell / 2
    top, bottom = y + rows * cell / 2 + 0.08, y - rows * cell / 2 - 0.08
    _label(ax, mid, top, name, va="bottom", size=FONT)
    _label(ax, mid, bottom, dims, va="top", size=FONT)
    return x + cols * cell


def draw_qkv(tokens: int = 4, ax=None) -> Figure:
    """Self-attention for one head, with tokens as row vectors (maps act on the right).

    ``X`` (N x D) -> ``Q = X W_Q``, ``K = X W_K``, ``V = X W_V`` (N x d, d = D/h)
    -> ``S = Q K^T / sqrt(d)`` (N x N) -> ``A = softmax(S)``, row by row -> ``A V``
    (N x d), as in Vaswani et al. (2017, eq. 1) and :func:`~minimodels.attention.
    attention`. ``tokens`` is the N drawn; D and d are drawn as 6 and 3 columns.
    """
    _check_int(tokens, "tokens", "draw_qkv")
    if tokens > 8:
        raise ValueError(
            f"draw_qkv draws every token as a row: at most 8 tokens, got {tokens}"
        )
    n, D, d = tokens, 6, 3
    c = min(0.17, 0.8 / n)  # a cell; N rows of them stay under 0.8 inch
    gap, w_box = 0.32, 0.62  # between a box and the next; the W boxes' width
    op1, op2, op3 = "$QK^\\top/\\sqrt{d}$", "softmax\nof each row", "$AV$"
    # left edges, left to right: X, W_Q.., Q.., S = QK^T/sqrt(d), S, softmax, A, AV, out
    x_x = 0.4
    x_w = x_x + D * c + 0.25 + gap  # the arrows fan out to the W boxes
    x_q = x_w + w_box + gap
    x_op1 = x_q + d * c + gap
    x_s = x_op1 + _fit(op1, FONT) + gap
    x_op2 = x_s + n * c + gap
    x_a = x_op2 + _fit(op2) + gap
    x_op3 = x_a + n * c + 0.2
    x_out = x_op3 + _fit(op3, FONT) + gap
    row = n * c + 0.7  # from one of Q, K, V to the next
    y_v = 1.3 + n * c / 2
    y_k, y_q = y_v + row, y_v + 2 * row
    y_s = (y_q + y_k) / 2  # S and A: between Q and K, which make them
    fig, ax = _axes(ax, x_out + d * c + 0.3, y_q + n * c / 2 + 0.5)

    _matrix(ax, x_x, y_k, n, D, c, "$X$", "$N \\times D$")
    _label(ax, x_x - 0.22, y_k, "tokens", rotation=90)
    for y, name in ((y_q, "Q"), (y_k, "K"), (y_v, "V")):
        _arrow(ax, (x_x + D * c + 0.05, y_k), (x_w, y))
        _box(ax, x_w + w_box / 2, y, w_box, 0.42, f"$W_{name}$", "learned")
        _label(ax, x_w + w_box / 2, y - 0.36, "$D \\times d$")
        _arrow(ax, (x_w + w_box, y), (x_q, y))
        _matrix(ax, x_q, y, n, d, c, f"${name} = XW_{name}$", "$N \\times d$")

    # S = Q K^T / sqrt(d), then A = softmax(S) row by row: two fixed operations
    for y in (y_q, y_k):
        _arrow(ax, (x_q + d * c + 0.05, y), (x_op1, y_s + (y - y_s) * 0.25))
    _box(ax, x_op1 + _fit(op1, FONT) / 2, y_s, _fit(op1, FONT), 0.5, op1, "fixed")
    _arrow(ax, (x_s - gap, y_s), (x_s, y_s))
    _matrix(ax, x_s, y_s, n, n, c, "$S$ (scores)", "$N \\times N$")
    _arrow(ax, (x_s + n * c, y_s), (x_op2, y_s))
    _box(ax, x_op2 + _fit(op2) / 2, y_s, _fit(op2), 0.55, op2, "fixed", size=SMALL)
    _arrow(ax, (x_a - gap, y_s), (x_a, y_s))
    _matrix(ax, x_a, y_s, n, n, c, "$A$ (weights)", "rows sum to 1")

    # A V: the weights average the value rows
    op3_w = _fit(op3, FONT)
    _arrow(ax, (x_q + d * c + 0.05, y_v), (x_op3, y_v))
    _arrow(
        ax,
        (x_a + n * c + 0.05, y_s),
        (x_op3 + op3_w / 2, y_v + 0.25),
        connectionstyle="angle,angleA=0,angleB=90",
    )
    _box(ax, x_op3 + op3_w / 2, y_v, op3_w, 0.5, op3, "fixed")
    _arrow(ax, (x_op3 + op3_w, y_v), (x_out, y_v))
    _matrix(ax, x_out, y_v, n, d, c, "output", "$N \\times d$")
    _label(
        ax,
        0.25,
        0.7,
        f"One head, {n} tokens. Each row is a token (row vectors: maps multiply on "
        "the right); $d = D/h$.",
        ha="left",
    )
    _legend(ax, 0.25, 0.3)
    return fig


# ---------------------------------------------------------------------------
# Chapter 07: ViT and its block
# ---------------------------------------------------------------------------
def draw_vit(model: ViT, image_size: int = 28, ax=None) -> Figure:
    """The ViT left to right, with P, N, D, L and h read from ``model``.

    image -> patches -> patch embedding -> (+ class token) (+ position embeddings)
    -> L pre-norm Transformer blocks -> LayerNorm -> readout -> linear head. Under each
    step, the shape of its output for one image (without the batch axis), from the
    model's own modules.
    """
    if not isinstance(model, ViT):
        raise TypeError(
            f"draw_vit expects a ViT, got {type(model).__name__}"
            + (" (use draw_small_cnn)" if isinstance(model, SmallCNN) else "")
        )
    _check_int(image_size, "image_size", "draw_vit")
    if image_size != model.image_size:
        raise ValueError(
            f"draw_vit: this ViT is built for {model.image_size} x {model.image_size} "
            f"images (its position embeddings fix N), got image_size={image_size}"
        )
    P, N, D = model.patch_size, model.num_patches, model.dim
    L, h = model.depth, model.heads
    zeros = torch.zeros(1, model.in_channels, image_size, image_size)  # (B, C, H, W)
    with torch.no_grad(), eval_mode(model):
        out = model.features(zeros)
    # (N (+1), D): the tokens' shape from the position embeddings to the readout
    tokens = format_shape(out["tokens"][0].shape[1:])

    steps = [("image", "data", format_shape(zeros.shape[1:]))]
    if isinstance(model.patch_embed, PatchEmbedding):
        steps += [
            (
                f"cut into\n$P \\times P$ patches\n$P = {P}$\n$N = {N}$",
                "fixed",
                format_shape(patchify(zeros, P).shape[1:]),
            ),
            (f"linear patch\nembedding\nto $D = {D}$", "learned", format_shape((N, D))),
        ]
    else:  # e.g. the hybrid's ConvStem: tokens on the P x P grid straight from pixels
        steps.append(
            (
                f"{type(model.patch_embed).__name__}\n"
                f"$P = {P}$, $N = {N}$\nto $D = {D}$",
                _kind(model.patch_embed),
                format_shape((N, D)),
            )
        )
    if model.cls_token is not None:
        steps.append(("+ class\ntoken", "learned", tokens))
    if model.pos_embedding is not None:
        kind = "learned" if isinstance(model.pos_embedding, nn.Parameter) else "fixed"
        name = "learned" if kind == "learned" else "sin-cos"
        steps.append((f"+ position\nembeddings\n({name})", kind, tokens))
    steps += [
        (
            f"$L = {L}$ blocks\n(pre-norm\ntransformer)\n$h = {h}$ heads",
            "learned",
            tokens,
        ),
        ("LayerNorm", _kind(model.norm), tokens),
        (
            "mean over\ntokens" if model.readout == "mean" else "take the\nclass token",
            "fixed",
            format_shape((model.head.in_features,)),
        ),
        (
            f"linear head\n{model.head.in_features} → {model.head.out_features}",
            _kind(model.head),
            format_shape(out["logits"].shape[1:]),
        ),
    ]
    space, box_h = 0.18, 0.95
    blocks = len(steps) - 4  # the index of the blocks' step
    width = sum(_fit(text) for text, _, _ in steps) + space * (len(steps) - 1)
    width += STACK + 0.4
    legend_y, note_y, shape_y, mid = 0.22, 0.55, 0.9, 1.75
    fig, ax = _axes(ax, width, mid + box_h / 2 + 0.3)
    boxes = [(text, kind) for text, kind, _ in steps]
    centres = _row(ax, boxes, 0.2, mid, box_h, space, stacked={blocks})
    for x, (_, _, shape) in zip(centres, steps):
        _label(ax, x, shape_y, shape)
    _label(
        ax,
        0.2,
        note_y,
        f"Under each step: the shape of its output for one {image_size} × "
        f"{image_size} image, (C, H, W) or (tokens, width).",
        ha="left",
    )
    _legend(ax, 0.2, legend_y)
    return fig


def draw_transformer_block(ax=None, norm_first: bool = True) -> Figure:
    """One Transformer block on ``(N, D)`` tokens, with its two residual connections.

    ``norm_first=True``: the pre-norm block of ViT and :class:`~minimodels.vit.
    TransformerBlock`, ``x + attention(LN(x))`` then ``x + MLP(LN(x))``.
    ``norm_first=False``: the post-norm ordering of Vaswani et al. (2017),
    ``LN(x + attention(x))`` then ``LN(x + MLP(x))``.
    """
    if not isinstance(norm_first, bool):
        raise TypeError(
            f"draw_transformer_block: norm_first must be True or False, "
            f"got {type(norm_first).__name__}"
        )
    norm = ("LayerNorm", "learned")
    attention = ("multi-head\nattention\n($h$ heads)", "learned")
    mlp = [("Linear", "learned"), ("GELU", "fixed"), ("Linear", "learned")]
    # "branch": a residual starts here; "+": it ends here.
    if norm_first:
        steps = ["branch", norm, attention, "+", "branch", norm, "mlp", "+"]
        title = (
            "Pre-norm (ViT, TransformerBlock): x + attention(LN(x)), "
            "then x + MLP(LN(x))"
        )
    else:
        steps = ["branch", attention, "+", norm, "branch", "mlp", "+", norm]
        title = (
            "Post-norm (Vaswani et al. 2017): LN(x + attention(x)), then LN(x + MLP(x))"
        )
    steps = [("tokens\n$(N, D)$", "data")] + steps + [("tokens\n$(N, D)$", "data")]

    space, inner, box_h, r = 0.34, 0.16, 0.72, 0.14
    mlp_w = sum(_fit(t) for t, _ in mlp) + 2 * inner + 0.2  # the frame around it

    def step_width(step) -> float:
        return 2 * r if step == "+" else mlp_w if step == "mlp" else _fit(step[0])

    widths = [step_width(step) for step in steps if step != "branch"]
    width = sum(widths) + space * (len(widths) - 1) + 0.5
    mid, top = 1.45, 2.45  # the flow; the residual connections
    fig, ax = _axes(ax, width, 3.2)
    _label(ax, 0.25, 2.95, title, ha="left", size=FONT)
    x, branch = 0.25, None
    for step in steps:
        if step == "branch":  # halfway along the arrow into the next step
            branch = x - space / 2
            ax.plot([branch, branch], [mid, top], color=INK, lw=1.3)
            ax.add_patch(Circle((branch, mid), 0.035, color=INK))
            continue
        if x > 0.25:
            _arrow(ax, (x - space, mid), (x, mid))
        if step == "+":
            _add(ax, x + r, mid, r)
            ax.plot([branch, x + r], [top, top], color=INK, lw=1.3)
            _arrow(ax, (x + r, top), (x + r, mid + r))
            _label(ax, (branch + x + r) / 2, top + 0.06, "residual", va="bottom")
        elif step == "mlp":
            y0 = mid - box_h / 2 - 0.12
            _frame(ax, x, y0, mlp_w, box_h + 0.24, "MLP", mid + box_h / 2 + 0.16)
            _row(ax, mlp, x + 0.1, mid, box_h, inner)
        else:
            _row(ax, [step], x, mid, box_h, space)
        x += step_width(step) + space
    _legend(ax, 0.25, 0.35)
    return fig
