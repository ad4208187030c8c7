"""`built_once`: a builder cached for the life of the Lambda container, cleared all together by `reset()`."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TypeVar

from customer_sync.config import load_settings

T = TypeVar("T")

_clearers: list[Callable[[], None]] = []


def built_once(builder: Callable[[], T]) -> Callable[[], T]:
    """`builder`, called at most once until `reset()`."""
    cached = cache(builder)
    _clearers.append(cached.cache_clear)
    return cached


def reset() -> None:
    """Forget every built object and the settings, so the next call reads the environment again."""
    load_settings.cache_clear()
    for clear in _clearers:
        clear()
