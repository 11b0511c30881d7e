"""What a scorecard can measure: sources of per-account values that apps register.

A scorecard measure names `<source>:<key>` (`metric:logins_30d`, `contract:days_to_renewal`,
`survey:nps_latest`, `churn:risk`). Each source gives, for a day, one value per account, computed as of
that day (so past days can be rescored exactly and trends backfilled) for every account at once (100,000
accounts rescore in seconds, never account by account).

Apps depend downward, so `health` cannot import `churn`: the churn app registers its source from its
AppConfig.ready() with `register_source`, like the Account 360 panels.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.utils.functional import Promise


@dataclass(frozen=True)
class MeasureOption:
    key: str  # without the source prefix
    label: str | Promise
    unit: str | Promise = ""  # shown after values: 件, 日, 円, 点, %
    # Direction a default mapping assumes (more logins is better, more open inquiries is worse); None: no default.
    higher_is_better: bool | None = None
    category: str | Promise = ""


# keys (without prefix), the day, and optionally the accounts to read (None: all) ->
# a frame with `account_id` (Int64) and one Float64 column per key; null or a missing row = no data.
ValuesFn = Callable[[Sequence[str], dt.date, Sequence[int] | None], pl.DataFrame]


@dataclass(frozen=True)
class MeasureSource:
    prefix: str
    label: str | Promise
    options: Callable[[], list[MeasureOption]]
    values: ValuesFn


_SOURCES: dict[str, MeasureSource] = {}


def register_source(source: MeasureSource) -> None:
    """Add (or replace, by prefix) a source of measures, listed in registration order."""
    _SOURCES[source.prefix] = source


def sources() -> dict[str, MeasureSource]:
    return dict(_SOURCES)


def split_key(measure: str) -> tuple[str, str]:
    """`metric:logins_30d` -> (`metric`, `logins_30d`); raises KeyError naming an unknown source."""
    prefix, _, key = measure.partition(":")
    if prefix not in _SOURCES or not key:
        raise KeyError(measure)
    return prefix, key


# The analytics backend a rescore was asked to use (None: the configured one). Sources that compute with the
# engine read it with `current_backend()` so `rescore(as_of, backend=...)` reaches them through the fixed
# `values` signature.
_BACKEND: ContextVar[Any] = ContextVar("health_measure_backend", default=None)


@contextmanager
def using_backend(backend: Any) -> Iterator[None]:
    token = _BACKEND.set(backend)
    try:
        yield
    finally:
        _BACKEND.reset(token)


def current_backend() -> Any:
    """The analytics `Backend` of the rescore in progress, or None for the configured one."""
    return _BACKEND.get()
