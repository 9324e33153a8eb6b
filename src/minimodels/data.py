"""Data for the course: MNIST-5k offline, and full-size sets for readers online.

Built in chapter 01 (Images as tensors).

* :func:`load_mnist5k` reads ``mnist5k.npz``: 5,000 real MNIST digits (500 per
  class) with a fixed, stratified 3,500 / 500 / 1,000 train / validation / test
  split stored in the file itself, each split in a seeded, class-interleaved
  random order (every prefix of ten images holds each digit once). The file
  ships with the repository (``data/``) and inside the installed package, so it
  works offline and on Colab. Its sha256 is checked on every load.
* :func:`load_torchvision` gives the full MNIST, Fashion-MNIST and CIFAR-10
  through ``torchvision.datasets`` for readers with a network (Colab, a GPU).
  It downloads into ``data/`` when allowed and fails fast, with a message that
  says what to do, when the files are absent and the network is not there.
* :func:`permute_pixels` shuffles the pixel positions of images with one fixed
  permutation, the same for every image and split: the digits keep every pixel
  value but lose which pixels are neighbours (chapter 09's locality control).
"""

from __future__ import annotations

import hashlib
import os
import socket
from importlib import resources
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

from .shapes import check_images

__all__ = [
    "MNIST5K_SHA256",
    "DataFileError",
    "DatasetUnavailableError",
    "Split",
    "load_mnist5k",
    "mnist5k_path",
    "load_torchvision",
    "TORCHVISION_DATASETS",
    "permute_pixels",
]

# sha256 of data/mnist5k.npz as written by data/make_mnist5k.py (reproducible).
MNIST5K_SHA256 = "211072684600c8070d0eb8ffb9eee3b21a814b54b3761125c5ec6264ea59e3d0"
MNIST5K_FILE = "mnist5k.npz"

# The repository's data/ folder, seen from src/minimodels/data.py (editable install).
REPO_DATA_DIR = Path(__file__).resolve().parents[2] / "data"

RESTORE_HINT = (
    "Restore it with `git checkout -- data/mnist5k.npz` in a clone of the course, "
    "or rebuild it with `python data/make_mnist5k.py` (see data/README.md); "
    "outside a clone, reinstall the package "
    "(`pip install --force-reinstall minimodels`)."
)


