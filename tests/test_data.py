"""MNIST-5k: checksum, split, clear errors; torchvision loaders fail fast offline."""

import shutil
import socket
import zipfile

import pytest
import torch

from minimodels import data
from minimodels.data import (
    DataFileError,
    DatasetUnavailableError,
    load_mnist5k,
    load_torchvision,
)


def test_checksum_of_shipped_file_matches(root):
    assert data.sha256_of(root / "data" / "mnist5k.npz") == data.MNIST5K_SHA256


def test_split_is_stratified_and_fixed():
    split = load_mnist5k()
    sizes = {"train": 3500, "val": 500, "test": 1000}
    for name, n in sizes.items():
        x, y = getattr(split, name).tensors
        assert x.shape == (n, 1, 28, 28) and x.dtype == torch.float32, name
        assert y.dtype == torch.int64 and torch.bincount(y).tolist() == [n // 10] * 10
        assert 0.0 == x.min() and x.max() == 1.0
    again = load_mnist5k()
    for a, b in zip(again, split):
        assert all(torch.equal(s, t) for s, t in zip(a.tensors, b.tensors))
    # no image is in two splits (the data set has no duplicate images)
    rows = {
        name: {bytes(r.numpy().tobytes()) for r in (part.tensors[0] * 255).byte()}
        for name, part in split._asdict().items()
    }
    assert sum(len(r) for r in rows.values()) == 5000
    assert len(set.union(*rows.values())) == 5000
    both = split.train_and_val()
    assert len(both) == 4000 and torch.bincount(both.tensors[1]).tolist() == [400] * 10


@pytest.mark.parametrize("name", ["train", "val", "test"])
def test_no_split_is_sorted_and_every_prefix_is_balanced(name):
    """The CSV is sorted by digit: a split stored in file order would make test[:500]
    the digits 0-4. Every run of ten holds each digit once."""
    labels = getattr(load_mnist5k(), name).tensors[1]
    for n in (100, 500, len(labels)):
        assert torch.bincount(labels[:n], minlength=10).tolist() == [n // 10] * 10
    runs = labels.reshape(-1, 10).sort(dim=1).values
    assert torch.equal(runs, torch.arange(10).expand_as(runs))
    assert not torch.equal(labels[:10], torch.arange(10))  # shuffled within runs too
    assert (labels[1:] != labels[:-1]).float().mean() > 0.8  # not sorted by class


def test_corrupt_file_is_refused_with_restore_hint(root, tmp_path):
    bad = tmp_path / "mnist5k.npz"
    shutil.copy(root / "data" / "mnist5k.npz", bad)
    raw = bytearray(bad.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # flip one byte in the middle
    bad.write_bytes(bytes(raw))
    with pytest.raises(
        DataFileError,
        match=(
            r"corrupt or was changed: expected sha256 211072.*"
            r"got [0-9a-f]{64}.*make_mnist5k"
        ),
    ):
        load_mnist5k(bad)


def test_missing_file_says_where_it_looked_and_how_to_restore(monkeypatch, tmp_path):
    monkeypatch.setattr(
        data,
        "_candidate_paths",
        lambda: [tmp_path / "a" / "mnist5k.npz", tmp_path / "b" / "mnist5k.npz"],
    )
    with pytest.raises(
        DataFileError,
        match=(
            r"not found \(looked in: .*a/mnist5k.npz, .*b/mnist5k.npz\).*"
            r"git checkout -- data/mnist5k.npz"
        ),
    ):
        load_mnist5k()


def test_wheel_carries_the_data(root, tmp_path):
    """The wheel Colab installs contains mnist5k.npz where the loader looks first."""
    pytest.importorskip("hatchling")
    from hatchling.builders.wheel import WheelBuilder

    wheel = next(
        WheelBuilder(str(root)).build(directory=str(tmp_path), versions=["standard"])
    )
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "minimodels/_data/mnist5k.npz" in names
        assert "minimodels/data.py" in names
        packed = zf.read("minimodels/_data/mnist5k.npz")
    assert packed == (root / "data" / "mnist5k.npz").read_bytes()


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test at once."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"network touched: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10"])
def test_offline_env_fails_fast_without_touching_network(
    name, tmp_path, monkeypatch, no_network
):
    monkeypatch.setenv("MINIMODELS_OFFLINE", "1")
    with pytest.raises(
        DatasetUnavailableError,
        match=(
            r"not in .* cannot be downloaded: "
            r"MINIMODELS_OFFLINE is set.*load_mnist5k"
        ),
    ):
        load_torchvision(name, root=tmp_path)
    assert no_network == []


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10"])
def test_unreachable_host_fails_fast_with_clear_message(
    name, tmp_path, monkeypatch, no_network
):
    monkeypatch.delenv("MINIMODELS_OFFLINE", raising=False)
    probed = []
    monkeypatch.setattr(
        data, "_network_reachable", lambda url, timeout=3.0: probed.append(url) or False
    )
    with pytest.raises(
        DatasetUnavailableError, match=r"cannot be reached \(no network\?\)"
    ):
        load_torchvision(name, root=tmp_path, train=False)
    assert len(probed) == 1 and probed[0].startswith("http")
    assert no_network == []


def test_download_false_is_refused(tmp_path, no_network):
    with pytest.raises(DatasetUnavailableError, match="download=False"):
        load_torchvision("mnist", root=tmp_path, download=False)


def test_unknown_dataset_name():
    with pytest.raises(
        ValueError,
        match=(
            r"unknown dataset 'imagenet'; "
            r"expected one of \['cifar10', 'fashion_mnist', 'mnist'\]"
        ),
    ):
        load_torchvision("imagenet")


def test_permute_pixels_is_one_fixed_shuffle_of_the_positions():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    out = data.permute_pixels(x)
    assert out.shape == x.shape and torch.equal(out, data.permute_pixels(x))
    # one permutation of the 16 positions, the same for every image and channel
    order = (out[0, 0].flatten()).long()
    for b in range(2):
        for c in range(3):
            assert torch.equal(out[b, c].flatten(), x[b, c].flatten()[order])
    assert sorted(order.tolist()) == list(range(16)) and order.tolist() != list(
        range(16)
    )
    assert not torch.equal(data.permute_pixels(x, seed=1), out)
    with pytest.raises(ValueError, match=r"permute_pixels expects images of shape"):
        data.permute_pixels(torch.zeros(4, 4))
