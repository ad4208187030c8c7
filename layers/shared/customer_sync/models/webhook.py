"""PaySimple webhook envelope, as documented in reference/paysimple-api.md.

The models are built so that validation errors can never carry request data into a log line or a response:
- `hide_input_in_errors` keeps input values out of `str(ValidationError)`;
- no model uses `extra="forbid"`, because the error location would then be a key chosen by the sender;
- the names and emails in a customer event's `data` are dropped at validation: the sync fetches the full,
  current customer itself, so the webhook's copy of them is never read, kept or queued.
"""

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from customer_sync.models.messages import CustomerEventType

# PaySimple ids are JSON integers. Strict: no bools, no floats, no strings. Bounded so that an id can never
# build an absurd secret name (which Secrets Manager would reject with an error other than "not found").
PaySimpleId = Annotated[int, Field(strict=True, gt=0, le=2**63 - 1)]

# event_id becomes the SQS MessageDeduplicationId, which allows 1-128 printable ASCII characters, no spaces.
EventId = Annotated[str, StringConstraints(strict=True, pattern=r"^[!-~]{1,128}$")]

EventType = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=100)]

_ISO_TIMESTAMP = re.compile(
    r"^(?P<seconds>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d{1,9}))?(?P<zone>Z|[+-]\d{2}:\d{2})?$"
)


_NOT_A_TIMESTAMP = "must be an ISO 8601 timestamp such as 2018-06-20T21:42:31.5412011Z"


def parse_paysimple_timestamp(value: object) -> datetime:
    """PaySimple sends .NET's 7 fractional digits ("2018-06-20T21:42:31.5412011Z"); Python's datetime holds 6.

    Extra digits are truncated (never rounded, so an event never moves into the next second). A timestamp
    without a zone is UTC, as PaySimple documents all its timestamps to be. The result is always in UTC.
    """
    if isinstance(value, datetime):
        parsed = value
    else:
        match = _ISO_TIMESTAMP.match(value) if isinstance(value, str) else None
        if match is None:
            # The input itself is never quoted back: error messages must not echo request data.
            raise ValueError(_NOT_A_TIMESTAMP)
        fraction = (match["fraction"] or "").ljust(6, "0")[:6]
        zone = match["zone"] or "Z"
        try:
            parsed = datetime.fromisoformat(
                f"{match['seconds']}.{fraction}{'+00:00' if zone == 'Z' else zone}"
            )
        except ValueError:
            raise ValueError(_NOT_A_TIMESTAMP) from None  # e.g. month 13, or an offset of 24 hours
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        # Year 9999 at -23:59 (or year 1 at +23:59) is past the last (first) instant a datetime holds.
        raise ValueError("must be a timestamp between the years 0001 and 9999 in UTC") from None


PaySimpleTimestamp = Annotated[datetime, BeforeValidator(parse_paysimple_timestamp)]


class _WebhookModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)


class WebhookMerchant(_WebhookModel):
    """The one field read before the signature is verified: it says whose signing key to verify with."""

    merchant_id: PaySimpleId


class WebhookEnvelope(_WebhookModel):
    """Any PaySimple event. Other event types (payments, ...) are acknowledged and ignored, so their `data` is
    only checked to be an object. `client_id` is deprecated and ignored."""

    event_type: EventType
    event_id: EventId
    merchant_id: PaySimpleId
    created_at: PaySimpleTimestamp
    data: dict[str, Any]


class CustomerEventData(_WebhookModel):
    """`data` of customer_created / customer_updated / customer_deleted. Only the id is kept; first_name,
    last_name and email (absent from customer_deleted) are dropped."""

    customer_id: PaySimpleId


class CustomerWebhook(WebhookEnvelope):
    """A customer_created / customer_updated / customer_deleted event."""

    event_type: CustomerEventType
    data: CustomerEventData  # type: ignore[assignment]  # narrows the envelope's free-form data
