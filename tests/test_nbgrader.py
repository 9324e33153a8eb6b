"""Grading with real nbgrader: every chapter, two submissions.

The chapters carry nbgrader's cell metadata (minimodels.authoring.nbgrader). The
module fixture lays out a course folder (`python -m minimodels.course nbgrader`),
runs `nbgrader generate_assignment` on all chapters, then `nbgrader autograde` on
two submissions of every chapter, in two course folders at once (the two cores
each grade one): the instructor's notebooks, which must score every autograded
point, and the released student version as it is, which must score none. Grading
reads the models from the build's cache, so it trains nothing.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from minimodels.authoring import nbgrader as grading
from minimodels.authoring.course import BEGIN, END, find_exercises, list_exercises
from minimodels.cache import cache_dir

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
NOT_WRITTEN = "is not written yet"  # minimodels.exercises.core.call's message
BIN = Path(sys.executable).parent  # nbgrader, and the alembic it calls, live here


def test_every_exercise_carries_nbgrader_metadata_and_no_other_cell_does():
    stale = [
        path.name
        for path in CHAPTERS
        if grading.mark_notebook(read(path), path.name) != read(path)
    ]
    assert not stale, (
        f"nbgrader's metadata is missing or stale in {stale}: run "
        "`.venv/bin/python -m minimodels.course mark`"
    )


def test_every_chapter_has_an_exercise_of_each_kind():
    kinds = {}
    for ex in list_exercises(ROOT / "chapters"):
        kinds.setdefault(ex.chapter, set()).add(grading.kind(ex))
    chapters = [p.stem for p in CHAPTERS if not p.stem.startswith("00_")]
    lacking = {
        chapter: sorted(
            {"implement", "predict", "open-ended"} - kinds.get(chapter, set())
        )
        for chapter in chapters
    }
    assert not {c: k for c, k in lacking.items() if k}, lacking


def test_metadata_follows_the_kind_of_exercise():
    nb = nbformat.v4.new_notebook()
    for number, title in [
        ("9.1", "a layer"),
        ("9.2", "predict, then run"),
        ("9.3", "open-ended, a variant"),
    ]:
        nb.cells += [
            nbformat.v4.new_markdown_cell(f"### Exercise {number}: {title}"),
            nbformat.v4.new_code_cell(f"def f():\n    {BEGIN}\n    pass\n    {END}"),
            nbformat.v4.new_code_cell("check_f(f)"),
            nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade": True}}),
        ]
    marked = grading.mark_notebook(nb, "nine.ipynb")
    meta = [cell.metadata.get("nbgrader") for cell in marked.cells]
    assert [m is None for m in meta] == [True, False, False, True] * 3, (
        "only solution and check cells carry metadata (a stale one is removed)"
    )
    answers, checks = meta[1::4], meta[2::4]
    assert [a["grade_id"] for a in answers] == [
        "ex9_1_answer",
        "ex9_2_answer",
        "ex9_3_answer",
    ]
    assert all(a["solution"] and not c["solution"] for a, c in zip(answers, checks))
    assert [a["grade"] for a in answers] == [False, False, True], (
        "only the open-ended answer is graded, by hand"
    )
    assert answers[2]["points"] == grading.OPEN_ENDED_POINTS
    assert all(c["grade"] and c["locked"] for c in checks)
    assert [c["points"] for c in checks] == [grading.CHECK_POINTS] * 3
    assert nb.cells[3].metadata == {"nbgrader": {"grade": True}}, "input unchanged"


def read(path):
    return nbformat.read(path, as_version=4)


def nbgrader(*args, cwd):
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        # Two graders share the cores: one torch thread each. With two each, the
        # four threads wait on one another and small tensor operations run many
        # times slower.
        "OMP_NUM_THREADS": "1",
    }
    return subprocess.Popen(
        [str(BIN / "nbgrader"), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process, what):
    out, _ = process.communicate()
    assert process.returncode == 0, f"{what} failed:\n{out[-6000:]}"
    assert "[ERROR]" not in out and "| ERROR]" not in out, f"{what}:\n{out[-6000:]}"
    return out


SUBMISSIONS = {"instructor": "source", "student": "release"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{student: course folder} after generate_assignment and autograde."""
    cache = cache_dir()
    assert cache is not None, "grading needs the model cache (MINIMODELS_CACHE=off)"
    base = tmp_path_factory.mktemp("nbgrader")
    first = base / "instructor"
    grading.write_course(ROOT / "chapters", first, cache)
    finish(
        nbgrader("generate_assignment", grading.ASSIGNMENT, "--force", cwd=first),
        "nbgrader generate_assignment",
    )
    courses = {"instructor": first, "student": base / "student"}
    shutil.copytree(first, courses["student"])
    running = {}
    for student, course in courses.items():
        submitted = course / "submitted" / student / grading.ASSIGNMENT
        shutil.copytree(course / SUBMISSIONS[student] / grading.ASSIGNMENT, submitted)
        running[student] = nbgrader(
            "autograde", grading.ASSIGNMENT, "--create", "--force", cwd=course
        )
    for student, process in running.items():
        finish(process, f"nbgrader autograde of the {student}'s submission")
    return courses


