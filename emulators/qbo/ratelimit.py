"""Sliding-window request meters, one per realm (not thread-safe: the store's lock guards them)."""

from __future__ import annotations

from collections import defaultdict, deque


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

    def clear(self) -> None:
        self._admitted.clear()


class RealmMeter:
    """QBO's per-realm limits: requests per minute, per second, and batch requests per minute.

    The per-minute limit meters every batch item like a call; the per-second limit counts HTTP requests (a
    batch of 30 could never pass a 10/s limit otherwise, yet QBO allows 30 items). Only admitted requests are
    counted: a throttled retry does not push the window further out.
    """

    def __init__(self, per_minute: int, per_second: int | None, batches_per_minute: int) -> None:
        self._per_minute = SlidingWindow(per_minute, 60.0)
        self._per_second = SlidingWindow(per_second, 1.0) if per_second is not None else None
        self._batches = SlidingWindow(batches_per_minute, 60.0)

    def admit(self, realm_id: str, now: float, cost: int, is_batch: bool) -> bool:
        charges: list[tuple[SlidingWindow, int]] = [(self._per_minute, cost)]
        if self._per_second is not None:
            charges.append((self._per_second, 1))
        if is_batch:
            charges.append((self._batches, 1))
        if not all(window.fits(realm_id, now, units) for window, units in charges):
            return False
        for window, units in charges:
            window.admit(realm_id, now, units)
        return True

    def clear(self) -> None:
        for window in (self._per_minute, self._per_second, self._batches):
            if window is not None:
                window.clear()
