"""The package's table of modules (minimodels/__init__.py) stays complete and in
chapter order.
"""

import ast
import re
from pathlib import Path

import nbformat

import minimodels

PACKAGE = Path(minimodels.__file__).parent
CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"


def table() -> list[str]:
    return re.findall(r"^``(\w+)``\s", minimodels.__doc__, flags=re.MULTILINE)


def test_every_module_is_in_the_table_once():
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    modules |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    modules -= {
        "course"
    }  # the command's entry point; the table lists it under authoring
    names = table()
    assert len(names) == len(set(names)), names
    assert set(names) == modules


def imported_modules(path: Path) -> set[str]:
    """The minimodels modules a chapter's code cells import (read with ast)."""
    modules = set()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom) and node.module == "minimodels":
                modules |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("minimodels."):
                    modules.add(node.module.split(".")[1])
    return modules


def test_modules_students_import_come_in_chapter_order():
    """A module's bracketed chapter is the first chapter that imports it."""
    first: dict[str, int] = {}
    for path in sorted(CHAPTERS.glob("*.ipynb")):
        for module in imported_modules(path):
            first.setdefault(module, int(path.name[:2]))
    rows = re.findall(
        r"^``(\w+)``\s.*\((\d\d)[-\d,` \w/]*\)\s*$",
        minimodels.__doc__,
        flags=re.MULTILINE,
    )
    listed = {name: int(ch) for name, ch in rows}
    assert set(first) <= set(listed), set(first) - set(listed)
    assert {m: listed[m] for m in first} == first
    order = [listed[name] for name in table() if name in listed]
    assert order == sorted(order)