def grades(course, student):
    """{(notebook, grade_id): grade} of the student's autograded submission."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission(grading.ASSIGNMENT, student)
        return {
            (nb.name, grade.name): (
                grade.auto_score,
                grade.max_score,
                grade.needs_manual_grade,
            )
            for nb in submission.notebooks
            for grade in nb.grades
        }


def test_release_has_every_chapter_with_stubs_and_no_solution(graded):
    release = graded["instructor"] / "release" / grading.ASSIGNMENT
    assert sorted(p.name for p in release.glob("*.ipynb")) == [p.name for p in CHAPTERS]
    for path in CHAPTERS:
        released = read(release / path.name)
        text = "\n".join(cell.source for cell in released.cells)
        assert BEGIN not in text and END not in text, path.name
        exercises = find_exercises(read(path), path.name)
        for ex in exercises:
            assert (
                "raise NotImplementedError" in released.cells[ex.solution_cell].source
            )


def test_instructor_solutions_score_every_autograded_point(graded):
    scores = grades(graded["instructor"], "instructor")
    checks = {key: s for key, s in scores.items() if key[1].endswith("_check")}
    expected = {
        (f"{ex.chapter}", f"ex{ex.number.replace('.', '_')}_check")
        for ex in list_exercises(ROOT / "chapters")
    }
    assert set(checks) == expected, "one autograded check per exercise"
    failed = [key for key, (auto, top, _) in checks.items() if auto != top]
    assert not failed, f"checks that fail on the instructor's solution: {failed}"
    open_ended = [key for key in scores if key[1].endswith("_answer")]
    assert open_ended and all(scores[key][2] for key in open_ended), (
        "the open-ended experiments wait for a person"
    )


def test_unmodified_student_version_scores_zero(graded):
    scores = grades(graded["student"], "student")
    scored = [key for key, (auto, _, _) in scores.items() if auto]
    assert scores and not scored, f"points for an unanswered exercise: {scored}"


def test_first_check_of_each_chapter_explains_the_stub(graded):
    """In the student's graded notebooks, every cell before a chapter's first check
    ran, and the check says the answer is not written yet (later checks may
    fail on an earlier exercise's missing result instead)."""
    folder = graded["student"] / "autograded" / "student" / grading.ASSIGNMENT
    for path in CHAPTERS:
        exercises = find_exercises(read(path), path.name)
        if not exercises:
            continue
        cells = read(folder / path.name).cells
        first = exercises[0]
        for i, cell in enumerate(cells[: first.check_cell]):
            errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
            if i != first.solution_cell:
                assert not errors, f"{path.name} cell {i} failed: {errors[0].evalue}"
        (error,) = [
            o for o in cells[first.check_cell].outputs if o.output_type == "error"
        ]
        assert error.ename == "ExerciseError" and NOT_WRITTEN in error.evalue, (
            f"{path.name}: {first.check} on the stub said {error.ename}: {error.evalue}"
        )
