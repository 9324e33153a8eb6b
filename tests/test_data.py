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
    x_train, y_train = split.train.tensors
    x_test, y_test = split.test.tensors
    assert x_train.shape == (4000, 1, 28, 28) and x_test.shape == (1000, 1, 28, 28)
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.int64
    assert 0.0 == x_train.min() and x_train.max() == 1.0
    assert torch.bincount(y_train).tolist() == [400] * 10
    assert torch.bincount(y_test).tolist() == [100] * 10
    again = load_mnist5k()
    assert torch.equal(again.train.tensors[0], x_train) and torch.equal(
        again.test.tensors[1], y_test
    )
    # no image is in both halves
    train_rows = {bytes(r.numpy().tobytes()) for r in (x_train * 255).byte()}
    assert not any(
        bytes(r.numpy().tobytes()) in train_rows for r in (x_test * 255).byte()
    )


def test_corrupt_file_is_refused_with_restore_hint(root, tmp_path):
    bad = tmp_path / "mnist5k.npz"
    shutil.copy(root / "data" / "mnist5k.npz", bad)
    raw = bytearray(bad.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # flip one byte in the middle
    bad.write_bytes(bytes(raw))
    with pytest.raises(
        DataFileError,
        match=(
            r"corrupt or was changed: expected sha256 a66cad.*"
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
