"""Student versions (minimodels.course): the transformation and the CLI.

Every chapter found in chapters/ is covered; a chapter without exercises gets
the transformation tests but no exercise-check test. The student versions run
in a real kernel in tests/test_nbgrader.py.
"""

import ast
import inspect
from pathlib import Path

import nbformat
import pytest

import minimodels.exercises
from minimodels.authoring.course import (
    BEGIN,
    END,
    HEADER_TAG,
    STUB,
    MarkerError,
    find_exercises,
    list_exercises,
    main,
    stub_solutions,
    student_notebook,
)
from minimodels.exercises import ExerciseError

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
NOT_WRITTEN = (
    "is not written yet"  # minimodels.exercises.core.call's message for a stub
)


def read(path):
    return nbformat.read(path, as_version=4)


def _has_exercises(path) -> bool:
    try:
        return bool(find_exercises(read(path), path.name))
    except MarkerError:
        return True  # broken markers: the exercise tests report them


WITH_EXERCISES = [p for p in CHAPTERS if _has_exercises(p)]
by_stem = pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)


def test_chapters_and_exercises_are_found():
    assert CHAPTERS and WITH_EXERCISES
    exercises = list_exercises(ROOT / "chapters")
    assert len({(ex.chapter, ex.number) for ex in exercises}) == len(exercises), (
        "two exercises share a number"
    )


# --- The transformation, on every chapter -------------------------------------


@by_stem
def test_student_version_of_every_chapter(path):
    instructor = read(path)
    before = nbformat.writes(instructor)
    exercises = find_exercises(instructor, path.name)
    student = student_notebook(instructor, path.name)
    assert nbformat.writes(instructor) == before, (
        "student_notebook must not change its input"
    )
    nbformat.validate(student)

    # The Colab cell stays first; the header comes next and names every exercise and its
    # check.
    assert student.cells[0].source == instructor.cells[0].source
    header = student.cells[1]
    assert header.cell_type == "markdown" and header.metadata["tags"] == [HEADER_TAG]
    for ex in exercises:
        assert ex.heading in header.source and ex.check in header.source
    assert len(student.cells) == len(instructor.cells) + 1

    solution_cells = {ex.solution_cell for ex in exercises}
    for i, old in enumerate(instructor.cells):
        new = student.cells[i + (1 if i >= 1 else 0)]
        where = f"{path.name} cell {i}"
        if new.cell_type == "code":
            assert BEGIN not in new.source and END not in new.source, where
            assert new.outputs == [] and new.execution_count is None, (
                f"{where}: outputs not cleared"
            )
        if i not in solution_cells:
            assert new.source == old.source and new.metadata == old.metadata, (
                f"{where} changed"
            )
            continue
        # No line of the solution survives; the stub is there and the cell is no longer
        # collapsed.
        # Lines are compared whole: a line the cell has outside its solution too
        # (a closing bracket, say) may stay.
        before, rest = old.source.split(BEGIN, 1)
        solution, after = rest.split(END, 1)
        frame = {s.strip() for s in (before + after).splitlines()}
        student_lines = {s.strip() for s in new.source.splitlines()}
        for line in filter(None, (s.strip() for s in solution.splitlines())):
            assert line in frame or line not in student_lines, (
                f"{where}: solution line {line!r} left in the student version"
            )
        assert all(s in new.source for s in STUB), where
        assert "hide-input" not in new.metadata.get("tags", []), (
            f"{where}: students must see the stub"
        )


def _stub_functions(source: str) -> dict:
    """The top-level functions of a stubbed solution cell, defined without running
    anything else."""
    tree = ast.parse(source)
    defs = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    namespace: dict = {}
    exec(compile(ast.Module(body=defs, type_ignores=[]), "<stub>", "exec"), namespace)
    return {node.name: namespace[node.name] for node in defs}


@pytest.mark.parametrize(
    "exercise",
    list_exercises(ROOT / "chapters"),
    ids=lambda ex: f"{ex.chapter}-{ex.number}",
)
def test_each_check_explains_its_stub(exercise):
    """Checks that take only the student's function are called with the stub directly.

    (Checks that also need the chapter's data are exercised in a kernel below
    when they come first in their chapter, and by tests/test_exercises*.py.)
    """
    check = getattr(minimodels.exercises, exercise.check)
    required = [
        p
        for p in inspect.signature(check).parameters.values()
        if p.default is inspect.Parameter.empty
    ]
    if len(required) != 1:
        pytest.skip(
            f"{exercise.check} needs the chapter's data as well "
            "as the student's function"
        )
    path = ROOT / "chapters" / f"{exercise.chapter}.ipynb"
    stubbed = stub_solutions(
        read(path).cells[exercise.solution_cell].source, exercise.chapter
    )
    functions = _stub_functions(stubbed)
    if len(functions) != 1:
        pytest.skip(
            f"{exercise.heading}: the solution cell defines {len(functions)} "
            "top-level functions, not one"
        )
    (stub,) = functions.values()
    with pytest.raises(ExerciseError, match=NOT_WRITTEN):
        check(stub)


