"""IngestFunction end to end in moto: API Gateway REST proxy events in, CustomerChangesQueue out.

Every row of DESIGN.md's Ingest table, with the queue checked after each bad case, and the logs checked for
a card number the body carries.
"""

import base64
import io
import json
import logging
from pathlib import Path

import boto3
import pytest

from customer_sync import composition
from customer_sync.config.shared import SecretNames
from customer_sync.models.merchant_secrets import PaySimpleCredentials
from customer_sync.observability import logger as powertools_logger, metrics
from events.generate import (
    JOHN_DOE,
    SIGNATURE_HEADER,
    TEST_SIGNING_KEY,
    rest_proxy_event,
    sign,
    signed_event,
    webhook_body,
)
from functions.ingest.app import lambda_handler
from tests.support.lambda_context import LambdaContextStub
from tests.support.onboarding import write_merchant_secrets

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
UNAUTHORIZED = {"message": "missing or invalid signature"}
CARD = "4111 1111 1111 1111"
CUSTOMER = JOHN_DOE


@pytest.fixture
def env(use_function_env, monkeypatch):
    env = use_function_env("IngestFunction")
    # Lambda sets the environment before the handler module is imported; pytest imports it at collection,
    # before any fixture, so the Metrics singleton has not seen POWERTOOLS_METRICS_NAMESPACE.
    monkeypatch.setattr(metrics, "namespace", env["POWERTOOLS_METRICS_NAMESPACE"])
    return env


def seed_merchant(env, merchant_id, signing_key):
    credentials = PaySimpleCredentials(
        api_username=f"user-{merchant_id}", api_key="api-key", webhook_signing_key=signing_key
    )
    write_merchant_secrets(names_of(env), merchant_id, credentials)


def names_of(env):
    return SecretNames(secret_prefix=env["SECRET_PREFIX"])


@pytest.fixture
def merchant_1225(env):
    seed_merchant(env, "1225", TEST_SIGNING_KEY)


@pytest.fixture
def log_lines(capsys):
    """Everything this invocation wrote: Powertools' log stream (bound at import, so swapped here) and stdout
    (metrics)."""
    stream = io.StringIO()
    handler = powertools_logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(stream)

    def read():
        return stream.getvalue() + capsys.readouterr().out

    yield read
    handler.setStream(previous)


def invoke(event):
    response = lambda_handler(event, LambdaContextStub("IngestFunction", remaining_millis=8_000))
    return response["statusCode"], json.loads(response["body"])


def committed(name):
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))


def queued(env):
    """All messages on the changes queue, with their FIFO attributes."""
    sqs = boto3.client("sqs")
    messages = []
    while batch := sqs.receive_message(
        QueueUrl=env["CHANGES_QUEUE_URL"],
        MaxNumberOfMessages=10,
        MessageSystemAttributeNames=["All"],
        VisibilityTimeout=60,
    ).get("Messages", []):
        messages.extend(batch)
    return messages


