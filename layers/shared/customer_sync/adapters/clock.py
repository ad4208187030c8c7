"""The wall clock (ports.Clock): timezone-aware UTC, so stored times never depend on the host's zone."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
