"""Accepting a QBO webhook delivery (`POST /webhooks/qbo`): verify, split by company, queue, answer at once.

Intuit wants 200 within 3 s and retries anything else (reference/qbo-api.md "Webhooks"), so nothing slow
happens here: one secret read (cached) and SendMessageBatch calls. Order of checks, each stopping at the
first failure, none revealing more than Intuit's public documentation:

1. raw body over `max_body_bytes`, before anything else          -> WebhookTooLarge 413
2. no `intuit-signature` header                                  -> WebhookUnauthorized 401
3. base64(HMAC-SHA256(verifier token, raw body)) differs          -> WebhookUnauthorized 401, same text
4. body not JSON / not a JSON array                              -> WebhookNotJson 400 / WebhookInvalid 422
5. an element not a CloudEvent (now that the sender is known)    -> WebhookInvalid 422, naming it
6. Customer events, each once per delivery (`id`), one message per event, grouped by company (the realm):
   queued; any other event (other entities) is acknowledged and ignored.

Duplicates: Intuit repeats deliveries (retries, and later ones). The message's deduplication id is the
event id, so SQS drops a repeat within 5 minutes; QboChangesFunction's idempotency on the event id makes
a later one a no-op. A delivery is answered 200 only once every message is queued; otherwise the handler
fails, and Intuit retries the whole delivery (what was queued is deduplicated).

The verifier token is the app's (Intuit developer portal), not the OAuth client secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, NoReturn

from pydantic import ValidationError

from customer_sync.domain.ingest import describe_validation_error
from customer_sync.errors import WebhookInvalid, WebhookNotJson, WebhookTooLarge, WebhookUnauthorized
from customer_sync.models.qbo_events import QboChangeMessage, QboCloudEvent
from customer_sync.ports import QboChangePublisher, QboVerifierToken

SIGNATURE_HEADER = "intuit-signature"


def sign_qbo_body(raw_body: bytes, verifier_token: str) -> str:
    """The `intuit-signature` Intuit sends for `raw_body`."""
    digest = hmac.new(verifier_token.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def qbo_signature_matches(raw_body: bytes, signature: str | None, verifier_token: str) -> bool:
    """Constant-time comparison of the decoded digests (a non-base64 header simply does not match)."""
    if not signature:
        return False
    try:
        received = base64.b64decode(signature.strip(), validate=True)
    except (ValueError, binascii.Error):
        return False
    expected = hmac.new(verifier_token.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, received)


@dataclass(frozen=True)
class QboWebhookOutcome:
    accepted: int  # customer events queued
    ignored: int  # events of other entities
    repeated: int  # the same event id twice in this delivery
    realm_ids: tuple[str, ...]


def accept_qbo_webhook(
    raw_body: bytes,
    signature: str | None,
    *,
    verifier: QboVerifierToken,
    publisher: QboChangePublisher,
    max_body_bytes: int,
) -> QboWebhookOutcome:
    """Verify one delivery and queue its customer events. Raises WebhookRejected."""
    if len(raw_body) > max_body_bytes:
        raise WebhookTooLarge(f"body exceeds {max_body_bytes} bytes")
    if signature is None:
        raise WebhookUnauthorized("no intuit-signature header")
    if not qbo_signature_matches(raw_body, signature, verifier.verifier_token()):
        raise WebhookUnauthorized("the signature does not match the verifier token")
    events = _events(raw_body)
    seen: set[str] = set()
    messages: list[QboChangeMessage] = []
    ignored = repeated = 0
    for event in events:
        if event.id in seen:
            repeated += 1
            continue
        seen.add(event.id)
        if event.customer_change is None:
            ignored += 1
            continue
        messages.append(QboChangeMessage.from_event(event))
    if messages:
        publisher.publish_all(messages)
    realms = tuple(sorted({message.realm_id for message in messages}))
    return QboWebhookOutcome(accepted=len(messages), ignored=ignored, repeated=repeated, realm_ids=realms)


def _reject_json_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _events(raw_body: bytes) -> list[QboCloudEvent]:
    try:
        document: Any = json.loads(raw_body, parse_constant=_reject_json_constant)
    except (ValueError, RecursionError):
        # `from None`: a JSONDecodeError carries the whole document.
        raise WebhookNotJson("body is not valid JSON") from None
    if not isinstance(document, list):
        raise WebhookInvalid("body: must be a JSON array of CloudEvents")
    events: list[QboCloudEvent] = []
    for index, element in enumerate(document):
        try:
            events.append(QboCloudEvent.model_validate(element))
        except ValidationError as error:
            raise WebhookInvalid(f"[{index}] {describe_validation_error(error)}") from None
    return events
