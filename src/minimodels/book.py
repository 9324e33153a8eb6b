"""Helpers for notebooks that run both inside the book build and on their own.

The book pulls numbers into its prose with myst-nb's ``glue``. A reader running
a chapter on Colab or in plain Jupyter does not have myst-nb installed, so the
chapters import ``glue`` from here: the real one when myst-nb is present, and a
stand-in that shows the value otherwise.

It is also the book build's Sphinx extension (``_config.yml``): :func:`setup` tells
the chapters' kernels that they run for a static page.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["glue", "on_colab", "setup"]


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


def setup(app) -> dict:
    """Sphinx extension hook: progress bars in the book are a final text line.

    The kernels myst-nb starts inherit this process's environment, so training cells
    print :func:`~minimodels.train.fit`'s last line instead of a notebook widget
    (which a static page cannot run, and which would pull the ipywidgets script
    from a CDN into the page).
    """
    from .train import PROGRESS_ENV

    os.environ[PROGRESS_ENV] = "line"
    return {"parallel_read_safe": True, "parallel_write_safe": True}
