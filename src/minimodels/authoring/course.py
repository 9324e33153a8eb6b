"""Student versions of the chapters, and the list of their exercises.

Every exercise of the course is a code cell whose solution sits between
nbgrader's ``### BEGIN SOLUTION`` and ``### END SOLUTION`` markers, under a
markdown heading ``### Exercise N.M: title``, followed by a cell that calls a
``check_*`` function from :mod:`minimodels.exercises` (chapter 01 introduces
the pattern). This module reads that pattern back:

* :func:`find_exercises` / :func:`list_exercises`: which exercises each chapter
  holds, with the check that grades each one (used by the tests and the
  instructor guide, ``instructors.md``);
* :func:`student_notebook`: the notebook a student gets: every solution
  replaced by ``raise NotImplementedError``, outputs cleared, the solution cell
  no longer collapsed, and a header cell that lists the exercises.

From the repository root (``minimodels/course.py`` is the short entry point)::

    python -m minimodels.course student OUT_DIR   # one student notebook per chapter
    python -m minimodels.course list              # chapter, exercise, check

The package never depends on the notebooks: they are only read here.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = [
    "BEGIN",
    "END",
    "STUB",
    "Exercise",
    "MarkerError",
    "find_exercises",
    "list_exercises",
    "stub_solutions",
    "student_notebook",
    "write_student_versions",
    "main",
]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
# What a student finds instead of the solution. minimodels.exercises.core.call
# turns the NotImplementedError into "... is not written yet" when checked.
STUB = ["# YOUR CODE HERE", "raise NotImplementedError"]
HEADER_TAG = "student-header"  # tags the header cell that student_notebook adds

_HEADING = re.compile(r"^#{1,6}\s+(Exercise\s+\d+(?:\.\d+)*\b.*?)\s*$", re.MULTILINE)
_CHECK_CALL = re.compile(r"\b(check_\w+)\s*\(")


class MarkerError(ValueError):
    """A notebook breaks the exercise pattern; the message names notebook and cell."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of a chapter, as found in its notebook."""

    chapter: str  # notebook stem, e.g. "01_images_as_tensors"
    heading: str  # e.g. "Exercise 1.1: the average digit"
    check: str  # name of the check function, e.g. "check_mean_images"
    solution_cell: int  # index of the cell holding the markers
    check_cell: int  # index of the cell calling the check (solution_cell + 1)

    @property
    def number(self) -> str:
        """ "1.1" for "Exercise 1.1: the average digit"."""
        return self.heading.split()[1].rstrip(":")


def _is_marker(line: str, marker: str) -> bool:
    # A whole line, as nbgrader's ClearSolutions matches it: prose that merely
    # mentions the markers is not a solution region.
    return line.strip() == marker


def _has_markers(cell) -> bool:
    return cell.cell_type == "code" and any(
        _is_marker(line, BEGIN) or _is_marker(line, END)
        for line in cell.source.splitlines()
    )


def stub_solutions(source: str, where: str) -> str:
    """``source`` with every BEGIN/END region replaced by :data:`STUB`.

    The marker lines are replaced too.

    The stub keeps the indentation of the BEGIN line, so a solution inside a
    function body becomes a function that raises ``NotImplementedError``.
    ``where`` names the notebook and cell in the :class:`MarkerError` raised
    for an END without a BEGIN, a BEGIN without an END, or nested markers.
    """
    out: list[str] = []
    begin_line = None
    for n, line in enumerate(source.splitlines(), start=1):
        if _is_marker(line, BEGIN):
            if begin_line is not None:
                raise MarkerError(
                    f"{where}: '{BEGIN}' on line {n} inside the region opened "
                    f"on line {begin_line}"
                )
            begin_line = n
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + s for s in STUB)
        elif _is_marker(line, END):
            if begin_line is None:
                raise MarkerError(
                    f"{where}: '{END}' on line {n} has no '{BEGIN}' before it"
                )
            begin_line = None
        elif begin_line is None:
            out.append(line)
    if begin_line is not None:
        raise MarkerError(
            f"{where}: '{BEGIN}' on line {begin_line} has no '{END}' after it"
        )
    return "\n".join(out)


def find_exercises(nb, name: str) -> list[Exercise]:
    """The exercises of notebook ``nb`` (called ``name`` in error messages), in order.

    Each needs a markdown heading ``Exercise N.M: ...`` after the previous
    exercise, and a next cell that calls one ``check_*`` function.
    """
    exercises = []
    previous = -1  # cell index of the previous solution cell
    for i, cell in enumerate(nb.cells):
        if not _has_markers(cell):
            continue
        where = f"{name} cell {i}"
        stub_solutions(cell.source, where)  # raises on unbalanced markers
        headings = [
            h
            for c in nb.cells[previous + 1 : i]
            if c.cell_type == "markdown"
            for h in _HEADING.findall(c.source)
        ]
        if not headings:
            raise MarkerError(
                f"{where}: no markdown heading '### Exercise N.M: title' "
                "above this solution cell"
            )
        after = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
        checks = (
            _CHECK_CALL.findall(after.source)
            if after is not None and after.cell_type == "code"
            else []
        )
        if len(checks) != 1:
            raise MarkerError(
                f"{where}: the next cell must call exactly one "
                "minimodels.exercises check_* function"
            )
        exercises.append(Exercise(name, headings[-1], checks[0], i, i + 1))
        previous = i
    return exercises