# The student version run in a real kernel (every cell before a chapter's first
# check runs, and that check explains the stub) is tested through nbgrader, on
# every chapter: tests/test_nbgrader.py.


# --- Bad notebooks and the command line ---------------------------------------


def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        make = (
            nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
        )
        nb.cells.append(make(source))
    return nb


def _exercise(solution_body, heading="### Exercise 9.1: a toy"):
    return _notebook(
        ("code", 'import sys\nif "google.colab" in sys.modules:\n    pass'),
        ("md", heading),
        ("code", f"def f(x):\n    {solution_body}"),
        ("code", "check_f(f)"),
    )


@pytest.mark.parametrize(
    "body, message",
    [
        (
            f"{BEGIN}\n    return x",
            rf"toy.ipynb cell 2: '{BEGIN}' on line 2 has no '{END}' after it",
        ),
        (
            f"return x\n    {END}",
            rf"toy.ipynb cell 2: '{END}' on line 3 has no '{BEGIN}' before it",
        ),
        (
            f"{BEGIN}\n    {BEGIN}\n    {END}",
            r"toy.ipynb cell 2: .* on line 3 inside the region opened on line 2",
        ),
    ],
)
def test_unbalanced_markers_name_the_notebook_and_cell(body, message):
    with pytest.raises(MarkerError, match=message):
        student_notebook(_exercise(body), "toy.ipynb")


def test_an_exercise_needs_a_heading_and_a_check():
    body = f"{BEGIN}\n    return x\n    {END}"
    with pytest.raises(MarkerError, match=r"toy.ipynb cell 2: no markdown heading"):
        find_exercises(_exercise(body, heading="Some text"), "toy.ipynb")
    nb = _exercise(body)
    nb.cells[3].source = "print(f(1))"
    with pytest.raises(
        MarkerError, match=r"toy.ipynb cell 2: the next cell must call exactly one"
    ):
        find_exercises(nb, "toy.ipynb")


def test_stubs_keep_indentation_outputs_are_cleared_and_tags_kept():
    nb = _exercise(f"y = 1\n    {BEGIN}\n    return x + y\n    {END}\n    # after")
    nb.cells[2].metadata["tags"] = ["hide-input", "keep-me"]
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", text="old")]
    nb.cells[3].execution_count = 3
    student = student_notebook(nb, "toy.ipynb")
    assert student.cells[3].source == (
        "def f(x):\n    y = 1\n    # YOUR CODE HERE\n"
        "    raise NotImplementedError\n    # after"
    )
    assert student.cells[3].metadata["tags"] == ["keep-me"]
    assert student.cells[4].outputs == [] and student.cells[4].execution_count is None
    assert (
        "Exercise 9.1: a toy" in student.cells[1].source
        and "check_f" in student.cells[1].source
    )
    (stub,) = _stub_functions(student.cells[3].source).values()
    with pytest.raises(NotImplementedError):
        stub(1)


def test_two_regions_in_one_cell():
    source = f"a = 1\n{BEGIN}\nb = 2\n{END}\nc = 3\n{BEGIN}\nd = 4\n{END}"
    assert stub_solutions(source, "x") == "a = 1\n" + "\n".join(
        STUB
    ) + "\nc = 3\n" + "\n".join(STUB)


def test_a_chapter_without_exercises_gets_a_plain_header():
    student = student_notebook(
        _notebook(("code", "import google.colab"), ("md", "# Intro")), "intro.ipynb"
    )
    assert "no exercises" in student.cells[1].source


def test_command_line_writes_every_chapter_the_same_way_twice(tmp_path, capsys):
    for out in ("a", "b"):
        assert (
            main(["--chapters", str(ROOT / "chapters"), "student", str(tmp_path / out)])
            == 0
        )
    assert "student notebooks" in capsys.readouterr().out
    written = sorted(p.name for p in (tmp_path / "a").glob("*.ipynb"))
    assert written == [p.name for p in CHAPTERS]
    for name in written:
        assert (tmp_path / "a" / name).read_bytes() == (
            tmp_path / "b" / name
        ).read_bytes(), name


def test_command_line_refuses_to_write_into_chapters(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "--chapters",
                str(ROOT / "chapters"),
                "student",
                str(ROOT / "chapters" / "student"),
            ]
        )
    assert exit_.value.code == 2
    assert "inside the chapters folder" in capsys.readouterr().err
    assert not (ROOT / "chapters" / "student").exists()


def test_command_line_without_chapters_says_where_it_looked(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--chapters", str(tmp_path), "list"])
    assert f"no notebooks in {tmp_path}" in capsys.readouterr().err
