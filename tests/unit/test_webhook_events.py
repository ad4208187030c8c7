"""The committed events/webhook_*.json: what the generator builds, signed with the documented test key."""

import functools
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from customer_sync.adapters.sqs import queue_body
from customer_sync.config.ingest import IngestSettings
from customer_sync.domain.ingest import accept_webhook
from events.generate import build_events, render

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
DOCUMENTED_KEY = "customer-sync-test-webhook-key-1225"  # as written in events/README.md
SIGNED_FILES = [
    "webhook_customer_created.json",
    "webhook_customer_updated.json",
    "webhook_customer_deleted.json",
    "webhook_payment_ignored.json",
]
CUSTOMER_FILES = SIGNED_FILES[:3]
REST_PROXY_KEYS = {"resource", "path", "httpMethod", "headers", "multiValueHeaders", "requestContext", "body"}


def committed(name):
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))


def hmac_hex(body, key):
    return hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("name", sorted(build_events()))
def test_committed_event_is_what_the_generator_builds(name):
    # Given the generator's event / When compared with the committed file / Then they are identical
    assert (EVENTS_DIR / name).read_text(encoding="utf-8") == render(build_events()[name]), (
        "stale event: run `.venv/bin/python -m events.generate`"
    )


@pytest.mark.parametrize("name", SIGNED_FILES)
def test_committed_event_is_signed_with_the_documented_key(name):
    # Given a committed event / When its body is signed with the documented key of merchant 1225
    event = committed(name)

    # Then the result is the header it carries, in both header maps
    assert json.loads(event["body"])["merchant_id"] == 1225
    assert event["headers"]["PaySimple-Hmac-SHA256"] == hmac_hex(event["body"], DOCUMENTED_KEY)
    assert event["multiValueHeaders"]["PaySimple-Hmac-SHA256"] == [event["headers"]["PaySimple-Hmac-SHA256"]]


def test_the_bad_signature_event_does_not_verify_with_the_documented_key():
    # Given the bad-signature event / When checked with the documented key / Then the signature differs
    event = committed("webhook_bad_signature.json")

    assert event["headers"]["PaySimple-Hmac-SHA256"] != hmac_hex(event["body"], DOCUMENTED_KEY)


@pytest.mark.parametrize("name", sorted(build_events()))
def test_committed_event_is_a_rest_proxy_post_to_the_webhook_route(name):
    # Given a committed event / Then it is a REST proxy event for POST /webhooks/paysimple with a text body
    event = committed(name)

    assert set(event) >= REST_PROXY_KEYS
    assert (event["httpMethod"], event["path"], event["isBase64Encoded"]) == (
        "POST",
        "/webhooks/paysimple",
        False,
    )
    assert event["multiValueHeaders"] == {name: [value] for name, value in event["headers"].items()}


class _KeysOf1225:
    def signing_key(self, merchant_id):
        return DOCUMENTED_KEY if merchant_id == "1225" else None


class _Recorder:
    def __init__(self):
        self.bodies = []

    def publish(self, message):
        self.bodies.append(queue_body(message))


def test_the_customer_events_enqueue_the_messages_of_the_sample_sqs_batch():
    # Given the three committed customer webhooks and the committed SQS batch for SyncFunction
    settings = IngestSettings(secret_prefix="test/", changes_queue_url="https://sqs.invalid/changes.fifo")
    recorder = _Recorder()

    # When each webhook is accepted
    for name in CUSTOMER_FILES:
        event = committed(name)
        accept_webhook(
            event["headers"]["PaySimple-Hmac-SHA256"],
            functools.partial(str.encode, event["body"]),
            keys=_KeysOf1225(),
            publisher=recorder,
            settings=settings,
        )

    # Then the queued bodies are the batch's bodies: the sample events tell one story
    batch = committed("sqs_customer_changes_batch.json")
    assert recorder.bodies == [record["body"] for record in batch["Records"]]
