"""Helpers for notebooks that run both inside the book build and on their own.

The book pulls numbers into its prose with myst-nb's ``glue``. A reader running
a chapter on Colab or in plain Jupyter does not have myst-nb installed, so the
chapters import ``glue`` from here: the real one when myst-nb is present, and a
stand-in that shows the value otherwise.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["glue", "on_colab", "colab_cell_source"]


def on_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules


def glue(name: str, value: Any, display: bool = False) -> None:
    """Store ``value`` under ``name`` for ``{glue:text}`` roles in the prose.

    Without myst-nb (on Colab, say) the value is printed with its name, so the
    reader still sees every number the text refers to. Returns nothing, so a
    cell ending in ``glue(...)`` shows no stray output.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        print(f"{name} = {value!r}")
    else:
        myst_glue(name, value, display=display)


# The first cell of every chapter. The address is the `repository.url` of
# _config.yml (tests/test_notebooks.py checks that every chapter agrees).
COLAB_CELL_TEMPLATE = '''\
# On Colab, install the course package `minimodels` (its data comes with it).
# Elsewhere this cell does nothing: `make book` and `make test` install it.
# Colab's own torch, torchvision and numpy are kept: the package asks only for
# versions at least as old as theirs.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet",
         "minimodels @ git+{url}@{branch}"],
        check=True,
    )'''


def colab_cell_source(url: str, branch: str = "main") -> str:
    """The source of the Colab set-up cell for a repository at ``url``."""
    return COLAB_CELL_TEMPLATE.format(url=url.rstrip("/"), branch=branch)
