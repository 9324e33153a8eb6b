"""The exercise checks of chapter 06: right answers pass, wrong ones are explained."""

import math

import nbformat
import pytest
import torch
import torch.nn.functional as F

from minimodels.attention import MultiHeadAttention
from minimodels.exercises import (
    DUPLICATE_TOKENS_OPTIONS,
    ExerciseError,
    check_dot_product_attention,
    check_duplicate_tokens_prediction,
    check_local_attention_report,
    check_mha_parameters,
    check_padding_mask,
)
from minimodels.exercises.ch06 import _duplicate_tokens_answer


def stub(*args):
    raise NotImplementedError


# dot_product_attention -------------------------------------------------------


def attention_good(q, k, v):
    return (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).softmax(dim=-1) @ v


def attention_variant(
    scale=lambda q, k, v: 1 / math.sqrt(q.shape[-1]), dim=-1, softmax=True
):
    def fn(q, k, v):
        s = q @ k.transpose(-2, -1) * scale(q, k, v)
        return (s.softmax(dim=dim) if softmax else s) @ v

    return fn


@pytest.mark.parametrize("answer", [attention_good, F.scaled_dot_product_attention])
def test_dot_product_attention_correct_answers_pass(answer, capsys):
    check_dot_product_attention(answer)
    assert capsys.readouterr().out.startswith("\N{CHECK MARK} dot_product_attention")


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda q, k, v: None, "returned None; expected a tensor"),
        (
            lambda q, k, v: attention_good(q, k, v).tolist(),
            "returned a list; expected a torch.Tensor",
        ),
        (
            attention_variant(scale=lambda q, k, v: 1.0),
            r"\(5, 8\).*the scores were not scaled: "
            r"divide q @ k\^T by sqrt\(d\) = sqrt\(8\)",
        ),
        (
            attention_variant(scale=lambda q, k, v: 1 / q.shape[-1]),
            r"divided by d = 8; divide by its square root",
        ),
        (
            attention_variant(scale=lambda q, k, v: 1 / math.sqrt(v.shape[-1])),
            r"q \(3, 16\).*divided by sqrt\(d_v\) = sqrt\(4\), the width of the values",
        ),
        (
            attention_variant(scale=lambda q, k, v: 1 / math.sqrt(k.shape[-2])),
            r"\(5, 8\).*square root of the number of keys, 5; divide by sqrt\(d\)",
        ),
        (
            attention_variant(dim=-2),
            r"the softmax ran over the queries \(dim=-2\)\. Each query's weights must "
            r"sum to 1",
        ),
        (
            attention_variant(dim=-2, scale=lambda q, k, v: 1.0),
            r"softmax ran over the queries \(dim=-2\) and the scores were not scaled",
        ),
        (attention_variant(softmax=False), "the softmax is missing"),
        (
            lambda q, k, v: (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).softmax(
                -1
            ),
            r"returned shape \(5, 5\), the shape of the attention weights; expected "
            r"the output \(5, 8\)",
        ),
        (
            lambda q, k, v: (attention_good(q, k, v), None),
            "returned a tuple of 2 values; return only the output tensor",
        ),
        (
            lambda q, k, v: (q @ k.T / math.sqrt(q.shape[-1])).softmax(-1) @ v,
            r"raised RuntimeError.*batched heads.*k\.transpose\(-2, -1\)",
        ),
        (
            lambda q, k, v: attention_good(q, k, v) + 0.01,
            r"\(5, 8\).*wrong values: at index \(\d, \d\) expected",
        ),
    ],
)
@pytest.mark.filterwarnings(
    "ignore:The use of `x.T`"
)  # k.T on 4-D tensors, one of the wrong answers
def test_dot_product_attention_wrong_answers_are_named(answer, message):
    with pytest.raises(ExerciseError, match=message):
        check_dot_product_attention(answer)


def test_dot_product_attention_stub_is_explained():
    with pytest.raises(ExerciseError, match="dot_product_attention is not written yet"):
        check_dot_product_attention(stub)


# padding_mask ----------------------------------------------------------------


def padding_mask_good(lengths, N):
    return (torch.arange(N)[None, :] < lengths[:, None])[
        :, None, None, :
    ]  # (B, 1, 1, N)


