"""Checks for the exercise cells: immediate, specific feedback.

Every chapter's exercises follow one pattern (introduced in chapter 01):

1. a code cell the student completes; the instructor's solution sits between
   nbgrader-style ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers, and the
   book shows that cell collapsed;
2. the next cell calls one ``check_*`` function from this package with the
   student's work. It prints a line starting with a check mark when the work is
   right, and otherwise raises :class:`ExerciseError` saying what was expected
   and what was got.

``core`` holds the shared machinery; ``chNN`` the checks of chapter NN. All
checks are importable from here: ``from minimodels.exercises import check_mean_images``.
"""

from .ch01 import *  # noqa: F401,F403
from .ch02 import *  # noqa: F401,F403
from .ch03 import *  # noqa: F401,F403
from .ch04 import *  # noqa: F401,F403
from .ch05 import *  # noqa: F401,F403
from .ch06 import *  # noqa: F401,F403
from .ch07 import *  # noqa: F401,F403
from .ch08 import *  # noqa: F401,F403
from .ch09 import *  # noqa: F401,F403
from .ch10 import *  # noqa: F401,F403
from .ch11 import *  # noqa: F401,F403
from .ch12 import *  # noqa: F401,F403
from .ch13 import *  # noqa: F401,F403
from .core import (  # noqa: F401
    MIN_ANSWER_WORDS,
    ExerciseError,
    accuracy_drop_answer,
    accuracy_drop_options,
    argument,
    call,
    compare,
    graded_by_hand,
    hand_in,
    judge_prediction,
    number,
    passed,
    print_hand_in,
    table,
    whole_number,
)
