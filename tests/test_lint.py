"""ruff over everything we write: the package, the tests, the benchmarks, the data
script and the chapters (ruff reads notebooks). The rules and the line length
live in pyproject.toml ([tool.ruff]); nothing is excluded.

To fix what these tests report: `make format` (ruff format, then ruff check
--fix), and wrap by hand what remains of E501 (long strings and comments).
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["src", "tests", "benchmarks", "data", "chapters"]


def ruff(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("ruff")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "ruff"]
    return subprocess.run(
        [*command, *args, *PATHS], cwd=ROOT, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    "args", [("check", "--no-cache"), ("format", "--check", "--no-cache")]
)
def test_ruff_is_clean(args):
    result = ruff(*args)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_folder_is_linted():
    """No folder of Python or notebooks escapes the PATHS above."""
    tracked = subprocess.run(
        ["git", "ls-files", "*.py", "*.ipynb"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    outside = [f for f in tracked if f.split("/")[0] not in PATHS]
    assert outside == []