def queue_depth(env):
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=env["CHANGES_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


@pytest.mark.parametrize(
    ("name", "event_type", "customer_id", "occurred_at"),
    [
        ("webhook_customer_created.json", "customer_created", "8053900", "2026-11-25T11:40:01.541201Z"),
        ("webhook_customer_updated.json", "customer_updated", "8053901", "2026-11-25T11:40:02.120400Z"),
        ("webhook_customer_deleted.json", "customer_deleted", "8053902", "2026-11-25T11:40:03.998100Z"),
    ],
)
def test_a_signed_customer_event_is_accepted_and_enqueued_as_ids_only(
    env, merchant_1225, log_lines, name, event_type, customer_id, occurred_at
):
    # Given a committed, signed customer webhook for merchant 1225
    event = committed(name)
    event_id = json.loads(event["body"])["event_id"]

    # When IngestFunction receives it
    status, body = invoke(event)

    # Then it answers 202 accepted, and exactly the five-field message is queued for this customer
    assert (status, body) == (202, {"status": "accepted", "event_id": event_id})
    [message] = queued(env)
    assert json.loads(message["Body"]) == {
        "merchant_id": "1225",
        "customer_id": customer_id,
        "event_type": event_type,
        "event_id": event_id,
        "occurred_at": occurred_at,
    }
    assert message["Attributes"]["MessageGroupId"] == f"1225:{customer_id}"
    assert message["Attributes"]["MessageDeduplicationId"] == event_id
    output = log_lines()
    assert '"WebhookAccepted"' in output
    assert f'"correlation_id":"{event_id}"' in output


def test_another_event_type_is_acknowledged_and_ignored(env, merchant_1225, log_lines):
    # Given the committed, signed payment webhook
    event = committed("webhook_payment_ignored.json")

    # When IngestFunction receives it
    status, body = invoke(event)

    # Then it answers 202 ignored and queues nothing
    assert (status, body) == (
        202,
        {"status": "ignored", "event_id": "evt_5b2aca473b6325b3b4d22ed4", "event_type": "payment_created"},
    )
    assert queue_depth(env) == 0
    assert '"WebhookIgnored"' in log_lines()


def test_a_wrong_signature_is_unauthorized(env, merchant_1225, log_lines):
    # Given the committed event signed with another key / When received / Then 401 and nothing queued
    assert invoke(committed("webhook_bad_signature.json")) == (401, UNAUTHORIZED)
    assert queue_depth(env) == 0
    assert '"WebhookUnauthorized"' in log_lines()


def test_a_missing_signature_is_unauthorized_with_the_same_message(env, merchant_1225):
    # Given a valid body without the signature header / When received / Then the same 401, nothing queued
    assert invoke(rest_proxy_event(webhook_body("customer_created", "evt_1", CUSTOMER))) == (
        401,
        UNAUTHORIZED,
    )
    assert queue_depth(env) == 0


def test_an_unknown_merchant_is_unauthorized_with_the_same_message(env, merchant_1225):
    # Given a well-signed event for a merchant this deployment does not know
    event = signed_event(webhook_body("customer_created", "evt_1", CUSTOMER, merchant_id=4242))

    # When received / Then the same 401 as a bad signature, nothing queued
    assert invoke(event) == (401, UNAUTHORIZED)
    assert queue_depth(env) == 0


def test_a_signature_valid_for_one_merchant_does_not_authorize_another(env, merchant_1225):
    # Given merchant 1226 with its own key, and its event signed with merchant 1225's key
    seed_merchant(env, "1226", "merchant-1226-own-key")
    event = signed_event(
        webhook_body("customer_created", "evt_1", CUSTOMER, merchant_id=1226), signing_key=TEST_SIGNING_KEY
    )

    # When received / Then 401, nothing queued
    assert invoke(event) == (401, UNAUTHORIZED)
    assert queue_depth(env) == 0


def test_a_signed_body_that_is_not_strict_json_is_a_bad_request(env, merchant_1225, log_lines):
    # Given a correctly signed body naming merchant 1225 that holds NaN / When received / Then 400
    assert invoke(signed_event(b'{"merchant_id": 1225, "event_id": NaN}')) == (
        400,
        {"message": "body is not valid JSON"},
    )
    assert queue_depth(env) == 0
    assert '"WebhookMalformed"' in log_lines()


def test_a_signed_body_that_names_no_merchant_is_unauthorized(env, merchant_1225):
    # Given a body that is not JSON at all, with a signature header: nobody can be its signer
    # When received / Then the same 401 as an unknown merchant, nothing queued
    assert invoke(signed_event(b"event_type=customer_created")) == (401, UNAUTHORIZED)
    assert queue_depth(env) == 0


def test_json_of_the_wrong_shape_is_unprocessable_and_names_the_field(env, merchant_1225, log_lines):
    # Given a signed customer event whose data lacks customer_id
    event = signed_event(webhook_body("customer_updated", "evt_1", {"first_name": "John"}))

    # When received / Then 422 naming data.customer_id, nothing queued
    assert invoke(event) == (422, {"message": "data.customer_id: Field required"})
    assert queue_depth(env) == 0
    assert '"WebhookInvalid"' in log_lines()


def test_a_body_over_64_kib_is_too_large(env, merchant_1225, log_lines):
    # Given a signed, otherwise valid event padded past 64 KiB
    raw_body = webhook_body("customer_updated", "evt_1", {**CUSTOMER, "padding": "x" * 65_536})

    # When received / Then 413, nothing queued
    assert invoke(signed_event(raw_body)) == (413, {"message": "body exceeds 65536 bytes"})
    assert queue_depth(env) == 0
    assert '"WebhookTooLarge"' in log_lines()


def test_the_same_event_posted_twice_is_enqueued_once(env, merchant_1225):
    # Given one signed event
    event = signed_event(webhook_body("customer_updated", "evt_5b2aca473b6325b3b4d22e99", CUSTOMER))

    # When PaySimple delivers it twice
    first = invoke(event)
    second = invoke(event)

    # Then both deliveries are acknowledged, and the queue holds it once
    assert first == second == (202, {"status": "accepted", "event_id": "evt_5b2aca473b6325b3b4d22e99"})
    assert len(queued(env)) == 1


@pytest.mark.parametrize(
    "header", ["paysimple-hmac-sha256", "PAYSIMPLE-HMAC-SHA256", "Paysimple-Hmac-Sha256"]
)
def test_the_signature_header_name_is_case_insensitive(env, merchant_1225, header):
    # Given a signed event whose signature header is spelled in another case
    event = signed_event(webhook_body("customer_created", "evt_1", CUSTOMER), header=header)

    # When received / Then it is accepted and queued
    assert invoke(event)[0] == 202
    assert queue_depth(env) == 1


def test_the_signature_is_found_in_multi_value_headers_alone(env, merchant_1225):
    # Given a signed event whose single-value headers map lacks the signature
    event = signed_event(webhook_body("customer_created", "evt_1", CUSTOMER))
    del event["headers"][SIGNATURE_HEADER]

    # When received / Then it is accepted
    assert invoke(event)[0] == 202


def test_conflicting_signature_headers_are_unauthorized(env, merchant_1225):
    # Given a signed event that carries a second, different signature header value
    raw_body = webhook_body("customer_created", "evt_1", CUSTOMER)
    event = signed_event(raw_body)
    event["multiValueHeaders"][SIGNATURE_HEADER].append(sign(raw_body, "another-key"))

    # When received / Then it is unauthorized: which of the two was PaySimple's is unknown
    assert invoke(event) == (401, UNAUTHORIZED)
    assert queue_depth(env) == 0


def test_a_base64_encoded_body_is_verified_over_its_decoded_bytes(env, merchant_1225):
    # Given a signed event that API Gateway passed base64-encoded
    raw_body = webhook_body("customer_created", "evt_1", {**CUSTOMER, "first_name": "Zoë"})
    event = signed_event(raw_body, base64_encoded=True)
    assert event["body"] == base64.b64encode(raw_body).decode()

    # When received / Then it is accepted and queued
    assert invoke(event) == (202, {"status": "accepted", "event_id": "evt_1"})
    assert queue_depth(env) == 1


def test_a_body_flagged_base64_that_is_not_base64_is_a_bad_request(env, merchant_1225):
    # Given an event flagged base64-encoded whose body is not base64
    event = signed_event(webhook_body("customer_created", "evt_1", CUSTOMER))
    event["isBase64Encoded"] = True

    # When received / Then 400, nothing queued
    assert invoke(event) == (400, {"message": "body is not valid base64"})
    assert queue_depth(env) == 0


def test_a_seven_digit_created_at_becomes_occurred_at_in_microseconds(env, merchant_1225):
    # Given a signed event with .NET's 7 fractional digits
    raw_body = webhook_body("customer_updated", "evt_1", CUSTOMER, created_at="2018-06-20T21:42:31.5412011Z")

    # When received
    assert invoke(signed_event(raw_body))[0] == 202

    # Then the queued time is that instant, truncated to microseconds
    [message] = queued(env)
    assert json.loads(message["Body"])["occurred_at"] == "2018-06-20T21:42:31.541201Z"


# Powertools warns when an invocation published no metric; only an unrouted request does that, and API Gateway
# never sends one (the function is wired to POST /webhooks/paysimple alone).
@pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
def test_an_unknown_route_is_not_found(env, merchant_1225):
    # Given a signed event posted to another path / When received / Then 404, nothing queued
    event = signed_event(webhook_body("customer_created", "evt_1", CUSTOMER), path="/webhooks/other")

    assert invoke(event)[0] == 404
    assert queue_depth(env) == 0


@pytest.mark.parametrize(
    "make_event",
    [
        lambda: signed_event(webhook_body("customer_created", "evt_1", {**CUSTOMER, "first_name": CARD})),
        lambda: signed_event(webhook_body("customer_updated", "evt_1", {"first_name": CARD, "notes": CARD})),
        lambda: signed_event(webhook_body("customer_updated", CARD, {"customer_id": CARD}, created_at=CARD)),
        lambda: signed_event(
            webhook_body("customer_created", "evt_1", {**CUSTOMER, "first_name": CARD}), signing_key="wrong"
        ),
        lambda: signed_event(f'{{"first_name": "{CARD}", '.encode()),
        lambda: signed_event(webhook_body("customer_created", "evt_1", {**CUSTOMER, "notes": CARD * 4_000})),
    ],
    ids=["accepted", "invalid-signed", "invalid-everywhere", "bad-signature", "not-json", "too-large"],
)
def test_a_card_number_in_the_body_is_never_logged(env, merchant_1225, log_lines, caplog, make_event):
    # Given a request whose body carries a card number (a merchant pasted it into a name or a note)
    event = make_event()

    # When IngestFunction handles it, whatever the outcome
    status, body = invoke(event)

    # Then the invocation logged its outcome, but neither the response nor any log line holds the card number
    output = log_lines() + caplog.text
    assert '"webhook ' in output
    for text in (output, json.dumps(body)):
        assert CARD not in text
        assert CARD.replace(" ", "") not in text
    assert status in {202, 400, 401, 413, 422}


# -- the order of checks, through the handler ---------------------------------------------------------------

UNSIGNED_REQUESTS = {
    "valid-body": lambda: rest_proxy_event(webhook_body("customer_created", "evt_1", CUSTOMER)),
    "no-merchant-id": lambda: rest_proxy_event(b'{"event_type": "customer_created"}'),
    "not-json": lambda: rest_proxy_event(b"not json"),
    "too-large": lambda: rest_proxy_event(b"x" * 70_000),
    "not-base64": lambda: {**rest_proxy_event(b"{}"), "body": "!!", "isBase64Encoded": True},
    "lone-surrogate-text": lambda: {
        **rest_proxy_event(b"{}"),
        "body": '{"merchant_id": 1225, "x": "\ud800"}',
    },
    "empty-signature": lambda: rest_proxy_event(b'{"merchant_id": 1225}', headers={SIGNATURE_HEADER: ""}),
}


@pytest.mark.parametrize("make_event", list(UNSIGNED_REQUESTS.values()), ids=list(UNSIGNED_REQUESTS))
def test_a_request_without_a_signature_learns_nothing_beyond_401(env, merchant_1225, log_lines, make_event):
    # Given a request with no usable signature header, whatever its body
    # When received
    status, body = invoke(make_event())

    # Then 401 with the one message, nothing queued, and the operators' log says why
    assert (status, body) == (401, UNAUTHORIZED)
    assert queue_depth(env) == 0
    assert '"refusal":"no signature header"' in log_lines()


@pytest.mark.parametrize(
    ("make_event", "expected"),
    [
        (lambda: signed_event(b"x" * 70_000), (413, {"message": "body exceeds 65536 bytes"})),
        (lambda: signed_event(b'{"merchant_id": 4242, "x": NaN}'), (401, UNAUTHORIZED)),
        (lambda: signed_event(b'{"merchant_id": 1225, "x": NaN}', signing_key="wrong"), (401, UNAUTHORIZED)),
        (
            lambda: signed_event(b'{"merchant_id": 1225, "x": NaN}'),
            (400, {"message": "body is not valid JSON"}),
        ),
        (lambda: signed_event(b'{"merchant_id": 1225}'), (422, None)),
    ],
    ids=["size-first", "then-merchant", "then-signature", "then-strict-json", "then-envelope"],
)
def test_each_check_comes_in_its_documented_order(env, merchant_1225, make_event, expected):
    # Given a signed request that fails exactly one check (and would fail every later one too)
    # When received
    status, body = invoke(make_event())

    # Then the earliest check answers, and nothing is queued
    assert status == expected[0]
    if expected[1] is not None:
        assert body == expected[1]
    assert queue_depth(env) == 0


def test_a_lone_surrogate_in_a_signed_text_body_is_a_bad_request(env, merchant_1225):
    # Given a signed request whose text body (as API Gateway passed it) holds a lone UTF-16 surrogate
    event = signed_event(webhook_body("customer_created", "evt_1", CUSTOMER))
    event["body"] = event["body"].replace("John", "Jo\ud800n")

    # When received / Then 400, nothing queued
    assert invoke(event) == (400, {"message": "body is not valid UTF-8 text"})
    assert queue_depth(env) == 0


def test_a_lone_surrogate_escape_in_a_signed_body_is_a_bad_request(env, merchant_1225):
    # Given a signed body whose JSON spells a lone surrogate as an escape, in a field that is never queued
    raw_body = webhook_body("payment_created", "evt_1", {"note": "x"}).replace(b'"x"', b'"\\ud800"')

    # When received / Then 400 naming the reason, nothing queued
    assert invoke(signed_event(raw_body)) == (
        400,
        {"message": "body is not valid JSON: it holds a lone UTF-16 surrogate"},
    )
    assert queue_depth(env) == 0


def test_a_signed_event_dated_past_what_utc_can_hold_is_unprocessable(env, merchant_1225):
    # Given a signed event dated year 9999 at offset -23:59 (after the last instant a UTC datetime holds)
    raw_body = webhook_body("customer_updated", "evt_1", CUSTOMER, created_at="9999-12-31T23:59:59-23:59")

    # When received / Then 422 naming created_at, nothing queued
    assert invoke(signed_event(raw_body)) == (
        422,
        {"message": "created_at: Value error, must be a timestamp between the years 0001 and 9999 in UTC"},
    )
    assert queue_depth(env) == 0


@pytest.mark.parametrize("signing_key", [TEST_SIGNING_KEY, "wrong"], ids=["signed", "wrongly-signed"])
def test_a_malformed_signing_key_secret_is_401_to_the_caller_and_an_error_for_operators(
    env, log_lines, signing_key
):
    # Given merchant 1225 whose signing-key secret is not the documented JSON
    boto3.client("secretsmanager").create_secret(
        Name=names_of(env).webhook_signing_key("1225"), SecretString='{"key": "customer-sync-test-webhook"}'
    )

    # When a request for it is received
    status, body = invoke(
        signed_event(webhook_body("customer_created", "evt_1", CUSTOMER), signing_key=signing_key)
    )

    # Then the caller gets the same 401 as for any unverified request, and nothing is queued
    assert (status, body) == (401, UNAUTHORIZED)
    assert queue_depth(env) == 0
    # and operators get the metric their alarm watches and an error naming the secret and field, no value
    output = log_lines()
    assert '"MerchantSecretMalformed"' in output
    assert '"level":"ERROR"' in output
    assert "merchants/1225/webhook-signing-key' is invalid at: webhook_signing_key" in output
    assert "customer-sync-test-webhook" not in output


def test_a_change_sqs_does_not_take_gets_503_with_retry_after_and_no_traceback(
    env, merchant_1225, log_lines, monkeypatch
):
    # Given a signed webhook, and a queue SQS does not take it on (here: a queue URL SQS does not know)
    event = committed("webhook_customer_created.json")
    monkeypatch.setenv("CHANGES_QUEUE_URL", env["CHANGES_QUEUE_URL"] + "-gone")
    composition.reset()
    # When IngestFunction receives it
    response = lambda_handler(event, LambdaContextStub("IngestFunction", remaining_millis=8_000))
    # Then PaySimple is told to retry (503, Retry-After), operators get a metric, and nothing was queued
    assert response["statusCode"] == 503
    assert response["multiValueHeaders"]["Retry-After"] == ["5"]
    assert json.loads(response["body"]) == {"message": "the change could not be queued; retry later"}
    output = log_lines()
    assert '"WebhookQueueUnavailable"' in output and "Traceback" not in output
    assert queue_depth(env) == 0
