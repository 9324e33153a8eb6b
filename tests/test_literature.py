"""minimodels.literature: every quoted figure names a paper that is in the
bibliography.
"""

import re

from minimodels.literature import PUBLISHED


def test_every_published_figure_cites_a_bibliography_entry(root):
    keys = set(
        re.findall(
            r"^@\w+\{([^,]+),", (root / "references.bib").read_text(), flags=re.M
        )
    )
    missing = {name: p.source for name, p in PUBLISHED.items() if p.source not in keys}
    assert not missing, f"sources not in references.bib: {missing}"
    assert all(p.value > 0 and p.what for p in PUBLISHED.values())
