"""PaySimple is a .NET service: its timestamps carry up to 7 fractional digits (100 ns ticks)."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def event_timestamp(moment: datetime, ticks: int = 0) -> str:
    """Webhook `created_at`: always 7 fractional digits, e.g. `2018-06-20T21:42:31.5412011Z`.

    Python's datetime stops at microseconds; `ticks` (0-9) is the seventh digit, the 100 ns tick .NET adds.
    """
    if not 0 <= ticks <= 9:
        raise ValueError("ticks is one digit")
    utc = _as_utc(moment)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond:06d}{ticks}Z"


def record_timestamp(moment: datetime) -> str:
    """`CreatedOn`/`LastModified`: .NET's round-trip form, trailing zeros trimmed (`:31.54Z`, `:31Z`)."""
    utc = _as_utc(moment)
    fraction = f"{utc.microsecond:06d}0".rstrip("0")
    return f"{utc:%Y-%m-%dT%H:%M:%S}{'.' + fraction if fraction else ''}Z"


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
