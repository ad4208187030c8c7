"""Sliding-window request meters, one per realm (not thread-safe: the store's lock guards them)."""

from __future__ import annotations

from collections import defaultdict, deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulators.qbo.store import RateLimits


class SlidingWindow:
    """At most `limit` units per `window_seconds`, counted over the last window from now."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self._limit = limit
        self._window = window_seconds
        self._admitted: defaultdict[str, deque[float]] = defaultdict(deque)

    def fits(self, key: str, now: float, cost: int = 1) -> bool:
        admitted = self._admitted[key]
        while admitted and admitted[0] <= now - self._window:
            admitted.popleft()
        return len(admitted) + cost <= self._limit

    def admit(self, key: str, now: float, cost: int = 1) -> None:
        self._admitted[key].extend([now] * cost)


class RealmMeter:
    """QBO's per-realm limits: requests per minute, per second, and batch requests per minute.

    The per-minute limit meters every batch item like a call; the per-second limit counts HTTP requests (a
    batch of 30 could never pass a 10/s limit otherwise, yet QBO allows 30 items). Only admitted requests are
    counted: a throttled retry does not push the window further out. A limit that is None is not enforced.
    """

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._per_minute = SlidingWindow(limits.per_minute, 60.0) if limits.per_minute is not None else None
        self._per_second = SlidingWindow(limits.per_second, 1.0) if limits.per_second is not None else None
        self._batches = (
            SlidingWindow(limits.batches_per_minute, 60.0) if limits.batches_per_minute is not None else None
        )

    def admit(self, realm_id: str, now: float, cost: int, is_batch: bool) -> bool:
        charges: list[tuple[SlidingWindow | None, int]] = [(self._per_minute, cost), (self._per_second, 1)]
        if is_batch:
            charges.append((self._batches, 1))
        metered = [(window, units) for window, units in charges if window is not None]
        if not all(window.fits(realm_id, now, units) for window, units in metered):
            return False
        for window, units in metered:
            window.admit(realm_id, now, units)
        return True
