"""Accepting a PaySimple webhook: verify, validate, enqueue only what the sync needs.

Order of checks. Each stops at the first failure, and the earlier ones reveal nothing that is not already in
PaySimple's public documentation of the envelope:

1. raw body over `max_body_bytes` (before parsing)   -> WebhookTooLarge     413
2. body not JSON / not a JSON object                 -> WebhookNotJson 400 / WebhookInvalid 422
3. `merchant_id` alone (it picks the signing key)    -> WebhookInvalid      422, names merchant_id only
4. no signature header                               -> WebhookUnauthorized 401
5. unknown merchant (no signing key)                 -> WebhookUnauthorized 401, the same message
6. HMAC of the raw body bytes differs                -> WebhookUnauthorized 401, the same message
7. the full envelope, now that the sender is known   -> WebhookInvalid      422, naming each field
8. an event type other than the customer ones        -> "ignored"           202, nothing queued
9. a customer event                                  -> "accepted"          202, one message queued

Only a verified request is told which of its fields are wrong (step 7), so an unsigned caller cannot use
this endpoint to probe the schema or the merchant list.

Duplicates: the queue message's deduplication id is the event id, so SQS FIFO drops a redelivery that arrives
within its 5-minute window. PaySimple's later retries (hourly, for 72 hours) are enqueued again; the sync's
idempotency on the event id turns them into no-ops.

Nothing here ever quotes the body: error messages are built from field locations and pydantic's generic
messages only, because merchants paste card numbers into names and notes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, TypeVar

from pydantic import ValidationError

from customer_sync.config import IngestSettings
from customer_sync.domain.webhook_signature import signature_matches
from customer_sync.errors import WebhookInvalid, WebhookNotJson, WebhookTooLarge, WebhookUnauthorized
from customer_sync.models.messages import CUSTOMER_EVENT_TYPES, CustomerChangeMessage
from customer_sync.models.webhook import CustomerWebhook, WebhookEnvelope, WebhookMerchant
from customer_sync.ports import ChangePublisher, SigningKeys


@dataclass(frozen=True)
class WebhookOutcome:
    status: Literal["accepted", "ignored"]
    event_id: str
    event_type: str
    merchant_id: str
    customer_id: str | None = None


def accept_webhook(
    raw_body: bytes,
    signature: str | None,
    *,
    keys: SigningKeys,
    publisher: ChangePublisher,
    settings: IngestSettings,
) -> WebhookOutcome:
    """Verify and validate one delivery; enqueue it if it is a customer event. Raises WebhookRejected."""
    if len(raw_body) > settings.max_body_bytes:
        raise WebhookTooLarge(f"body exceeds {settings.max_body_bytes} bytes")
    document = _parse_json_object(raw_body)
    merchant_id = str(_validated(WebhookMerchant, document).merchant_id)

    signing_key = keys.signing_key(merchant_id) if signature is not None else None
    if signing_key is None or not signature_matches(
        raw_body, signature, signing_key, settings.webhook_signature_encoding
    ):
        raise WebhookUnauthorized()

    event_type = document.get("event_type")
    if not (isinstance(event_type, str) and event_type in CUSTOMER_EVENT_TYPES):
        envelope = _validated(WebhookEnvelope, document)
        return WebhookOutcome("ignored", envelope.event_id, envelope.event_type, merchant_id)

    webhook = _validated(CustomerWebhook, document)
    message = CustomerChangeMessage(
        merchant_id=merchant_id,
        customer_id=str(webhook.data.customer_id),
        event_type=webhook.event_type,
        event_id=webhook.event_id,
        occurred_at=webhook.created_at,
    )
    publisher.publish(message)
    return WebhookOutcome("accepted", message.event_id, message.event_type, merchant_id, message.customer_id)


def _reject_json_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _parse_json_object(raw_body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw_body, parse_constant=_reject_json_constant)
    except (ValueError, RecursionError):
        # `from None`: a JSONDecodeError carries the whole document (`.doc`).
        raise WebhookNotJson("body is not valid JSON") from None
    if not isinstance(document, dict):
        raise WebhookInvalid("body: must be a JSON object")
    return document


ModelT = TypeVar("ModelT", WebhookMerchant, WebhookEnvelope, CustomerWebhook)


def _validated(model: type[ModelT], document: dict[str, Any]) -> ModelT:
    try:
        return model.model_validate(document)
    except ValidationError as error:
        # `from None`: the pydantic error holds the input values.
        raise WebhookInvalid(describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError) -> str:
    """`data.customer_id: Field required; created_at: ...`: locations and generic messages, never inputs."""
    issues = error.errors(include_url=False, include_context=False, include_input=False)
    # At most one issue per declared field, so the message stays short whatever the body holds.
    return "; ".join(
        f"{_location(issue['loc'])}: {_message(issue['type'], issue['msg'])}" for issue in issues
    )


def _location(loc: tuple[int | str, ...]) -> str:
    # Locations are declared field names or list positions: no model forbids extra keys, so a key chosen by
    # the sender never becomes part of a location.
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    return text or "body"


def _message(error_type: str, message: str) -> str:
    # pydantic names our model classes in these two; say what the sender must send instead.
    return "Input should be a JSON object" if error_type in {"model_type", "dict_type"} else message
