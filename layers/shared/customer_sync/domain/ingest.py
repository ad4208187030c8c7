"""Accepting a PaySimple webhook: verify, validate, enqueue only what the sync needs.

Order of checks. Each stops at the first failure. Until the signature is verified (step 6) a caller learns
nothing about the envelope's schema or about which merchants exist: every failure up to there is the same
401, except two that only restate public limits of the transport (steps 2 and 3).

 1. no `PaySimple-Hmac-SHA256` header (or several     -> WebhookUnauthorized 401, before the body is read
    different ones, or an empty one)
 2. body that API Gateway cannot hand over as bytes   -> UndecodableBody     400 (bad base64, lone surrogate)
 3. raw body over `max_body_bytes`                    -> WebhookTooLarge     413, before any parsing
 4. no merchant named: the body is not a JSON object  -> WebhookUnauthorized 401, the same message: nobody
    with a positive integer `merchant_id` (or is        can verify such a body
    nested too deep to read)
 5. no signing key stored for that merchant           -> WebhookUnauthorized 401, the same message
    (unknown, off-boarded, or onboarded before the
    signing-key secret existed and not yet migrated:
    `make migrate-signing-keys`); a stored key that
    is malformed raises MerchantSecretInvalid         -> 401 to the caller, an error metric for operators
 6. HMAC of the raw body bytes differs                -> WebhookUnauthorized 401, the same message
    ---- verified: from here on the sender is the merchant, and is told what is wrong ----
 7. body not strict JSON: not UTF-8, NaN/Infinity,    -> WebhookNotJson      400
    a lone UTF-16 surrogate
 8. the full envelope                                 -> WebhookInvalid      422, naming each field
 9. an event type other than the customer ones        -> "ignored"           202, nothing queued
10. a customer event                                  -> "accepted"          202, one message queued

Step 4 reads the merchant leniently (any text decoding, NaN allowed) so that a verified sender whose body is
JSON-like but not strict JSON is still told so (400) in step 7, rather than being refused as unknown.

Duplicates: the queue message's deduplication id is the event id, so SQS FIFO drops a redelivery that arrives
within its 5-minute window. PaySimple's later retries (hourly, for 72 hours) are enqueued again; the sync's
idempotency on the event id turns them into no-ops. Every refusal is a 4xx and enqueues nothing; PaySimple
retries a 401 too, so a merchant whose signing key is migrated within 72 hours loses no change.

Nothing here ever quotes the body: error messages are built from field locations and pydantic's generic
messages only, because merchants paste card numbers into names and notes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, TypeVar

from pydantic import ValidationError

from customer_sync.config.ingest import IngestSettings
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
    signature: str | None,
    read_body: Callable[[], bytes],
    *,
    keys: SigningKeys,
    publisher: ChangePublisher,
    settings: IngestSettings,
) -> WebhookOutcome:
    """Verify and validate one delivery; enqueue it if it is a customer event. Raises WebhookRejected (or
    UndecodableBody from `read_body`, MerchantSecretInvalid from `keys`). `read_body` is called only for a
    request that carries a signature."""
    if not signature:
        raise WebhookUnauthorized("no signature header")
    raw_body = read_body()
    if len(raw_body) > settings.max_body_bytes:
        raise WebhookTooLarge(f"body exceeds {settings.max_body_bytes} bytes")

    merchant_id = claimed_merchant(raw_body)
    if merchant_id is None:
        raise WebhookUnauthorized("no merchant_id in the body")
    signing_key = keys.signing_key(merchant_id)
    if signing_key is None:
        raise WebhookUnauthorized("no signing key stored for the merchant", merchant_id=merchant_id)
    if not signature_matches(raw_body, signature, signing_key, settings.webhook_signature_encoding):
        raise WebhookUnauthorized("signature mismatch", merchant_id=merchant_id)

    document = _parse_strict_json_object(raw_body)
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


def claimed_merchant(raw_body: bytes) -> str | None:
    """The merchant whose key the signature must be checked with, or None when the body names none.

    Lenient on purpose (step 4): undecodable bytes are replaced and NaN is accepted, because strictness is
    judged only after the signature, in step 7. Only a positive integer in range names a merchant."""
    try:
        document = json.loads(raw_body.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    try:
        return str(WebhookMerchant.model_validate(document).merchant_id)
    except ValidationError:
        return None


def _reject_json_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _parse_strict_json_object(raw_body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw_body.decode("utf-8"), parse_constant=_reject_json_constant)
    except (ValueError, RecursionError):
        # `from None`: a JSONDecodeError carries the whole document (`.doc`).
        raise WebhookNotJson("body is not valid JSON") from None
    if _holds_lone_surrogate(document):
        # JSON's `\ud800` escapes decode to text that cannot be encoded again (RFC 8259 section 8.2): it
        # would fail later, in a log line or the queue, instead of here with a clear answer.
        raise WebhookNotJson("body is not valid JSON: it holds a lone UTF-16 surrogate")
    if not isinstance(document, dict):
        raise WebhookInvalid("body: must be a JSON object")
    return document


def _holds_lone_surrogate(value: object) -> bool:
    # Iterative: a deeply nested document must not exhaust the stack here either.
    pending = [value]
    while pending:
        current = pending.pop()
        if isinstance(current, str):
            if any("\ud800" <= character <= "\udfff" for character in current):
                return True
        elif isinstance(current, dict):
            pending.extend(current.keys())
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)
    return False


ModelT = TypeVar("ModelT", WebhookEnvelope, CustomerWebhook)


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
