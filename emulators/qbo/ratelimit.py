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
    """QBO's per-realm limits: requests per minute, optionally per second, and batch requests per minute.

    Only admitted requests are counted: a throttled retry does not push the window further out.
    """

    def __init__(self, per_minute: int, per_second: int | None, batches_per_minute: int) -> None:
        self._windows = [SlidingWindow(per_minute, 60.0)]
        if per_second is not None:
            self._windows.append(SlidingWindow(per_second, 1.0))
        self._batches = SlidingWindow(batches_per_minute, 60.0)

    def admit(self, realm_id: str, now: float, cost: int, is_batch: bool) -> bool:
        windows = [*self._windows, self._batches] if is_batch else self._windows
        costs = [cost] * len(self._windows) + ([1] if is_batch else [])
        if not all(w.fits(realm_id, now, c) for w, c in zip(windows, costs, strict=True)):
            return False
        for window, window_cost in zip(windows, costs, strict=True):
            window.admit(realm_id, now, window_cost)
        return True

    def clear(self) -> None:
        for window in [*self._windows, self._batches]:
            window.clear()
