"""The message on CustomerChangesQueue: the contract between IngestFunction and SyncFunction."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from customer_sync.errors import UnreadableMessage
from customer_sync.models.validation import invalid_fields

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
    # 0 for a webhook; an admin redrive re-sends the same event with the next number, so the sync's
    # idempotency record of the first (parked) attempt does not swallow the redrive.
    redrive_attempt: int = Field(default=0, ge=0)

    @property
    def message_group_id(self) -> str:
        return f"{self.merchant_id}:{self.customer_id}"

    @property
    def deduplication_id(self) -> str:
        if self.redrive_attempt:
            return f"{self.event_id}#redrive-{self.redrive_attempt}"
        return self.event_id


def change_from_body(body: str) -> CustomerChangeMessage:
    """A queue message's body as the change it carries; UnreadableMessage (naming the fields at fault,
    never their values) when it is not one."""
    try:
        return CustomerChangeMessage.model_validate_json(body)
    except ValidationError as error:
        fields = invalid_fields(error, whole="(body)")
        raise UnreadableMessage(f"not a customer change message (fields: {fields})") from None
