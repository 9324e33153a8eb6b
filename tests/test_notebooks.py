"""Notebook hygiene: no committed outputs, the Colab cell, exercises, the table of
contents.

nbval (``--nbval-lax`` in pyproject.toml) executes every chapter separately.
"""

import ast
import re

import nbformat
import pytest
import tomllib
import yaml

from minimodels.authoring.colab import colab_cell_source

CHAPTERS = "chapters/*.ipynb"


def chapters(root):
    paths = sorted(root.glob(CHAPTERS))
    assert paths, "no chapters found"
    return paths


def read(path):
    return nbformat.read(path, as_version=4)


@pytest.fixture(scope="module")
def config(root):
    return yaml.safe_load((root / "_config.yml").read_text())


def test_notebooks_are_committed_without_outputs(root):
    for path in chapters(root):
        for i, cell in enumerate(read(path).cells):
            if cell.cell_type == "code":
                assert cell.outputs == [], (
                    f"{path.name} cell {i} has outputs: clear them before committing"
                )
                assert cell.execution_count is None, (
                    f"{path.name} cell {i} has an execution count"
                )


def test_notebooks_are_valid_and_use_the_python3_kernel(root):
    for path in chapters(root):
        nb = read(path)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3", path.name


def test_first_cell_installs_minimodels_on_colab_only(root, config):
    expected = colab_cell_source(
        config["repository"]["url"], config["repository"]["branch"]
    )
    for path in chapters(root):
        first = read(path).cells[0]
        assert first.cell_type == "code" and first.source == expected, (
            f"{path.name}: the first cell must be the Colab set-up cell for "
            f"{config['repository']['url']} "
            "(minimodels.authoring.colab.colab_cell_source)"
        )
        assert "remove-cell" in first.metadata.get("tags", []), (
            f"{path.name}: tag the Colab cell remove-cell"
        )


def test_colab_cell_does_nothing_outside_colab(monkeypatch):
    calls = []
    monkeypatch.setattr("subprocess.run", lambda *a, **k: calls.append(a))
    exec(colab_cell_source("https://example.org/repo"), {})
    assert calls == []
    monkeypatch.setitem(__import__("sys").modules, "google.colab", object())
    exec(colab_cell_source("https://example.org/repo"), {})
    (command,) = calls[0]
    assert command[-1] == "minimodels @ git+https://example.org/repo@main"


def test_repository_url_is_set_in_one_place(root, config):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["urls"]["Homepage"] == config["repository"]["url"]


def test_package_never_pins_colabs_torch_numpy(root):
    """On Colab, installing minimodels must not replace torch, torchvision or numpy."""
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    for dep in deps:
        assert not re.search(r"==|<|~=|!=", dep), (
            f"{dep!r}: the package may declare lower bounds only"
        )


def test_every_exercise_is_collapsed_and_checked(root):
    n_exercises = 0
    for path in chapters(root):
        cells = read(path).cells
        for i, cell in enumerate(cells):
            if cell.cell_type != "code" or "### BEGIN SOLUTION" not in cell.source:
                continue
            n_exercises += 1
            where = f"{path.name} cell {i}"
            assert (
                cell.source.count("### BEGIN SOLUTION")
                == cell.source.count("### END SOLUTION")
                == 1
            ), where
            assert "hide-input" in cell.metadata.get("tags", []), (
                f"{where}: tag the solution cell hide-input"
            )
            following = cells[i + 1]
            assert following.cell_type == "code" and re.search(
                r"\bcheck_\w+\(", following.source
            ), (
                f"{where}: the cell after a solution must call "
                "a minimodels.exercises check"
            )
    assert n_exercises >= 1


def test_table_of_contents_lists_every_chapter(root):
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    listed = {f for f in files if f.startswith("chapters/")}
    on_disk = {f"chapters/{p.stem}" for p in chapters(root)}
    assert listed == on_disk


