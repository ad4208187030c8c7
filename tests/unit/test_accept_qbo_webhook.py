"""Accepting a QBO webhook delivery (domain/qbo_webhook.py): the order of checks, what is queued, and that
a refusal queues nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from customer_sync.domain.qbo_webhook import accept_qbo_webhook, qbo_signature_matches, sign_qbo_body
from customer_sync.errors import WebhookInvalid, WebhookNotJson, WebhookTooLarge, WebhookUnauthorized
from tests.fakes.qbo_side import FixedVerifierToken, RecordingChangePublisher

TOKEN = "verifier-token-from-the-portal"
LIMIT = 4096


def event(
    realm: str = "9130350000000001", entity: str = "7", kind: str = "updated", **extra: Any
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": extra.pop("id", f"{realm}-Customer-{entity}-{kind}"),
        "source": "intuit.abc",
        "type": f"qbo.customer.{kind}.v1",
        "datacontenttype": "application/json",
        "time": "2026-11-25T12:00:05Z",
        "intuitentityid": entity,
        "intuitaccountid": realm,
        "data": {},
        **extra,
    }


def accept(body: bytes, signature: str | None, publisher: RecordingChangePublisher | None = None) -> Any:
    return accept_qbo_webhook(
        body,
        signature,
        verifier=FixedVerifierToken(TOKEN),
        publisher=publisher or RecordingChangePublisher(),
        max_body_bytes=LIMIT,
    )


def signed(document: Any) -> tuple[bytes, str]:
    body = json.dumps(document).encode()
    return body, sign_qbo_body(body, TOKEN)


def test_customer_events_are_queued_per_company_with_their_ids_only() -> None:
    # Given a delivery with events of two companies, a merge among them
    body, signature = signed(
        [event("1", "7"), event("2", "9", "merged", data={"deletedid": "4"}), event("1", "8", "deleted")]
    )
    publisher = RecordingChangePublisher()
    # When it is accepted
    outcome = accept(body, signature, publisher)
    # Then one message per event, grouped by company, the merge naming the customer it absorbed
    assert (outcome.accepted, outcome.realm_ids) == (3, ("1", "2"))
    assert [(m.realm_id, m.qbo_customer_id, m.change, m.deleted_id) for m in publisher.qbo_changes] == [
        ("1", "7", "updated", None),
        ("2", "9", "merged", "4"),
        ("1", "8", "deleted", None),
    ]
    assert [m.message_group_id for m in publisher.qbo_changes] == ["1", "2", "1"]


def test_the_same_event_twice_in_one_delivery_is_queued_once_and_other_entities_are_ignored() -> None:
    vendor = {**event(entity="3"), "type": "qbo.vendor.updated.v1", "id": "vendor-3"}
    body, signature = signed([event(), event(), vendor])
    publisher = RecordingChangePublisher()
    outcome = accept(body, signature, publisher)
    assert (outcome.accepted, outcome.repeated, outcome.ignored) == (1, 1, 1)
    assert len(publisher.qbo_changes) == 1


@pytest.mark.parametrize(
    ("body", "signature", "error"),
    [
        pytest.param(b"[" + b" " * LIMIT + b"]", "x", WebhookTooLarge, id="too large, before anything"),
        pytest.param(b"not json", None, WebhookUnauthorized, id="no signature, before parsing"),
        pytest.param(b"not json", "bm90LXRoZS1zaWduYXR1cmU=", WebhookUnauthorized, id="wrong signature"),
        pytest.param(b"[]", "%%% not base64", WebhookUnauthorized, id="signature not base64"),
    ],
)
def test_a_refusal_queues_nothing(body: bytes, signature: str | None, error: type[Exception]) -> None:
    publisher = RecordingChangePublisher()
    with pytest.raises(error):
        accept(body, signature, publisher)
    assert publisher.qbo_changes == []


@pytest.mark.parametrize(
    ("document", "error", "message"),
    [
        pytest.param(None, WebhookNotJson, "not valid JSON", id="not JSON"),
        pytest.param({"id": "1"}, WebhookInvalid, "JSON array", id="an object, not an array"),
        pytest.param([event(), {"id": "x"}], WebhookInvalid, "[1] ", id="an element that is no CloudEvent"),
        pytest.param([event(intuitaccountid="a b")], WebhookInvalid, "intuitaccountid", id="a bad realm id"),
    ],
)
def test_a_signed_body_of_the_wrong_shape_is_refused_naming_where(
    document: Any, error: type[Exception], message: str
) -> None:
    body = b"{not json" if document is None else json.dumps(document).encode()
    publisher = RecordingChangePublisher()
    with pytest.raises(error, match=message.replace("[", r"\[")):
        accept(body, sign_qbo_body(body, TOKEN), publisher)
    assert publisher.qbo_changes == []


def test_a_queue_that_refuses_fails_the_delivery_so_intuit_retries_it() -> None:
    body, signature = signed([event()])
    publisher = RecordingChangePublisher()
    publisher.fail = True
    with pytest.raises(RuntimeError):
        accept(body, signature, publisher)


def test_the_signature_is_base64_hmac_sha256_of_the_exact_bytes() -> None:
    body = b'[{"a": 1}]'
    signature = sign_qbo_body(body, TOKEN)
    assert qbo_signature_matches(body, signature, TOKEN)
    assert not qbo_signature_matches(b'[{"a":1}]', signature, TOKEN)  # re-serialised JSON is other bytes
    assert not qbo_signature_matches(body, signature, "another-token")
    assert not qbo_signature_matches(body, None, TOKEN)
