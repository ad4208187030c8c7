"""Small shapes shared by the models: UTC timestamps with one fixed text form, result pages and leases.
(Validation errors are described in models/validation.py.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, PlainSerializer

ISO_UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """Always microseconds and `Z`, so stored timestamps sort as text in time order."""
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(UTC).strftime(ISO_UTC_FORMAT)


# Naive datetimes are rejected: a stored time without a zone is a bug waiting for a DST change.
UtcDatetime = Annotated[
    AwareDatetime,
    AfterValidator(to_utc),
    PlainSerializer(iso_utc, return_type=str, when_used="json"),
]

ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """One page of a listing. `next_cursor` is opaque; None means there is nothing after this page."""

    model_config = ConfigDict(frozen=True)

    items: list[ItemT]
    next_cursor: str | None = None


class Lease(BaseModel):
    """A held per-merchant lease (adapters/locks.py): `owner` is this holder's random id, `fence` its fencing
    token, larger for every later holder."""

    model_config = ConfigDict(frozen=True)

    owner: str
    fence: int