@pytest.mark.parametrize(
    "answer",
    [
        padding_mask_good,
        lambda lengths, N: padding_mask_good(lengths, N).expand(
            -1, 1, N, N
        ),  # (B, 1, N, N) is fine too
    ],
)
def test_padding_mask_correct_answers_pass(answer, capsys):
    check_padding_mask(answer)
    assert capsys.readouterr().out.startswith("\N{CHECK MARK} padding_mask")


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda lengths, N: None, "returned None; expected a tensor"),
        (
            lambda lengths, N: padding_mask_good(lengths, N).float(),
            r"dtype torch.float32; expected a boolean tensor",
        ),
        (
            lambda lengths, N: torch.arange(N)[None, :] < lengths[:, None],
            r"\[5, 2, 4\]\), N=5\) returned shape \(3, 5\)\. Broadcasting lines a "
            r"\(B, N\) mask up",
        ),
        (
            lambda lengths, N: (torch.arange(N)[None, :] < lengths[:, None])[
                :, None, :
            ],
            r"\[5, 2, 4\]\), N=5\) returned shape \(3, 1, 5\), which does not "
            r"broadcast",
        ),
        (
            lambda lengths, N: padding_mask_good(lengths, N).transpose(-2, -1),
            r"masks the queries \(rows\), not the keys",
        ),
        (
            lambda lengths, N: ~padding_mask_good(lengths, N),
            "is inverted: True must mark the tokens",
        ),
        (
            lambda lengths, N: (torch.arange(N)[None, :] <= lengths[:, None])[
                :, None, None, :
            ],
            r"use j < length, not j <= length",
        ),
        (
            lambda lengths, N: torch.ones(len(lengths), 1, 1, N, dtype=torch.bool),
            r"\[3\]\), N=5\): for sequence 0 \(length 3\), query \d and key 3 the "
            r"mask is True; expected False",
        ),
    ],
)
def test_padding_mask_wrong_answers_are_named(answer, message):
    with pytest.raises(ExerciseError, match=message):
        check_padding_mask(answer)


def test_padding_mask_batch_as_long_as_n_is_caught():
    """A (B, N) mask broadcasts silently when B == N: the check must not let it
    through."""

    def two_d(lengths, N):
        mask = torch.arange(N)[None, :] < lengths[:, None]
        return mask if len(lengths) == N else mask[:, None, None, :]

    with pytest.raises(
        ExerciseError, match=r"\[4, 1, 4, 2\]\), N=4\) returned shape \(4, 4\)"
    ):
        check_padding_mask(two_d)


def test_padding_mask_stub_is_explained():
    with pytest.raises(ExerciseError, match="padding_mask is not written yet"):
        check_padding_mask(stub)


# mha_parameters --------------------------------------------------------------


def test_mha_parameters_correct_answer_passes(capsys):
    check_mha_parameters(lambda D, h, bias: 4 * D * D + (4 * D if bias else 0))
    assert capsys.readouterr().out.startswith("\N{CHECK MARK} mha_parameters")


