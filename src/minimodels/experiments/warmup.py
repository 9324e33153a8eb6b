"""Every model the book trains, trained in one pool before the book is built.

``make models`` (which ``make book`` and ``make test`` run first) calls
:func:`warm_up`: the runs of every chapter that are not cached yet are spread
over all cores at once, longest first, so no notebook cell trains for minutes
and the notebooks' times are measured on a warm cache. Then each evidence
chapter's analysis of those models (:data:`ANALYSES`: shift curves, attention
distances, corruptions, ...) is computed and cached the same way, side by side.
``python -m minimodels.experiments`` does the same; ``--list`` only counts.
"""

from __future__ import annotations

import argparse
import os
import time

from .data_efficiency import data_efficiency_requests
from .locality import diagonal_requests
from .parameters import control_requests, size_family_requests
from .robustness import robustness_requests
from .runner import (
    SEEDS,
    _in_workers,
    _prepare,
    is_cached,
    request,
    request_key,
    train_many,
)
from .translation import translation_requests

__all__ = ["ANALYSES", "all_requests", "analyse", "warm_up"]


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


# The evidence chapters' analyses (functions of minimodels.experiments, each cached),
# longest first. Computed before the book is built: the build and the tests execute
# every chapter several times, two at once (make test), and would otherwise compute
# a missing analysis twice at the same time.
ANALYSES = (
    "translation",
    "robustness",
    "locality",
    "parameter_efficiency",
    "data_efficiency",
)


def _analyse_quietly(name: str) -> None:
    """Worker: one chapter's analysis, stored in the cache."""
    from .. import experiments

    getattr(experiments, name)(progress=False)


def analyse(workers: int | None = None) -> None:
    """Compute (or find in the cache) every analysis of :data:`ANALYSES`, in
    ``workers`` processes (default: the number of cores)."""
    for _ in _in_workers(
        _analyse_quietly, list(ANALYSES), workers or os.cpu_count() or 1
    ):
        pass


def warm_up(workers: int | None = None, progress: bool = True) -> int:
    """Train every run of :func:`all_requests` that is not cached, then compute the
    chapters' analyses; how many models were trained."""
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
    start = time.perf_counter()
    analyse(workers)
    if progress:
        print(
            f"{len(ANALYSES)} analyses ready in {time.perf_counter() - start:.0f} s",
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
