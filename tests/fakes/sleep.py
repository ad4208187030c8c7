"""A `sleep` that returns at once and remembers how long it was asked to wait."""

from __future__ import annotations


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
