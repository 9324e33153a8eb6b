import nbformat
import pytest
import torch
from einops import rearrange

from minimodels.exercises import (
    SHUFFLED_PATCHES_OPTIONS,
    ExerciseError,
    check_linear_to_conv,
    check_patch_embedding_size,
    check_patch_size_report,
    check_patchify,
    check_shuffled_patches_prediction,
)
from minimodels.exercises.ch05 import _shuffle_patches, _shuffled_patches_answer
from minimodels.patches import patchify
from minimodels.train import count_parameters, seed_everything
from minimodels.vit import ViT


def stub(*args):
    raise NotImplementedError


def _patchify(pattern):
    return lambda x, P: rearrange(x, pattern, p1=P, p2=P)


def test_patchify(capsys):
    check_patchify(_patchify("b c (h p1) (w p2) -> b (h w) (p1 p2 c)"))
    assert "\N{CHECK MARK} patchify" in capsys.readouterr().out
    # reshape + permute, as in the chapter's text, is also right
    check_patchify(
        lambda x, P: (
            x.reshape(x.shape[0], x.shape[1], x.shape[2] // P, P, x.shape[3] // P, P)
            .permute(0, 2, 4, 3, 5, 1)
            .reshape(x.shape[0], -1, P * P * x.shape[1])
        )
    )
    with pytest.raises(
        ExerciseError,
        match=(
            r"shape \(1, 3, 8, 12\) with patch_size=4: right shape, but the values of "
            r"a patch are flattened channel first"
        ),
    ):
        check_patchify(_patchify("b c (h p1) (w p2) -> b (h w) (c p1 p2)"))
    with pytest.raises(ExerciseError, match="the tokens are in column order"):
        check_patchify(_patchify("b c (h p1) (w p2) -> b (w h) (p1 p2 c)"))
    with pytest.raises(ExerciseError, match=r"columns come before the rows"):
        check_patchify(_patchify("b c (h p1) (w p2) -> b (h w) (p2 p1 c)"))
    with pytest.raises(ExerciseError, match=r"\(h p1\), not \(p1 h\)"):
        check_patchify(_patchify("b c (p1 h) (p2 w) -> b (h w) (p1 p2 c)"))
    # hard-coded for MNIST: right on the first batch, wrong on the next
    with pytest.raises(ExerciseError, match=r"patchify raised EinopsError.*"):
        check_patchify(
            lambda x, P: rearrange(
                x, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", h=28 // P, w=28 // P
            )
        )
    with pytest.raises(
        ExerciseError,
        match=(
            r"shape \(1, 3, 8, 12\) with patch_size=4 returned shape \(1, 6, 16\); "
            r"expected \(1, 6, 48\)"
        ),
    ):
        check_patchify(
            lambda x, P: rearrange(
                x[:, :1], "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=P, p2=P
            )
        )
    with pytest.raises(ExerciseError, match="returned None"):
        check_patchify(lambda x, P: None)
    with pytest.raises(ExerciseError, match="patchify is not written yet"):
        check_patchify(stub)


def test_linear_to_conv(capsys):
    check_linear_to_conv(
        lambda w, P, C: rearrange(w, "d (p1 p2 c) -> d c p1 p2", p1=P, p2=P, c=C)
    )
    assert "\N{CHECK MARK} linear_to_conv" in capsys.readouterr().out
    with pytest.raises(
        ExerciseError,
        match=(
            r"\(5, 12\) weight with patch_size=2, channels=3: "
            r"a plain reshape to \(D, C, P, P\)"
        ),
    ):
        check_linear_to_conv(lambda w, P, C: w.reshape(w.shape[0], C, P, P))
    with pytest.raises(ExerciseError, match="the kernel is transposed"):
        check_linear_to_conv(
            lambda w, P, C: rearrange(w, "d (p1 p2 c) -> d c p2 p1", p1=P, p2=P, c=C)
        )
    with pytest.raises(
        ExerciseError, match=r"returned shape \(8, 4, 4\); expected \(8, 1, 4, 4\)"
    ):
        check_linear_to_conv(lambda w, P, C: w.reshape(w.shape[0], P, P))
    with pytest.raises(ExerciseError, match="linear_to_conv is not written yet"):
        check_linear_to_conv(stub)


def test_patch_embedding_size(capsys):
    check_patch_embedding_size(
        lambda H, W, C, P, D: ((H // P) * (W // P), D * P * P * C + D)
    )
    assert "\N{CHECK MARK} patch_embedding_size" in capsys.readouterr().out
    with pytest.raises(
        ExerciseError,
        match=(
            r"patch_embedding_size\(height=28, width=28, channels=1, patch_size=4, "
            r"dim=64\): the embedding should have 1088 parameters, got 1024. Did you "
            r"forget the bias"
        ),
    ):
        check_patch_embedding_size(
            lambda H, W, C, P, D: ((H // P) * (W // P), D * P * P * C)
        )
    with pytest.raises(ExerciseError, match="count the channels"):
        check_patch_embedding_size(
            lambda H, W, C, P, D: ((H // P) * (W // P), D * P * P + D)
        )
    with pytest.raises(
        ExerciseError,
        match=(
            r"height=32, width=48.*should be 24, got 16. "
            r"The image is not always square"
        ),
    ):
        check_patch_embedding_size(
            lambda H, W, C, P, D: ((H // P) ** 2, D * P * P * C + D)
        )
    with pytest.raises(ExerciseError, match="does not depend on N"):
        check_patch_embedding_size(
            lambda H, W, C, P, D: (
                (H // P) * (W // P),
                (D * P * P * C + D) * (H // P) * (W // P),
            )
        )
    with pytest.raises(
        ExerciseError,
        match=r"returned 49; expected a pair \(N, parameters\) = \(49, 1088\)",
    ):
        check_patch_embedding_size(lambda H, W, C, P, D: 49)
    # an answer hard-coded for the chapter's MNIST case fails on the next configuration
    with pytest.raises(
        ExerciseError,
        match=r"patch_size=7, dim=32\): the number of tokens should be 16, got 49",
    ):
        check_patch_embedding_size(lambda H, W, C, P, D: (49, 1088))
    with pytest.raises(ExerciseError, match="patch_embedding_size is not written yet"):
        check_patch_embedding_size(stub)


# shuffled patches (predict, then run) -------------------------------------------


def test_shuffle_patches_reorders_each_digits_own_patches():
    images = torch.rand(6, 2, 8, 12, generator=torch.Generator().manual_seed(0))
    out = _shuffle_patches(images, 4, seed=0)
    assert out.shape == images.shape
    before, after = patchify(images, 4), patchify(out, 4)  # (B, N, P*P*C)
    for b in range(len(images)):  # the same patches, each image on its own
        assert torch.equal(before[b].sort(dim=0).values, after[b].sort(dim=0).values)
    assert not torch.equal(out, images)
    assert torch.equal(out, _shuffle_patches(images, 4, seed=0))  # seeded


def test_shuffled_patches_answer_follows_the_thresholds():
    assert _shuffled_patches_answer(0.80, 0.79, 0.70) == "a"  # lost 1 point
    assert _shuffled_patches_answer(0.80, 0.75, 0.70) == "b"
    assert _shuffled_patches_answer(0.80, 0.70, 0.70) == "b"  # as good as the bag
    assert _shuffled_patches_answer(0.80, 0.18, 0.74) == "c"  # the book's case


def _tiny_vits():
    seed_everything(0)
    tiny = dict(image_size=8, patch_size=4, dim=8, depth=1, heads=2, mlp_dim=16)
    with_positions = ViT(**tiny, readout="mean", pos_embedding="learned")
    with torch.no_grad():
        with_positions.pos_embedding.normal_(0, 3.0)  # positions that matter
    without = ViT(**tiny, readout="mean", pos_embedding="none")
    return with_positions, without


def test_shuffled_patches_prediction_agrees_with_its_measurement():
    # Untrained and tiny: whatever the measurement picks, exactly one option passes,
    # and the models are left as they were (here: in training mode).
    with_positions, without = _tiny_vits()
    images = torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        labels = with_positions.eval()(images).argmax(1)  # 100% in order
    with_positions.train()
    results = {}
    for option in SHUFFLED_PATCHES_OPTIONS:
        try:
            check_shuffled_patches_prediction(
                lambda o=option: o, with_positions, without, images, labels
            )
            results[option] = "passed"
        except ExerciseError as err:
            assert "the ViT with learned positions classifies 100.0% correctly" in (
                str(err)
            )
            results[option] = "failed"
    assert sorted(results.values()) == ["failed", "failed", "passed"], results
    assert with_positions.training and without.training


def test_shuffled_patches_prediction_explains_a_wrong_or_missing_answer():
    with_positions, without = _tiny_vits()
    images = torch.rand(20, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    labels = torch.zeros(20, dtype=torch.long)
    with pytest.raises(ExerciseError, match=r"returned 'd'; expected one of 'a'"):
        check_shuffled_patches_prediction(
            lambda: "d", with_positions, without, images, labels
        )
    with pytest.raises(ExerciseError, match="is not written yet"):
        check_shuffled_patches_prediction(stub, with_positions, without, images, labels)
    with pytest.raises(ValueError, match="with position embeddings first"):
        check_shuffled_patches_prediction(
            lambda: "a", without, with_positions, images, labels
        )


def test_chapter_lists_the_shuffled_patches_options(root):
    path = root / "chapters" / "05_patch_embedding.ipynb"
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    for key, option in SHUFFLED_PATCHES_OPTIONS.items():
        assert f'- `"{key}"`: {option}' in text, option


# another patch size (open-ended) ------------------------------------------------


def _patch_size_report(image_size=28, patch_size=14, **changes):
    model = ViT(
        image_size=image_size,
        patch_size=patch_size,
        dim=32,
        depth=2,
        heads=2,
        mlp_dim=64,
        readout="mean",
        pos_embedding="learned",
    )
    report = {
        "image_size": image_size,
        "patch_size": patch_size,
        "tokens": model.num_patches,
        "parameters": count_parameters(model),
        "position_parameters": model.pos_embedding.numel(),
        "accuracy_learned": 0.907,
        "accuracy_none": 0.911,
        "answer": "With four tokens the positions hardly matter " * 3,
    }
    report.update(changes)
    return report


CHAPTER_RUNS = {(7, "learned"): 0.8, (7, "none"): 0.74, (4, "learned"): 0.77}


def test_patch_size_report(capsys):
    report = check_patch_size_report(_patch_size_report, CHAPTER_RUNS)
    assert report["patch_size"] == 14
    out = capsys.readouterr().out
    assert "7 (chapter)" in out and "14 (yours)" in out
    assert "4 (chapter)" not in out  # no run without positions to compare with
    assert "\N{CHECK MARK} patch_size_report: complete; the argument is graded" in out
    # a size that does not divide 28, on padded digits
    check_patch_size_report(lambda: _patch_size_report(image_size=30, patch_size=10))


@pytest.mark.parametrize(
    "report, message",
    [
        (
            ["not", "a", "dict"],
            "my_experiment returned list; expected a dict with the keys 'image_size'",
        ),
        (
            {k: v for k, v in _patch_size_report().items() if k != "answer"},
            "my_experiment's hand-in has no 'answer': expected the keys",
        ),
        (
            {**_patch_size_report(), "patch_size": 5},
            "patch_size 5 does not divide image_size 28",
        ),
        (
            _patch_size_report(tokens=16),
            r'"tokens" is 16; the chapter\'s small ViT with P = 14 on 28 x 28 images '
            r"has 4 \(N = \(H/P\)\^2",
        ),
        (_patch_size_report(parameters=1000), r'"parameters" is 1,000; .* has'),
        (
            _patch_size_report(position_parameters=4),
            r'"position_parameters" is 4; .* has 128 \(one vector of D = 32',
        ),
        (_patch_size_report(tokens=4.0), r'"tokens" is 4.0; expected a whole number'),
        (
            _patch_size_report(accuracy_none=91.1),
            r'"accuracy_none" is 91.1; expected .* from 0 to 1 \(0.9, not 90\)',
        ),
        (
            _patch_size_report(accuracy_learned="high"),
            "\"accuracy_learned\" is 'high'; expected a number",
        ),
        (
            _patch_size_report(answer="Positions matter less."),
            "'answer' has 3 words; expected at least 20",
        ),
    ],
)
def test_patch_size_report_names_what_is_missing(report, message):
    with pytest.raises(ExerciseError, match=message):
        check_patch_size_report(lambda: report)


def test_patch_size_report_stub():
    with pytest.raises(ExerciseError, match="my_experiment is not written yet"):
        check_patch_size_report(stub)
