"""The clock the domain reads (adapters/clock.py; tests pass a fixed one)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...
