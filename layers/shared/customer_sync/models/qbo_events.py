"""QBO webhooks (reference/qbo-api.md "Webhooks"): Intuit's CloudEvents as they arrive, and the message on
QboChangesQueue: the contract between QboWebhookFunction and QboChangesFunction.

Events carry ids only; so does the message: the current state is read from QBO (or comes from CDC).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

QboChangeKind = Literal["created", "updated", "deleted", "merged"]
# `qbo.customer.<kind>.v1`: the only events customer-sync acts on; any other type is acknowledged, ignored.
_CUSTOMER_EVENT = re.compile(r"^qbo\.customer\.(created|updated|deleted|merged)\.v1$")
_REALM_ID = r"^[0-9A-Za-z-]{1,64}$"
_ENTITY_ID = r"^[0-9A-Za-z-]{1,64}$"
# SQS FIFO deduplication ids are at most 128 characters.
_MAX_DEDUPLICATION_ID = 128


class QboCloudEvent(BaseModel):
    """One element of the JSON array Intuit POSTs. Unknown attributes are ignored (CloudEvents allows
    extensions); the ones customer-sync reads are checked."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    specversion: str = Field(min_length=1, max_length=16)
    id: str = Field(min_length=1, max_length=256)
    type: str = Field(min_length=1, max_length=256)
    time: datetime | None = None
    intuitentityid: str = Field(pattern=_ENTITY_ID)
    intuitaccountid: str = Field(pattern=_REALM_ID)
    data: dict[str, Any] | None = None

    @property
    def customer_change(self) -> QboChangeKind | None:
        """created/updated/deleted/merged for a Customer event, None for any other."""
        match = _CUSTOMER_EVENT.match(self.type)
        return match.group(1) if match else None  # type: ignore[return-value]

    @property
    def deleted_id(self) -> str | None:
        """A merge's `data.deletedid`: the customer merged into this one (and gone)."""
        value = (self.data or {}).get("deletedid")
        return str(value) if isinstance(value, str | int) and str(value) else None


class QboChangeMessage(BaseModel):
    """A change to one QBO customer of one company: ids and the event's time only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    realm_id: str = Field(pattern=_REALM_ID)
    qbo_customer_id: str = Field(pattern=_ENTITY_ID)
    change: QboChangeKind
    event_id: str = Field(min_length=1, max_length=256)
    occurred_at: datetime | None = None
    deleted_id: str | None = Field(default=None, pattern=_ENTITY_ID)

    @classmethod
    def from_event(cls, event: QboCloudEvent) -> QboChangeMessage:
        change = event.customer_change
        if change is None:
            raise ValueError(f"not a customer event: {event.type}")
        return cls(
            realm_id=event.intuitaccountid,
            qbo_customer_id=event.intuitentityid,
            change=change,
            event_id=event.id,
            occurred_at=event.time,
            deleted_id=event.deleted_id if change == "merged" else None,
        )

    @property
    def message_group_id(self) -> str:
        """One company's changes in order: a merge touches two customers, so the group is the realm."""
        return self.realm_id

    @property
    def deduplication_id(self) -> str:
        """The event id (hashed when too long for SQS): Intuit's redeliveries within 5 minutes are dropped."""
        if len(self.event_id) <= _MAX_DEDUPLICATION_ID and re.fullmatch(r"[!-~]+", self.event_id):
            return self.event_id
        return hashlib.sha256(self.event_id.encode("utf-8")).hexdigest()
