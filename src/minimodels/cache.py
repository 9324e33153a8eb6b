"""Trained models and experiment results, computed once per build and reused.

The evidence chapters (08-13) reuse the models chapters 04 and 07 train, and
chapter 13 reuses every chapter's measurements. Retraining them in every
notebook would blow the time budget, and committing trained weights would put
opaque files in the repository. So a result is stored the first time it is
computed, under a key made of

* the experiment's *specification* (a JSON-able dict: model, data, training),
* a digest of the ``minimodels`` source code that computes results (all of it
  but this module, the package docstring and the presentation modules ``book``,
  ``course``, ``authoring``, ``literature``, ``verdicts`` and ``exercises``) and
  the torch version,

so changing the experiment, the code that runs it or torch computes it afresh.
Training is seeded and deterministic on a CPU, so a cached result is the
result a rerun would print.

Loading never runs code: files are read with ``torch.load(weights_only=True)``,
which rebuilds only tensors and plain containers, so a planted file (a cache
restored from elsewhere, or ``MINIMODELS_CACHE`` pointed at a shared folder)
cannot execute anything; a file that fails to load that way is a miss and is
computed again. So values must be made of tensors, numbers, strings, None,
lists, tuples and dicts (checked before they are stored).

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

__all__ = [
    "cache_dir",
    "cache_key",
    "cache_path",
    "cached",
    "check_storable",
    "source_digest",
]

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
_NOT_COMPUTING = (
    "__init__.py",
    "authoring",
    "book.py",
    "cache.py",
    "course.py",
    "literature.py",
    "schematics.py",
    "verdicts.py",
    "exercises",
)


@functools.lru_cache(maxsize=None)
def source_digest(exclude: tuple[str, ...] = ()) -> str:
    """sha256 over the package's source files that compute results, and torch's version.

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
    """A short hex key for ``spec`` and the current code.

    ``spec`` must be JSON-able; the order of its keys is irrelevant.
    """
    try:
        text = json.dumps(spec, sort_keys=True)
    except TypeError as err:
        raise TypeError(
            "a cache spec must be JSON-able (str, numbers, lists, dicts), "
            f"got {spec!r}: {err}"
        ) from None
    return hashlib.sha256((text + source_digest(tuple(exclude))).encode()).hexdigest()[
        :20
    ]


def cache_path(
    name: str, spec: Mapping[str, Any], exclude: tuple[str, ...] = ()
) -> Path | None:
    """The file :func:`cached` stores ``name`` / ``spec`` in.

    None when caching is off.
    """
    folder = cache_dir()
    return None if folder is None else folder / f"{name}-{cache_key(spec, exclude)}.pt"


_PLAIN = (bool, int, float, str, type(None))


def check_storable(value: Any, where: str = "value") -> None:
    """Raise ``TypeError`` unless ``value`` is made of storable types.

    Storable: tensors, numbers, strings, None, lists, tuples and dicts.

    Those are what ``torch.load(weights_only=True)`` rebuilds without running
    code; anything else (a dataclass, a module) would be stored and then
    refused on every load, so it is refused here, naming where it sits.
    """
    if isinstance(value, (torch.Tensor, *_PLAIN)):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_storable(item, f"{where}[{i}]")
    elif type(value) is dict:
        for key, item in value.items():
            if not isinstance(key, _PLAIN):
                raise TypeError(
                    "a cached dict key must be a number or string, "
                    f"got {type(key).__name__} at {where}"
                )
            check_storable(item, f"{where}[{key!r}]")
    else:
        raise TypeError(
            "a cached value must be tensors, numbers, strings, None, lists, tuples "
            "or dicts (loaded without running code); "
            f"got {type(value).__name__} at {where}: "
            "convert it (dataclasses.asdict, state_dict)"
        )


_MISS = object()  # what _load returns for a file that is not a usable value


def _load(path: Path) -> Any:
    """The value stored at ``path``, or ``_MISS`` when it cannot be loaded safely.

    A file that cannot be loaded safely is treated as a miss.
    """
    try:
        return torch.load(path, weights_only=True)  # never unpickles arbitrary objects
    except Exception:  # unreadable, truncated or not ours: compute again, overwrite
        return _MISS


def cached(
    name: str,
    spec: Mapping[str, Any],
    compute: Callable[[], T],
    exclude: tuple[str, ...] = (),
) -> T:
    """``compute()``, or its stored value for the same ``name``, ``spec`` and code.

    ``compute`` must return tensors, numbers, strings, None, lists, tuples and
    dicts of those (:func:`check_storable`). A file that cannot be loaded
    safely (an interrupted write, a planted pickle) is computed again.
    ``exclude``: source files the value does not depend on (see :func:`source_digest`).
    """
    path = cache_path(name, spec, exclude)
    if path is None:
        return compute()
    if path.is_file():
        value = _load(path)
        if value is not _MISS:
            return value
    value = compute()
    check_storable(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save(value, partial)
    os.replace(partial, path)  # atomic: a reader never sees half a file
    return value
