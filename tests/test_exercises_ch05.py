import pytest
from einops import rearrange

from minimodels.exercises import (
    ExerciseError,
    check_linear_to_conv,
    check_patch_embedding_size,
    check_patchify,
)


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