def _chapters(chapters_dir: Path) -> list[Path]:
    paths = sorted(Path(chapters_dir).glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(
            f"no notebooks in {Path(chapters_dir).resolve()}: "
            "run from the repository root or pass --chapters DIR"
        )
    return paths


def list_exercises(chapters_dir: str | Path = "chapters") -> list[Exercise]:
    """Every exercise of every ``*.ipynb`` in ``chapters_dir``, chapter by chapter."""
    return [
        ex
        for path in _chapters(Path(chapters_dir))
        for ex in find_exercises(nbformat.read(path, as_version=4), path.stem)
    ]


def _header(exercises: list[Exercise]) -> str:
    lines = ["**Student version.**"]
    if not exercises:
        return lines[0] + " This chapter has no exercises: run it and read along."
    plural = "s" if len(exercises) > 1 else ""
    lines[0] += (
        f" This chapter has {len(exercises)} exercise{plural}. In each, replace"
        " `raise NotImplementedError` with your code, then run the check cell"
        " below it: it prints a check mark when your answer is right, or says"
        " what it expected and what it got."
        " Later cells may use your answers, so work through them in order."
    )
    lines.append("")
    lines.extend(f"- {ex.heading} (checked by `{ex.check}`)" for ex in exercises)
    return "\n".join(lines)


def student_notebook(nb, name: str):
    """A student copy of ``nb``: stubs for solutions, no outputs, an exercise header.

    The header lists the exercises. The Colab set-up cell stays first; the header comes
    right after it. The solution cells lose their ``hide-input`` tag (students must see
    the stub). ``nb`` itself is not changed.
    """
    exercises = find_exercises(nb, name)
    student = copy.deepcopy(nb)
    for i, cell in enumerate(student.cells):
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
        if _has_markers(cell):
            cell.source = stub_solutions(cell.source, f"{name} cell {i}")
            tags = [t for t in cell.metadata.get("tags", []) if t != "hide-input"]
            if tags:
                cell.metadata["tags"] = tags
            else:
                cell.metadata.pop("tags", None)
    header = nbformat.v4.new_markdown_cell(
        _header(exercises), metadata={"tags": [HEADER_TAG]}
    )
    first = student.cells[0] if student.cells else None
    colab_first = (
        first is not None
        and first.cell_type == "code"
        and "google.colab" in first.source
    )
    if "id" in header:  # a fixed id (nbformat >= 4.5), so two runs write the same file
        header["id"] = HEADER_TAG
    student.cells.insert(1 if colab_first else 0, header)
    return student


def write_student_versions(chapters_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the student version of every chapter into ``out_dir``.

    Returns the paths written. Refuses an ``out_dir`` inside ``chapters_dir``: the
    instructor notebooks would be overwritten or mixed with their student copies.
    """
    chapters_dir, out_dir = Path(chapters_dir).resolve(), Path(out_dir).resolve()
    if out_dir == chapters_dir or chapters_dir in out_dir.parents:
        raise ValueError(
            f"OUT_DIR {out_dir} is inside the chapters folder {chapters_dir}: "
            "choose another folder"
        )
    paths = _chapters(chapters_dir)
    # Transform every chapter before writing any, so a broken notebook leaves
    # nothing half-written.
    students = [
        (path.name, student_notebook(nbformat.read(path, as_version=4), path.name))
        for path in paths
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, nb in students:
        nbformat.write(nb, out_dir / filename)
        written.append(out_dir / filename)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m minimodels.course",
        description="Student versions of the chapters, and their exercises.",
    )
    parser.add_argument(
        "--chapters",
        default="chapters",
        help="folder of the chapter notebooks (default: chapters)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser(
        "student", help="write the student version of every chapter into OUT_DIR"
    )
    student.add_argument("out_dir", metavar="OUT_DIR")
    commands.add_parser(
        "list", help="print every exercise: chapter, heading, check function"
    )
    commands.add_parser(
        "mark",
        help="write nbgrader's metadata into the exercise cells of every chapter "
        "(in place)",
    )
    course = commands.add_parser(
        "nbgrader",
        help="lay out COURSE_DIR for nbgrader: its configuration and the chapters "
        "as one assignment",
    )
    course.add_argument("course_dir", metavar="COURSE_DIR")
    course.add_argument(
        "--cache",
        default="_build/cache",
        help="the model cache grading reads (default: _build/cache, the book's)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command in ("mark", "nbgrader"):
            from . import nbgrader

        if args.command == "mark":
            changed = nbgrader.mark_chapters(args.chapters)
            n_exercises = len(list_exercises(args.chapters))
            print(
                f"{n_exercises} exercises marked for nbgrader; "
                f"{len(changed)} notebooks changed"
            )
        elif args.command == "nbgrader":
            source = nbgrader.write_course(args.chapters, args.course_dir, args.cache)
            print(
                f"wrote {source} and {Path(args.course_dir) / 'nbgrader_config.py'}; "
                f"next, in {args.course_dir}: nbgrader generate_assignment "
                f"{nbgrader.ASSIGNMENT}"
            )
        elif args.command == "student":
            written = write_student_versions(args.chapters, args.out_dir)
            n_exercises = len(list_exercises(args.chapters))
            print(
                f"wrote {len(written)} student notebooks ({n_exercises} exercises) "
                f"to {Path(args.out_dir).resolve()}"
            )
        else:
            for ex in list_exercises(args.chapters):
                print(f"{ex.chapter}\t{ex.heading}\t{ex.check}")
    except (MarkerError, FileNotFoundError, ValueError) as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    return 0


if __name__ == "__main__":  # python -m minimodels.authoring.course works too
    sys.exit(main())
