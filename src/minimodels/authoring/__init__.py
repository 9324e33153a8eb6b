"""Tools for the course's authors and instructors, not for students.

* :mod:`~minimodels.authoring.course`: the exercises of every chapter and the
  student versions (``python -m minimodels.course student OUT_DIR``);
* :mod:`~minimodels.authoring.colab`: the Colab set-up cell at the top of
  every chapter (tests/test_notebooks.py keeps the chapters equal to it).

Nothing a chapter imports depends on this subpackage, and editing it never
invalidates trained models (:mod:`minimodels.cache` leaves it out of its key).
"""
