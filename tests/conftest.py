import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


# The longest files first: `make test` runs the tests in two processes (pytest-xdist,
# one file per process at a time), and a long file started last would leave the other
# process idle at the end. The site build executes every chapter (about 4 minutes),
# nbgrader grades two copies of every chapter (3), then the chapters under nbval.
FIRST = ("tests/test_site.py", "tests/test_nbgrader.py", "chapters/")


def _rank(item) -> int:
    path = Path(str(item.path)).resolve().relative_to(ROOT).as_posix()
    return next((i for i, p in enumerate(FIRST) if path.startswith(p)), len(FIRST))


def pytest_collection_modifyitems(items):
    items.sort(key=_rank)  # stable: every file keeps its own order


def pytest_configure(config):
    # In a test process of `make test` (pytest-xdist), torch and every kernel the
    # tests start use one thread: two processes share the 2 cores, and torch's
    # OpenMP threads spin while they wait, so four threads on two cores made the
    # chapters' small trainings several times slower.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = "1"
