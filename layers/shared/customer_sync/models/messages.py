"""The message on CustomerChangesQueue: the contract between IngestFunction and SyncFunction."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CustomerEventType = Literal["customer_created", "customer_updated", "customer_deleted"]
CUSTOMER_EVENT_TYPES: frozenset[str] = frozenset({"customer_created", "customer_updated", "customer_deleted"})


class CustomerChangeMessage(BaseModel):
    """Only ids and the event's time travel on the queue: the sync fetches the current record itself,
    so no customer data (and no payment data) is ever queued."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    merchant_id: str = Field(min_length=1, max_length=64)
    customer_id: str = Field(min_length=1, max_length=64)
    event_type: CustomerEventType
    event_id: str = Field(min_length=1, max_length=128)
    occurred_at: datetime

    @property
    def message_group_id(self) -> str:
        return f"{self.merchant_id}:{self.customer_id}"

    @property
    def deduplication_id(self) -> str:
        return self.event_id
