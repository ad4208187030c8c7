"""Timestamps the way QBO writes them: Pacific-time offsets, ISO 8601."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

# QBO reports times in the company's zone; the demo companies are Pacific (PDT).
COMPANY_ZONE = timezone(timedelta(hours=-7))


def metadata_time(epoch_seconds: float) -> str:
    """`MetaData.CreateTime`/`LastUpdatedTime`: seconds precision, e.g. 2026-01-01T10:00:00-07:00."""
    return datetime.fromtimestamp(epoch_seconds, COMPANY_ZONE).isoformat(timespec="seconds")


def parse_metadata_time(text: str) -> float:
    """Epoch seconds of a `MetaData` time (or any ISO 8601 time; one without a zone is the company's)."""
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=COMPANY_ZONE)).timestamp()


def response_time(epoch_seconds: float) -> str:
    """The `time` of an entity response: milliseconds, e.g. 2026-01-01T10:00:00.000-07:00."""
    return datetime.fromtimestamp(epoch_seconds, COMPANY_ZONE).isoformat(timespec="milliseconds")


def platform_time(epoch_seconds: float) -> int:
    """The `time` of a lower-case platform fault: epoch milliseconds."""
    return int(epoch_seconds * 1000)


def new_intuit_tid() -> str:
    """A trace id shaped like Intuit's `intuit_tid` header."""
    return f"1-{secrets.token_hex(4)}-{secrets.token_hex(12)}"
