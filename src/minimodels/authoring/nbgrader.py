"""Grading the chapters with nbgrader: its cell metadata and a course folder.

nbgrader (https://nbgrader.readthedocs.io) grades a notebook by the metadata of
its cells: a cell with ``solution: true`` may hold a ``### BEGIN SOLUTION`` /
``### END SOLUTION`` region, which ``nbgrader generate_assignment`` replaces by a
stub; a cell with ``grade: true`` scores points, automatically when it is a test
cell (it passes when it runs without an error), by hand when it is also a solution
cell. Every exercise of the course (see :mod:`minimodels.authoring.course`) maps
onto that without new cells:

* the solution cell is an *autograded answer*, except in an open-ended exercise,
  where it is a *manually graded answer* worth :data:`OPEN_ENDED_POINTS` (the
  experiment and its argument are read by a person);
* the check cell is an *autograded test* worth :data:`CHECK_POINTS`: a check
  raises ``ExerciseError`` for a wrong answer, which fails the cell.

The ``grade_id`` of each cell is derived from the exercise's number
(``ex4_3_answer``, ``ex4_3_check``), so it stays the same when cells move.
:func:`mark_notebook` writes this metadata; ``python -m minimodels.course mark``
writes it into every chapter, and a test keeps the chapters marked.
:func:`write_course` lays out a folder that nbgrader can grade from (the chapters
as one assignment, and the configuration grading needs).
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from .course import Exercise, _chapters, find_exercises

__all__ = [
    "ASSIGNMENT",
    "CHECK_POINTS",
    "OPEN_ENDED_POINTS",
    "CELL_TIMEOUT",
    "kind",
    "cell_metadata",
    "mark_notebook",
    "mark_chapters",
    "write_course",
]

ASSIGNMENT = "pixels-to-patches"  # the chapters form one nbgrader assignment
CHECK_POINTS = 1  # each check cell, graded automatically
OPEN_ENDED_POINTS = 3  # each open-ended experiment, graded by hand
# nbgrader stops a cell after 30 s by default. A few cells of the course run
# longer on a 2-core CPU (a check that measures a model, chapter 07's comparison
# of block orders), and a cold model cache trains for minutes; 10 minutes per
# cell lets grading finish without hiding a cell that hangs.
CELL_TIMEOUT = 600

_SCHEMA = 3  # nbgrader's cell-metadata schema version (nbgrader 0.9)


def kind(exercise: Exercise) -> str:
    """ "predict", "open-ended" or "implement", read from the exercise's heading."""
    title = exercise.heading.split(":", 1)[-1].strip().lower()
    if title.startswith("predict, then run"):
        return "predict"
    if title.startswith("open-ended"):
        return "open-ended"
    return "implement"


def _grade_id(exercise: Exercise, part: str) -> str:
    # nbgrader allows letters, digits, "_" and "-" in a grade_id
    return f"ex{exercise.number.replace('.', '_')}_{part}"


def cell_metadata(exercise: Exercise) -> tuple[dict, dict]:
    """nbgrader's metadata for the exercise's solution cell and its check cell."""
    open_ended = kind(exercise) == "open-ended"
    answer = {
        "grade": open_ended,
        "grade_id": _grade_id(exercise, "answer"),
        "locked": False,
        "schema_version": _SCHEMA,
        "solution": True,
        "task": False,
    }
    if open_ended:
        answer["points"] = OPEN_ENDED_POINTS
    check = {
        "grade": True,
        "grade_id": _grade_id(exercise, "check"),
        "locked": True,
        "points": CHECK_POINTS,
        "schema_version": _SCHEMA,
        "solution": False,
        "task": False,
    }
    return answer, check


def mark_notebook(nb, name: str):
    """A copy of ``nb`` whose exercise cells carry nbgrader's metadata, and no
    other cell does (a cell that is no longer an exercise loses it). Solution
    markers outside an exercise raise :class:`MarkerError` (from
    :func:`find_exercises`)."""
    marked = copy.deepcopy(nb)
    for cell in marked.cells:
        cell.metadata.pop("nbgrader", None)
    for exercise in find_exercises(marked, name):
        answer, check = cell_metadata(exercise)
        marked.cells[exercise.solution_cell].metadata["nbgrader"] = answer
        marked.cells[exercise.check_cell].metadata["nbgrader"] = check
    return marked


def mark_chapters(chapters_dir: str | Path) -> list[Path]:
    """Write nbgrader's metadata into every chapter; returns the notebooks changed."""
    changed = []
    for path in _chapters(Path(chapters_dir)):
        nb = nbformat.read(path, as_version=4)
        marked = mark_notebook(nb, path.name)
        if marked != nb:
            nbformat.write(marked, path)
            changed.append(path)
    return changed


_CONFIG = """\
# nbgrader's configuration for grading the Pixels to Patches chapters
# (written by `python -m minimodels.course nbgrader`).
import os

c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.course_id = "pixels-to-patches"
# Cells that measure trained models run longer than nbgrader's default 30 s.
c.Execute.timeout = {timeout}
# The models the chapters load come from the book's cache, so grading trains
# nothing (a model missing there is trained once and added to it).
os.environ.setdefault("MINIMODELS_CACHE", {cache!r})
"""


def write_course(
    chapters_dir: str | Path, course_dir: str | Path, cache: str | Path
) -> Path:
    """Lay out ``course_dir`` for nbgrader: ``nbgrader_config.py`` and every
    chapter in ``source/<ASSIGNMENT>/``. Returns the assignment's source folder.

    ``cache`` is the model cache that grading reads (``MINIMODELS_CACHE``); the
    chapters must carry nbgrader's metadata (``python -m minimodels.course mark``).
    """
    chapters_dir, course_dir = Path(chapters_dir), Path(course_dir)
    source = course_dir / "source" / ASSIGNMENT
    paths = _chapters(chapters_dir)
    notebooks = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if mark_notebook(nb, path.name) != nb:
            raise ValueError(
                f"{path.name} lacks nbgrader's metadata on its exercises: "
                "run `python -m minimodels.course mark` first"
            )
        notebooks.append((path.name, nb))
    source.mkdir(parents=True, exist_ok=True)
    for filename, nb in notebooks:
        nbformat.write(nb, source / filename)
    (course_dir / "nbgrader_config.py").write_text(
        _CONFIG.format(timeout=CELL_TIMEOUT, cache=str(Path(cache).resolve()))
    )
    return source
