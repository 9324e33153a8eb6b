"""``python -m minimodels.course``: student versions of the chapters.

An instructor's command.

The code lives in :mod:`minimodels.authoring.course`, apart from what students
import; this module only keeps the short command working.
"""

import sys

from .authoring.course import main

if __name__ == "__main__":
    sys.exit(main())
