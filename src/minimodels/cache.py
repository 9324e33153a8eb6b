"""Trained models and experiment results, computed once per build and reused.

The evidence chapters (08-13) reuse the models chapters 04 and 07 train, and
chapter 13 reuses every chapter's measurements. Retraining them in every
notebook would blow the time budget, and committing trained weights would put
opaque files in the repository. So a result is stored the first time it is
computed, under a key made of

* the experiment's *specification* (a JSON-able dict: model, data, training),
* a digest of the ``minimodels`` source code that computes results (all of it
  but this module, the package docstring and the presentation modules ``book``,
  ``course``, ``literature``, ``verdicts`` and ``exercises``) and the torch version,

so changing the experiment, the code that runs it or torch computes it afresh.
Training is seeded and deterministic on a CPU, so a cached result is the
result a rerun would print.

Where: ``$MINIMODELS_CACHE`` if set; else ``_build/cache`` of the book when run
inside the repository (found from the working directory: the folder holding
``_config.yml`` and ``_toc.yml``); else ``~/.cache/minimodels`` (e.g. on Colab).
``MINIMODELS_CACHE=off`` turns caching off.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

import torch

__all__ = ["cache_dir", "cache_key", "cache_path", "cached", "source_digest"]

T = TypeVar("T")
_PACKAGE = Path(__file__).resolve().parent


def _book_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / "_config.yml").is_file() and (folder / "_toc.yml").is_file():
            return folder
    return None


def cache_dir() -> Path | None:
    """The folder results are cached in, or None when caching is off."""
    env = os.environ.get("MINIMODELS_CACHE")
    if env:
        return None if env.lower() == "off" else Path(env)
    root = _book_root(Path.cwd().resolve())
    if root is not None:
        return root / "_build" / "cache"
    return Path.home() / ".cache" / "minimodels"


# Modules that present or check results but compute none: editing them keeps the cache.
_NOT_COMPUTING = ("__init__.py", "book.py", "cache.py", "course.py", "literature.py", "verdicts.py", "exercises")


@functools.lru_cache(maxsize=None)
def source_digest(exclude: tuple[str, ...] = ()) -> str:
    """sha256 over the package's source files that compute results, and the torch version.

    ``exclude`` names further top-level files or folders of the package to leave
    out (for example the analysis code, for a key of trained weights).
    """
    skip = set(_NOT_COMPUTING) | set(exclude)
    h = hashlib.sha256(torch.__version__.encode())
    for path in sorted(_PACKAGE.rglob("*.py")):
        if path.relative_to(_PACKAGE).parts[0] in skip:
            continue
        h.update(str(path.relative_to(_PACKAGE)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def cache_key(spec: Mapping[str, Any], exclude: tuple[str, ...] = ()) -> str:
    """A short hex key for ``spec`` (JSON-able, order of keys irrelevant) and the current code."""
    try:
        text = json.dumps(spec, sort_keys=True)
    except TypeError as err:
        raise TypeError(f"a cache spec must be JSON-able (str, numbers, lists, dicts), got {spec!r}: {err}") from None
    return hashlib.sha256((text + source_digest(tuple(exclude))).encode()).hexdigest()[:20]


def cache_path(name: str, spec: Mapping[str, Any], exclude: tuple[str, ...] = ()) -> Path | None:
    """The file :func:`cached` stores ``name`` / ``spec`` in (None when caching is off)."""
    folder = cache_dir()
    return None if folder is None else folder / f"{name}-{cache_key(spec, exclude)}.pt"


def cached(name: str, spec: Mapping[str, Any], compute: Callable[[], T], exclude: tuple[str, ...] = ()) -> T:
    """``compute()``, or its stored value for the same ``name``, ``spec`` and code.

    ``compute`` must return something ``torch.save`` can store (tensors,
    numbers, lists, dicts, dataclasses of those). A file that cannot be read
    (an interrupted write, say) is computed again. ``exclude``: source files
    the value does not depend on (see :func:`source_digest`).
    """
    path = cache_path(name, spec, exclude)
    if path is None:
        return compute()
    if path.is_file():
        try:
            return torch.load(path, weights_only=False)  # our own files, written below
        except Exception:  # noqa: BLE001 - unreadable: recompute and overwrite
            pass
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save(value, partial)
    os.replace(partial, path)  # atomic: a reader never sees half a file
    return value