@pytest.mark.parametrize(
    "answer, message",
    [
        (
            lambda D, h, bias: 3 * D * D + (3 * D if bias else 0),
            r"dim=32, heads=4, bias=True\) returned 3168; expected 4224.*add the "
            r"output projection",
        ),
        (
            lambda D, h, bias: 4 * D * D,
            r"returned 4096; expected 4224.*the biases are missing",
        ),
        (
            lambda D, h, bias: 4 * D * D + 4 * D,
            r"dim=64, heads=1, bias=False\) returned 16640; expected 16384.*no biases",
        ),
        (
            lambda D, h, bias: h * (4 * D * D + (4 * D if bias else 0)),
            r"returned 16896; expected 4224.*does not change the count",
        ),
        (lambda D, h, bias: 4 * (D * (D // h) + (D if bias else 0)), r"not to D/h"),
        (
            lambda D, h, bias: 4224,
            r"dim=32, heads=8, bias=True\)|"
            r"dim=64, heads=1, bias=False\) returned 4224; expected 16384",
        ),
        (
            lambda D, h, bias: 4 * D * D + (4 * D if bias else 0) + 1.0,
            r"returned 4225.0 \(float\); expected the int 4224",
        ),
        (
            lambda D, h, bias: float(4 * D * D + (4 * D if bias else 0)),
            r"returned 4224.0 \(float\); expected the int 4224: use integer arithmetic",
        ),
    ],
)
def test_mha_parameters_wrong_answers_are_named(answer, message):
    with pytest.raises(ExerciseError, match=message):
        check_mha_parameters(answer)


def test_mha_parameters_stub_is_explained():
    with pytest.raises(ExerciseError, match="mha_parameters is not written yet"):
        check_mha_parameters(stub)


# every token twice (predict, then run) ------------------------------------------


def test_duplicate_tokens_answer_follows_the_thresholds():
    assert _duplicate_tokens_answer(3e-7) == "a"
    assert _duplicate_tokens_answer(0.03) == "b"
    assert _duplicate_tokens_answer(0.5) == "c"  # e.g. outputs halved


def _mha_and_tokens():
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, heads=4)
    tokens = torch.randn(3, 10, 16, generator=torch.Generator().manual_seed(1))
    return mha, tokens


def test_duplicate_tokens_prediction(capsys):
    mha, tokens = _mha_and_tokens()
    mha(tokens[:1])
    probs = mha.probs
    check_duplicate_tokens_prediction(lambda: "a", mha, tokens)
    out = capsys.readouterr().out
    assert out.startswith("\N{CHECK MARK} duplicate_tokens_prediction: (a)")
    assert "with only the first 5 tokens twice (15 tokens)" in out
    assert mha.probs is probs  # the chapter's module is left as it was
    with pytest.raises(
        ExerciseError,
        match=r"You predicted \(c\), clearly different .* so the answer is \(a\)",
    ):
        check_duplicate_tokens_prediction(lambda: "c", mha, tokens)
    with pytest.raises(
        ExerciseError, match="duplicate_tokens_prediction is not written"
    ):
        check_duplicate_tokens_prediction(stub, mha, tokens)
    with pytest.raises(ValueError, match=r"tokens must have shape \(B, N, D\)"):
        check_duplicate_tokens_prediction(lambda: "a", mha, tokens[0])


def test_chapter_lists_the_duplicate_tokens_options(root):
    path = root / "chapters" / "06_self_attention.ipynb"
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    for key, option in DUPLICATE_TOKENS_OPTIONS.items():
        assert f'- `"{key}"`: {option}' in text, option


# attention through a window (open-ended) ----------------------------------------


def _local_report(grid=7, radius=1, layers=6, **changes):
    """The right hand-in, from distances: L layers of a window of radius r link
    the patches at most L * r rows and columns apart."""
    rc = torch.cartesian_prod(torch.arange(grid), torch.arange(grid))
    distance = (rc[:, None] - rc[None]).abs().amax(dim=-1)  # (N, N), in patches
    report = {
        "grid": grid,
        "radius": radius,
        "allowed_fraction": (distance <= radius).float().mean().item(),
        "reach": [
            (distance <= n * radius).float().mean().item() for n in range(1, layers + 1)
        ],
        "answer": "The window needs several layers to link every pair of patches " * 2,
    }
    report.update(changes)
    return report


def test_local_attention_report(capsys):
    report = check_local_attention_report(_local_report)
    assert report["reach"][-1] == 1.0
    out = capsys.readouterr().out
    assert "grid 7 x 7 (49 tokens), window radius 1: 15.0% of the pairs allowed" in out
    assert "every pair linked after 6 layer(s)" in out
    assert "\N{CHECK MARK} local_attention_report: complete; the argument" in out
    check_local_attention_report(lambda: _local_report(grid=14, radius=2, layers=3))
    reach = torch.tensor(_local_report()["reach"])  # a tensor is fine too
    check_local_attention_report(lambda: _local_report(reach=reach))


@pytest.mark.parametrize(
    "report, message",
    [
        ("15%", "my_experiment returned str; expected a dict with the keys 'grid'"),
        (
            {k: v for k, v in _local_report().items() if k != "reach"},
            "my_experiment's hand-in has no 'reach': expected the keys",
        ),
        (
            _local_report(radius=0),
            '"radius" is 0; expected a whole number of at least 1',
        ),
        (_local_report(grid=7.0), '"grid" is 7.0; expected a whole number'),
        (
            _local_report(allowed_fraction=9 / 49),  # the interior, borders forgotten
            r'"allowed_fraction" is 0.1837; a window of radius 1 on a 7 x 7 grid '
            r"allows 361 of the 2,401 .*patches near the border",
        ),
        (_local_report(allowed_fraction=15.0), r"\(0.25, not 25%\)"),
        (_local_report(reach=[0.15]), "at least two fractions"),
        (
            _local_report(reach=[0.150, 0.150, 0.570]),  # no growth over layers
            r'"reach" after 2 layer\(s\) is 0.1500; .* 0.3503 .* path of allowed',
        ),
        (
            _local_report(reach=[1.0, 1.0]),  # full attention's reach
            r'"reach" after 1 layer\(s\) is 1.0000; .* reach is the window itself',
        ),
        (
            _local_report(answer="It needs six layers."),
            "'answer' has 4 words; expected at least 20",
        ),
    ],
)
def test_local_attention_report_names_what_is_missing(report, message):
    with pytest.raises(ExerciseError, match=message):
        check_local_attention_report(lambda: report)


def test_local_attention_report_stub():
    with pytest.raises(ExerciseError, match="my_experiment is not written yet"):
        check_local_attention_report(stub)