def permute_pixels(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """``images`` (B, C, H, W) with their H * W pixel positions shuffled by one
    permutation drawn with ``seed``: the same for every image, every channel and
    every call with this seed and size, so train and test images are shuffled alike.

    A model with no prior about which pixels are neighbours (a multilayer
    perceptron) learns permuted digits exactly as well as the originals; a model
    that relies on locality does not (Zhang et al. 2017 use the same control).
    """
    B, C, H, W = check_images(images, "permute_pixels")
    order = torch.randperm(H * W, generator=torch.Generator().manual_seed(seed))
    return images.reshape(B, C, H * W)[:, :, order].reshape(B, C, H, W)


class DataFileError(RuntimeError):
    """A data file the course ships is missing or does not match its checksum."""


class DatasetUnavailableError(RuntimeError):
    """A downloadable dataset is not on disk and cannot be downloaded now."""


class Split(NamedTuple):
    """Train, validation and test datasets whose tensors are ``(images, labels)``.

    Choices (recipes, epochs, early stopping) are made on ``val``; ``test`` only
    reports. Once a choice is frozen, a model may train on
    :meth:`train_and_val`.
    """

    train: TensorDataset
    val: TensorDataset
    test: TensorDataset

    def train_and_val(self) -> TensorDataset:
        """``train`` followed by ``val``: all 4,000 non-test images."""
        return TensorDataset(
            *(torch.cat(pair) for pair in zip(self.train.tensors, self.val.tensors))
        )


def _candidate_paths() -> list[Path]:
    """Where mnist5k.npz may live, in the order they are tried."""
    paths = []
    try:  # inside an installed wheel (pip install from git, e.g. on Colab)
        paths.append(Path(str(resources.files("minimodels") / "_data" / MNIST5K_FILE)))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - odd importers
        pass
    paths.append(REPO_DATA_DIR / MNIST5K_FILE)  # a clone with an editable install
    return paths


def mnist5k_path() -> Path:
    """The first existing copy of mnist5k.npz, or a :class:`DataFileError`."""
    candidates = _candidate_paths()
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(str(p) for p in candidates)
    raise DataFileError(
        f"{MNIST5K_FILE} not found (looked in: {looked}). {RESTORE_HINT}"
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_mnist5k(path: str | Path | None = None) -> Split:
    """MNIST-5k as a :class:`Split` of ``TensorDataset(images, labels)``.

    images: ``(B, 1, 28, 28)`` float32 in [0, 1]; labels: ``(B,)`` int64.
    The split is fixed (stored in the file): 350 train, 50 validation and 100
    test images per digit, each split class-interleaved (any prefix of a
    multiple of ten images is balanced). ``path`` overrides where the file is
    read from; either way its sha256 must equal :data:`MNIST5K_SHA256`.
    """
    if path is None:
        path = mnist5k_path()
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path} not found. {RESTORE_HINT}")
    got = sha256_of(path)
    if got != MNIST5K_SHA256:
        raise DataFileError(
            f"{path} is corrupt or was changed: expected sha256 {MNIST5K_SHA256}, "
            f"got {got}. {RESTORE_HINT}"
        )
    with np.load(path, allow_pickle=False) as npz:
        images = (
            torch.from_numpy(npz["images"]).float().div_(255).unsqueeze(1)
        )  # (B, 1, H, W)
        labels = torch.from_numpy(npz["labels"]).long()
        index = {k: torch.from_numpy(npz[f"{k}_idx"]) for k in Split._fields}
    return Split(**{k: TensorDataset(images[i], labels[i]) for k, i in index.items()})


# --- Full-size datasets through torchvision, for readers online ---------------

# name -> torchvision.datasets class name
TORCHVISION_DATASETS = {
    "mnist": "MNIST",
    "fashion_mnist": "FashionMNIST",
    "cifar10": "CIFAR10",
}


def _download_url(dataset_cls) -> str:
    """The first address torchvision would download ``dataset_cls`` from."""
    mirrors = getattr(dataset_cls, "mirrors", None)
    return mirrors[0] if mirrors else dataset_cls.url


def _network_reachable(url: str, timeout: float = 3.0) -> bool:
    """True when a TCP connection to the host of ``url`` opens within ``timeout``."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def _already_downloaded(dataset_cls, root: Path, train: bool) -> bool:
    try:
        dataset_cls(root=str(root), train=train, download=False)
    except RuntimeError:  # torchvision: "Dataset not found..."
        return False
    return True


def load_torchvision(
    name: str,
    *,
    train: bool = True,
    root: str | Path | None = None,
    download: bool = True,
    transform=None,
) -> Dataset:
    """Full MNIST, Fashion-MNIST or CIFAR-10 from ``torchvision.datasets``.

    Files go to ``root`` (default: the repository's ``data/`` folder, or
    ``~/.cache/minimodels`` outside a clone). With the files absent, a download
    is tried only when ``download`` is true, the environment variable
    ``MINIMODELS_OFFLINE`` is unset, and the host answers within 3 seconds;
    otherwise a :class:`DatasetUnavailableError` says why, at once, instead of
    a long network time-out. ``transform`` defaults to ``ToTensor()``.
    """
    if name not in TORCHVISION_DATASETS:
        raise ValueError(
            f"unknown dataset {name!r}; expected one of {sorted(TORCHVISION_DATASETS)}"
        )
    import torchvision  # imported here: MNIST-5k needs only numpy and torch
    from torchvision import transforms

    class_name = TORCHVISION_DATASETS[name]
    dataset_cls = getattr(torchvision.datasets, class_name)
    if root is None:
        root = (
            REPO_DATA_DIR
            if REPO_DATA_DIR.is_dir()
            else Path.home() / ".cache" / "minimodels"
        )
    root = Path(root)
    transform = transform if transform is not None else transforms.ToTensor()

    if not _already_downloaded(dataset_cls, root, train):
        split = "train" if train else "test"
        if not download:
            reason = "download=False was given"
        elif os.environ.get("MINIMODELS_OFFLINE"):
            reason = "MINIMODELS_OFFLINE is set"
        elif not _network_reachable(url := _download_url(dataset_cls)):
            reason = f"{urlsplit(url).hostname} cannot be reached (no network?)"
        else:
            reason = None
        if reason is not None:
            raise DatasetUnavailableError(
                f"{class_name} ({split} split) is not in {root} "
                f"and cannot be downloaded: {reason}. "
                "Run this where the network is available (e.g. on Colab), or "
                f"copy the torchvision files into {root}. Offline, use load_mnist5k(), "
                "which ships with the course."
            )
        root.mkdir(parents=True, exist_ok=True)
    return dataset_cls(
        root=str(root), train=train, download=download, transform=transform
    )
