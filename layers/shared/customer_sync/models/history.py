"""What happened to a customer (history entries) and changes the sync gave up on (parked failures)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from customer_sync.models.common import UtcDatetime
from customer_sync.models.messages import CustomerChangeMessage

HistoryAction = Literal[
    "created",
    "updated",
    "linked",
    "unchanged",
    "skipped",
    "unlinked",
    "parked",
    "failed",
    "deleted",
    "deactivated",
    "merged",
    "unmerged",
    "manual_link",
    "manual_unlink",
    "retried",
    # What a person did in QBO (QBO webhooks and the CDC sweep, domain.qbo_changes):
    "qbo_edited",  # a mapped field changed after our last write: drift, before = ours, after = theirs
    "qbo_inactive",  # the QBO customer was made inactive
    "qbo_reactivated",  # ... and active again
    "qbo_deleted",  # deleted or merged away in QBO (a merge relinks when its event names the survivor)
    "qbo_merged",  # QBO merged the linked customer into another: the link moved to the survivor
]


class FieldChange(BaseModel):
    """One QBO field as it was before and after a write. Scrubbed of payment data before it is stored
    (domain.qbo_values.scrub_changes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    before: Any = None
    after: Any = None


class Truncation(BaseModel):
    """A value cut to fit a QBO limit, noted so nothing is ever cut silently. `field` is the QBO field,
    dotted for address parts ("BillAddr.Line1")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    original_length: int = Field(ge=0)
    limit: int = Field(ge=0)


class HistoryEntry(BaseModel):
    """One event's outcome for one customer. (event_id, action) identifies it: recording twice is a no-op."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    merchant_id: str = Field(min_length=1)
    paysimple_customer_id: str = Field(min_length=1)
    event_id: str = Field(min_length=1)
    event_type: str = Field(min_length=1)
    occurred_at: UtcDatetime
    recorded_at: UtcDatetime
    action: HistoryAction
    qbo_customer_id: str | None = None
    changes: dict[str, FieldChange] = Field(default_factory=dict)
    truncations: list[Truncation] = Field(default_factory=list)
    qbo_calls: int = Field(default=0, ge=0)
    error: str | None = None
    detail: str | None = None


class DeadLetterArrival(BaseModel):
    """How a failure came from the DLQ: SQS moved the change there after `receive_count` deliveries (its
    retries ran out), as message `message_id`, and the DLQ consumer recorded it at `arrived_at`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str = Field(min_length=1)
    receive_count: int = Field(ge=0)
    arrived_at: UtcDatetime


class ParkedFailure(BaseModel):
    """A change that failed: parked by the sync after a permanent error, or recorded from the DLQ after its
    retries ran out (`dead_letter`). `message` holds ids only, never customer data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    merchant_id: str = Field(min_length=1)
    paysimple_customer_id: str = Field(min_length=1)
    event_id: str = Field(min_length=1)
    message: CustomerChangeMessage
    reason: str
    code: str | None = None
    parked_at: UtcDatetime
    attempts: int = Field(default=1, ge=1)
    dead_letter: DeadLetterArrival | None = None
