"""The Colab set-up cell at the top of every chapter.

The book's launch button opens a chapter's notebook on Colab, where
``minimodels`` is not installed; the first cell installs it from the
repository, and does nothing anywhere else. Its source is written here once,
for the address in ``_config.yml`` (``repository.url``), and
tests/test_notebooks.py checks that every chapter starts with exactly it.
"""

from __future__ import annotations

__all__ = ["COLAB_CELL_TEMPLATE", "colab_cell_source"]

# The first cell of every chapter. The address is the `repository.url` of
# _config.yml (tests/test_notebooks.py checks that every chapter agrees). Written
# as `ruff format` writes it, within the line length (tests/test_lint.py), so
# formatting the chapters leaves it unchanged.
COLAB_CELL_TEMPLATE = """\
# On Colab, install the course package `minimodels` (its data comes with it).
# Elsewhere this cell does nothing: `make book` and `make test` install it.
# Colab's own torch, torchvision and numpy are kept: the package asks only for
# versions at least as old as theirs.
import subprocess
import sys

SOURCE = "git+{url}@{branch}"
if "google.colab" in sys.modules:
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "minimodels @ " + SOURCE], check=True)"""


def colab_cell_source(url: str, branch: str = "main") -> str:
    """The source of the Colab set-up cell for a repository at ``url``."""
    return COLAB_CELL_TEMPLATE.format(url=url.rstrip("/"), branch=branch)
