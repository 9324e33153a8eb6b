"""Every model the book trains, trained in one pool before the book is built.

``make models`` (which ``make book`` and ``make test`` run first) calls
:func:`warm_up`: the runs of every chapter that are not cached yet are spread
over all cores at once, longest first, so no notebook cell trains for minutes
and the notebooks' times are measured on a warm cache. ``python -m
minimodels.experiments`` does the same; ``--list`` only counts.
"""

from __future__ import annotations

import argparse
import time

from .data_efficiency import data_efficiency_requests
from .locality import diagonal_requests
from .parameters import control_requests, size_family_requests
from .robustness import robustness_requests
from .runner import SEEDS, _prepare, is_cached, request, request_key, train_many
from .translation import translation_requests

__all__ = ["all_requests", "warm_up"]


def all_requests(seeds=SEEDS) -> list[dict]:
    """Every training run of chapters 04 and 07-12, each once."""
    runs = [request("cnn", 0), request("vit", 0)]
    for group in (
        diagonal_requests(seeds),
        size_family_requests(seeds),
        control_requests(seeds),
        translation_requests(seeds),
        data_efficiency_requests(seeds),
        robustness_requests(seeds),
    ):
        runs += [r for reqs in group.values() for r in reqs]
    unique: dict[str, dict] = {}
    for r in runs:  # one per model trained, however a chapter asks for it
        unique.setdefault(request_key(_prepare(**r)[-1]), r)
    return list(unique.values())


# Chapters 04 and 07 quote their recipe's training seconds beside the benchmarks'
# bars (measured with all cores), so these two train first, one at a time, with
# every thread; the rest share the cores one thread per run.
TIMED = (request("cnn", 0), request("vit", 0))


def warm_up(workers: int | None = None, progress: bool = True) -> int:
    """Train every run of :func:`all_requests` that is not cached; how many were."""
    requests = all_requests()
    missing = [r for r in requests if not is_cached(r)]
    start = time.perf_counter()
    timed = [r for r in missing if r in TIMED]
    train_many(timed, workers=1, progress=progress)
    train_many([r for r in missing if r not in TIMED], workers, progress=progress)
    if progress:
        print(
            f"{len(requests)} models, {len(missing)} trained in "
            f"{time.perf_counter() - start:.0f} s, {len(requests) - len(missing)} "
            "from the cache",
            flush=True,
        )
    return len(missing)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--list", action="store_true", help="only count the runs")
    args = parser.parse_args()
    if args.list:
        requests = all_requests()
        missing = sum(not is_cached(r) for r in requests)
        print(f"{len(requests)} models, {missing} not cached")
        return
    warm_up(args.workers)
