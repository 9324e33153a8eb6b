"""Every cited work is in references.bib, and the bibliography lists only cited works.

references.md uses a plain ``{bibliography}`` directive (no ``:all:``), so the
page shows the entries cited somewhere in the book: an entry that nothing
cites would silently vanish from it, and a citation of a missing key would
only be a Sphinx warning at build time.
"""

import re
from pathlib import Path

import nbformat
import pytest
from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parents[1]
# {cite}, {cite:p}, {cite:t}, {cite:ps}, ... with one or more comma-separated keys.
CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")


def sources():
    """(name, text) of every chapter cell and every Markdown page of the book."""
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            yield f"{path.name} cell {i}", cell.source
    for path in sorted(ROOT.glob("*.md")):
        yield path.name, path.read_text()


def citations() -> dict[str, list[str]]:
    """key -> where it is cited."""
    cited: dict[str, list[str]] = {}
    for where, text in sources():
        for group in CITE.findall(text):
            for key in filter(None, (k.strip() for k in group.split(","))):
                cited.setdefault(key, []).append(where)
    return cited


@pytest.fixture(scope="module")
def entries():
    return parse_file(
        str(ROOT / "references.bib")
    ).entries  # also fails on a duplicate key


def test_citations_are_found():
    cited = citations()
    assert "dosovitskiy2021vit" in cited, (
        "the citation pattern no longer finds the ViT paper"
    )


def test_every_citation_is_in_the_bibliography(entries):
    missing = {key: where for key, where in citations().items() if key not in entries}
    assert not missing, f"cited but not in references.bib: {missing}"


def test_every_bibliography_entry_is_cited(entries):
    text = (ROOT / "references.md").read_text()
    assert "```{bibliography}" in text and ":all:" not in text, (
        "references.md lists the cited works only"
    )
    uncited = sorted(set(entries) - set(citations()))
    assert not uncited, (
        f"in references.bib but cited nowhere (cite them or remove them): {uncited}"
    )


def test_entries_have_authors_title_and_year(entries):
    for key, entry in entries.items():
        assert entry.persons.get("author"), f"{key}: no author"
        assert entry.fields.get("title") and re.fullmatch(
            r"\d{4}", entry.fields.get("year", "")
        ), f"{key}: title or year"