def glued(nb) -> dict:
    """name -> text/plain of every myst-nb glue in an executed notebook."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                values[name] = next(
                    v for k, v in out["data"].items() if k.endswith("text/plain")
                )
    return values


def test_chapter_01_prints_the_same_baseline_twice(root):
    """Seeds are fixed: two fresh executions glue the same accuracies."""
    from nbclient import NotebookClient

    path = root / "chapters" / "01_images_as_tensors.ipynb"
    runs = []
    for _ in range(2):
        nb = read(path)
        NotebookClient(
            nb,
            timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
        runs.append(glued(nb))
    assert "baseline_acc" in runs[0] and "linear_acc" in runs[0]
    # Wall-clock timings differ between runs; every other number must repeat exactly.
    first, second = (
        {k: v for k, v in run.items() if "seconds" not in k} for run in runs
    )
    assert first == second


def test_no_assert_on_a_verdict_or_its_thresholds(root):
    """Notebooks assert measured facts, never a verdict's label or a threshold of
    minimodels.verdicts: changing a threshold must flip a verdict, not fail the
    build."""
    for path in chapters(root):
        for i, cell in enumerate(read(path).cells):
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(cell.source)):
                if not isinstance(node, ast.Assert):
                    continue
                names = {
                    n.attr if isinstance(n, ast.Attribute) else n.id
                    for n in ast.walk(node.test)
                    if isinstance(n, (ast.Attribute, ast.Name))
                }
                assert not names & {"verdict", "verdicts"}, (
                    f"{path.name} cell {i}: {ast.unparse(node.test)}"
                )


# A chapter named in prose ("chapter 7", "Chapters 9 and 11") outside a {doc} link.
PLAIN_CHAPTER = re.compile(r"\b[Cc]hapters? \d")
DOC_ROLE = re.compile(r"\{doc\}`[^`]*`")
INLINE_CODE = re.compile(r"`[^`\n]*`")


def _prose(source: str) -> str:
    """Markdown without {doc} links, inline code and fenced code blocks."""
    source = re.sub(r"```\w*\n.*?```", "", source, flags=re.S)  # ```bash blocks
    return INLINE_CODE.sub("", DOC_ROLE.sub("", source))


def test_every_reference_to_a_chapter_is_a_link(root):
    pages = [(p, read(p).cells) for p in chapters(root)]
    found = []
    for path, cells in pages:
        for i, cell in enumerate(cells):
            if cell.cell_type == "markdown":
                for m in PLAIN_CHAPTER.finditer(_prose(cell.source)):
                    found.append(f"{path.name} cell {i}: {m.group()!r}")
    for name in ("glossary.md", "instructors.md", "index.md"):
        for m in PLAIN_CHAPTER.finditer(_prose((root / name).read_text())):
            found.append(f"{name}: {m.group()!r}")
    assert found == [], (
        f"{len(found)} chapter references without a {{doc}} link, e.g. "
        "{doc}`chapter 7 <07_vision_transformer>`:\n" + "\n".join(found)
    )


def test_every_chapter_opens_with_objectives_and_closes_with_questions(root):
    for path in chapters(root)[1:]:  # 00 is the introduction
        markdown = [c.source for c in read(path).cells if c.cell_type == "markdown"]
        head, tail = "\n".join(markdown[:3]), "\n".join(markdown[-3:])
        assert re.search(r"```\{admonition\} Learning objectives", head), (
            f"{path.name}: no 'Learning objectives' admonition in its first cells"
        )
        assert re.search(r"```\{admonition\} Check your understanding", tail), (
            f"{path.name}: no 'Check your understanding' admonition at its end"
        )


def test_every_figure_has_a_caption_a_name_and_alt_text(root):
    for path in chapters(root):
        for i, cell in enumerate(read(path).cells):
            mystnb = cell.metadata.get("mystnb", {})
            if "figure" not in mystnb:
                continue
            where = f"{path.name} cell {i}"
            figure = mystnb["figure"]
            assert figure.get("caption") and figure.get("name"), where
            alt = mystnb.get("image", {}).get("alt", "")
            assert len(alt.split()) >= 8, (
                f"{where}: describe the figure in mystnb.image.alt (8 words or more)"
            )
