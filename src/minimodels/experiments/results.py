"""The chapters' results as typed values, and their way into and out of the cache.

Each evidence chapter's experiment returns one small frozen dataclass (defined in
its module: :class:`~.locality.Locality`, :class:`~.parameters.ParameterEfficiency`,
:class:`~.translation.Translation`, :class:`~.data_efficiency.DataEfficiency`,
:class:`~.robustness.Robustness`), so a chapter, ``minimodels.verdicts`` and the
tests agree on a result's fields by name, checked when it is built, instead of by
string keys shared by convention. A number over seeds is a
:class:`~minimodels.stats.Interval` (mean, 95% interval, the seeds' values).

The cache stores only plain containers (it loads with ``weights_only``, so a file
cannot run code): :func:`to_plain` takes a result apart, :func:`from_plain`
rebuilds it from its type annotations.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Callable, TypeVar

from ..cache import cached
from ..stats import Interval, t_interval

__all__ = ["Interval", "over_seeds", "to_plain", "from_plain", "cached_result"]

T = TypeVar("T")


def over_seeds(values) -> Interval:
    """The mean of one number measured on each seed's run, with its 95% t-interval."""
    return t_interval(values)


def to_plain(value: Any) -> Any:
    """``value`` with every dataclass and named tuple turned into a dict (recursively),
    and tuples into lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {k: to_plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def from_plain(kind: Any, value: Any) -> Any:
    """Rebuild a value of type ``kind`` (a dataclass, named tuple, ``list[...]``,
    ``tuple[...]``, ``dict[..., ...]``, ``X | None`` or a plain type) from
    :func:`to_plain`'s output."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) != 1:
            raise TypeError(f"only 'X | None' unions can be rebuilt, got {kind}")
        return from_plain(options[0], value)
    if isinstance(kind, type) and (
        dataclasses.is_dataclass(kind)
        or issubclass(kind, tuple)
        and hasattr(kind, "_fields")
    ):
        hints = typing.get_type_hints(kind)
        return kind(**{k: from_plain(hints[k], v) for k, v in value.items()})
    if origin is list:
        return [from_plain(args[0], v) for v in value]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_plain(args[0], v) for v in value)
        return tuple(from_plain(a, v) for a, v in zip(args, value))
    if origin is dict:
        return {
            from_plain(args[0], k): from_plain(args[1], v) for k, v in value.items()
        }
    return value


def cached_result(name: str, spec: dict, kind: type[T], compute: Callable[[], T]) -> T:
    """``compute()``, a ``kind``, through the cache (keyed by ``name``, ``spec`` and
    the package's code, like every cached value)."""
    return from_plain(kind, cached(name, spec, lambda: to_plain(compute())))
