"""``python -m minimodels.experiments [--list] [--workers N]``: train every model the
chapters use that is not cached yet (``make models``; see :mod:`.warmup`)."""

from .warmup import main

main()
